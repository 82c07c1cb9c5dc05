"""How the CLI shows what the gateway answers: aligned tables and `key: value` lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faas.records import CallRecord


def table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [columns, *rows]
    )


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """Aligned `key: value` lines."""
    width = max(len(k) for k, _ in pairs) + 2
    return "\n".join(f"{k + ':':<{width}}{v}" for k, v in pairs)


def text(value: Any) -> str:
    """A field's value for display; `-` when it is missing or empty."""
    return "-" if value is None or value == "" else str(value)


def mapping(data: Any) -> str:
    """`k=v, k2=v2`; `-` for none."""
    return ", ".join(f"{k}={v}" for k, v in (data or {}).items()) or "-"


def attempts(record: CallRecord) -> str:
    return f"{record.attempts}/{record.maxAttempts}"


def duration(seconds: Any) -> str:
    return "-" if seconds is None else f"{float(seconds):.2f}s"
