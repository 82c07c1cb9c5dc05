"""The benchmark's figures: a plain-text table for people and a JSON file for tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.callrecords import PHASES, Phases
from bench.cpu import MACHINE
from bench.stats import Summary
from bench.ticks import Precision

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
    """The series' median and throughput as multiples of the base's (`docker run`'s); no
    median ratio for the wait for a 202, which runs no container."""
    median = None if summary.latency == "202" else summary.median_ms
    return {
        "median_vs_docker": ratio(median, base.median_ms),
        "throughput_vs_docker": ratio(summary.calls_per_s, base.calls_per_s),
    }


def base_of(summary: Summary, summaries: list[Summary]) -> Summary:
    """What the series' ratios are against: the series it names, else the first, (a)."""
    return next((s for s in summaries if s.name == summary.versus), summaries[0])


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
    """Latencies in ms; ratios against the first series, `docker run`, or the one named."""
    return grid([list(COLUMNS), *(_row(s, base_of(s, summaries)) for s in summaries)])


CPU_ROLES = ("client", "gateway", "watchdog", "nats-server")


def _cpu_row(summary: Summary, roles: tuple[str, ...], machine: bool) -> list[str]:
    used = summary.cpu_ms_per_call
    cells = [_num(used.get(role), 2) for role in roles]
    total = sum(v for k, v in used.items() if k != MACHINE)
    whole = [_num(used.get(MACHINE), 2)] if machine else []
    return [summary.name, str(summary.concurrency), *cells, _num(total, 2), *whole]


def cpu_table(summaries: list[Summary], roles: tuple[str, ...] = CPU_ROLES) -> str:
    """CPU ms per call by process; for `docker run` the client is the `docker` CLI. Series
    without CPU figures ((d), whose window is only the submissions) are left out."""
    measured = [s for s in summaries if s.cpu_ms_per_call]
    machine = any(MACHINE in s.cpu_ms_per_call for s in measured)
    columns = ["CPU ms per call", "conc", *roles, "total", *([MACHINE] if machine else [])]
    return grid([columns, *(_cpu_row(s, roles, machine) for s in measured)])


def grid(rows: list[list[str]]) -> str:
    """Rows of cells in aligned columns, a rule under the first."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [_line(r, widths) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _phases_row(phases: Phases) -> list[str]:
    cells = [
        _num(phases.spreads[phase][key]) for phase in PHASES for key in ("median_ms", "p90_ms")
    ]
    return [phases.name, str(phases.calls), *cells, str(sum(phases.odd.values()))]


def phases_table(records: list[Phases]) -> str:
    """Median and p90 in ms of each phase of the async calls measured, from their records."""
    columns = ["async call records", "calls"]
    columns += [f"{phase} {key}" for phase in PHASES for key in ("median", "p90")]
    return grid([[*columns, "not ok"], *(_phases_row(p) for p in records)])


def _ticks_row(p: Precision) -> list[str]:
    cells = [p.late_median_ms, p.late_max_ms, p.start_median_ms, p.start_max_ms]
    counts = [p.gateways, p.expected, p.fired, sum(p.not_ok.values())]
    return [p.name, *map(str, counts[:3]), *map(_num, cells), str(counts[3])]


def ticks_table(precisions: list[Precision]) -> str:
    """Ticks expected and fired, and ms from each tick to its record's creation and start."""
    columns = ["schedule", "gateways", "expected", "fired"]
    columns += ["late median", "late max", "start median", "start max", "not ok"]
    return grid([columns, *(_ticks_row(p) for p in precisions)])


def odd_records(records: list[Phases]) -> str:
    """One line per kind of async call record that did not end well; empty when none."""
    return "\n".join(
        f"{p.name}: {count} x {kind}" for p in records for kind, count in p.odd.items()
    )


def errors(summaries: list[Summary]) -> str:
    """One line per kind of error, per series; empty when there was none."""
    return "\n".join(
        f"{s.name} (concurrency {s.concurrency}): {count} x {kind}"
        for s in summaries
        for kind, count in s.error_kinds.items()
    )


def document(summaries: list[Summary], **extra: Any) -> dict[str, Any]:
    series = [{**s.to_json(), **ratios(s, base_of(s, summaries))} for s in summaries]
    return {**extra, "series": series}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
