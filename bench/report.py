"""The benchmark's figures: a plain-text table for people and a JSON file for tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import Summary

COLUMNS = (
    "series",
    "conc",
    "calls",
    "errors",
    "median",
    "p90",
    "p99",
    "mean",
    "max",
    "calls/s",
    "in runner",
    "median/(a)",
    "calls/s/(a)",
)


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(value / base, 3)


def ratios(summary: Summary, base: Summary) -> dict[str, float | None]:
    """The series' median and throughput as multiples of the base's (`docker run`'s)."""
    return {
        "median_vs_docker": ratio(summary.median_ms, base.median_ms),
        "throughput_vs_docker": ratio(summary.calls_per_s, base.calls_per_s),
    }


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(summary: Summary, base: Summary) -> list[str]:
    r = ratios(summary, base)
    return [
        summary.name,
        str(summary.concurrency),
        str(summary.calls),
        str(summary.errors),
        _num(summary.median_ms),
        _num(summary.p90_ms),
        _num(summary.p99_ms),
        _num(summary.mean_ms),
        _num(summary.max_ms),
        _num(summary.calls_per_s),
        _num(summary.run_median_ms),
        _num(r["median_vs_docker"], 3),
        _num(r["throughput_vs_docker"], 2),
    ]


def _line(cells: list[str], widths: list[int]) -> str:
    """The first cell aligned left, numbers right."""
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def table(summaries: list[Summary]) -> str:
    """Latencies in ms; ratios against the first series, `docker run`."""
    base = summaries[0]
    rows = [list(COLUMNS), *(_row(s, base) for s in summaries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [_line(r, widths) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


CPU_ROLES = ("client", "gateway", "watchdog", "nats-server")


def _cpu_row(summary: Summary) -> list[str]:
    used = summary.cpu_ms_per_call
    cells = [_num(used.get(role), 2) for role in CPU_ROLES]
    return [summary.name, str(summary.concurrency), *cells, _num(sum(used.values()), 2)]


def cpu_table(summaries: list[Summary]) -> str:
    """CPU ms per call by process; for `docker run` the client is the `docker` CLI."""
    columns = ["CPU ms per call", "conc", *CPU_ROLES, "total"]
    rows = [columns, *(_cpu_row(s) for s in summaries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    lines = [_line(r, widths) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def errors(summaries: list[Summary]) -> str:
    """One line per kind of error, per series; empty when there was none."""
    return "\n".join(
        f"{s.name} (concurrency {s.concurrency}): {count} x {kind}"
        for s in summaries
        for kind, count in s.error_kinds.items()
    )


def document(summaries: list[Summary], **extra: Any) -> dict[str, Any]:
    base = summaries[0]
    series = [{**s.to_json(), **ratios(s, base)} for s in summaries]
    return {**extra, "series": series}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
