"""A small reader of Prometheus's text format (0.0.4), to check what the gateway writes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _unescape(text: str) -> str:
    return re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group()], text)


def _labels(text: str) -> dict[str, str]:
    labels, at = {}, 0
    while at < len(text):
        match = _PAIR.match(text, at)
        assert match, f"bad labels at {text[at:]!r}"
        labels[match.group(1)] = _unescape(match.group(2))
        at = match.end()
    return labels


@dataclass
class Family:
    """One metric: its help, its type and its samples as (name, labels, value)."""

    help: str = ""
    type: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def value(self, name: str, **labels: str) -> float:
        found = [v for n, ls, v in self.samples if n == name and ls == labels]
        assert len(found) == 1, f"{name}{labels}: {len(found)} samples in {self.samples}"
        return found[0]

    def get(self, name: str, **labels: str) -> float:
        """The value of the sample, or 0 when there is none (yet)."""
        found = [v for n, ls, v in self.samples if n == name and ls == labels]
        return found[0] if found else 0.0

    def labels(self, name: str) -> list[dict[str, str]]:
        """The label sets of the samples called `name`."""
        return [ls for n, ls, _ in self.samples if n == name]


def parse(text: str) -> dict[str, Family]:
    """Families by name; checks that HELP and TYPE come before a family's samples."""
    assert text.endswith("\n")
    families: dict[str, Family] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help = line[7:].partition(" ")
            assert name not in families, f"{name} described twice"
            families[name] = Family(help=_unescape(help))
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert families[name].type == "" and not families[name].samples
            families[name].type = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"bad sample line {line!r}"
            name, labels, value = match.groups()
            family = _family_of(families, name)
            family.samples.append((name, _labels(labels or ""), float(value)))
    return families


def _family_of(families: dict[str, Family], sample: str) -> Family:
    for suffix in ("", "_bucket", "_sum", "_count"):
        base = sample.removesuffix(suffix) if suffix else sample
        if base in families and (suffix == "" or families[base].type == "histogram"):
            return families[base]
    raise AssertionError(f"sample {sample} of no described family")
