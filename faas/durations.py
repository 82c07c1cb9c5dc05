"""One duration grammar for the whole project: Go's (`300ms`, `1.5h`, `2h45m`; units ns, us,
µs, ms, s, m, h), as OpenFaaS and its cron-connector read durations, or a bare number of
seconds (as OpenFaaS's watchdog reads `exec_timeout: 30`)."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from faas.errors import SpecError

_NUMBER = r"(?:\d+\.?\d*|\.\d+)"
_UNIT = r"(?:ns|us|µs|μs|ms|s|m|h)"
_GO = re.compile(f"(?:{_NUMBER}{_UNIT})+")
_PART = re.compile(f"({_NUMBER})({_UNIT})")
NANOSECONDS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


def nanoseconds(text: str) -> Fraction | None:
    """The exact length of a Go duration such as `1m30s`; None when `text` is not one."""
    if not _GO.fullmatch(text):
        return None
    return sum((Fraction(n) * NANOSECONDS[unit] for n, unit in _PART.findall(text)), Fraction(0))


def parse_duration(text: str) -> float:
    """Seconds in `30`, `1.5`, `30s`, `500ms`, `2m`, `1h30m`: more than zero, and finite."""
    text = str(text).strip()
    try:
        seconds = float(text)
    except ValueError:
        exact = nanoseconds(text)
        if exact is None:
            raise SpecError(f"invalid duration {text!r}: write e.g. 30s, 500ms, 2m") from None
        seconds = float(exact / 10**9)
    if not (0 < seconds < math.inf):
        raise SpecError(f"invalid duration {text!r}: must be more than zero and finite")
    return seconds
