"""Which calls a listing or a feed wants: filters on a call's summary, read from a query string."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from faas import rfc3339
from faas.jobspec import JOB_FUNCTION
from faas.records import CallState
from faas.spec import check_name
from faas.wire import CallKind
from gateway.callsummary import CallSummary
from gateway.errors import BadRequest

_CURSOR = re.compile(r"[0-9]{17}\.[-/_=.A-Za-z0-9]{1,200}")  # a summary's order (a key's tail)
_INTEGER = re.compile(r"-?[0-9]{1,10}")
MAX_MICROS = 10**17 - 1  # the latest time an order's 17 digits hold


@dataclass(frozen=True)
class CallQuery:
    """Filters on calls; an empty one matches every call.

    `since` and `until` bound the creation time (microseconds; since included, until not),
    `call` is a call id or the start of one.
    """

    function: str | None = None
    states: frozenset[CallState] = frozenset()
    exit_code: int | None = None
    kind: str | None = None
    call: str = ""
    since: int | None = None
    until: int | None = None

    @classmethod
    def from_params(cls, params: QueryParams) -> CallQuery:
        """Read `function`, `state` (repeated, or comma-separated), `exitCode`, `kind`, `call`,
        `since` and `until` (RFC 3339); raise BadRequest saying what is wrong."""
        return cls(
            function=_function(params.get("function") or ""),
            states=_states(params.getlist("state")),
            exit_code=_exit_code(params.get("exitCode") or ""),
            kind=_kind(params.get("kind") or ""),
            call=_call(params.get("call") or ""),
            since=_micros("since", params.get("since") or ""),
            until=_micros("until", params.get("until") or ""),
        )

    def matches(self, summary: CallSummary) -> bool:
        """Whether the call is one of these; the creation time is checked too."""
        if not self.matches_within(summary):
            return False
        created = summary.created_micros
        return (self.since is None or created >= self.since) and (
            self.until is None or created < self.until
        )

    def matches_within(self, summary: CallSummary) -> bool:
        """Whether the call is one of these, its creation time already known to fit."""
        return (
            (self.function is None or summary.function == self.function)
            and (not self.states or summary.state in self.states)
            and (self.exit_code is None or summary.exit_code == self.exit_code)
            and (self.kind is None or summary.kind == self.kind)
            and (not self.call or summary.call_id.startswith(self.call))
        )


def cursor(params: QueryParams) -> str | None:
    """The `before` cursor of a query string, as a previous page gave it; None without."""
    raw = params.get("before") or ""
    if not raw:
        return None
    if not _CURSOR.fullmatch(raw):
        raise BadRequest(f"before must be a cursor as X-Next-Cursor gave it, not {raw!r}")
    return raw


def _call(raw: str) -> str:
    if len(raw) > 200:
        raise BadRequest("call must be a call id or the start of one, at most 200 characters")
    return raw


def _function(name: str) -> str | None:
    if not name:
        return None
    return name if name == JOB_FUNCTION else check_name(name)  # jobs: their reserved name


def _states(raw: list[str]) -> frozenset[CallState]:
    names = {name.strip() for value in raw for name in value.split(",") if name.strip()}
    try:
        return frozenset(CallState(name) for name in names)
    except ValueError:
        known = ", ".join(state.value for state in CallState)
        raise BadRequest(f"state must be among {known}, not {sorted(names)}") from None


def _exit_code(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isascii() or not _INTEGER.fullmatch(raw):
        raise BadRequest(f"exitCode must be a whole number, not {raw!r}")
    return int(raw)


def _kind(raw: str) -> str | None:
    if not raw:
        return None
    if raw not in {kind.value for kind in CallKind}:
        known = ", ".join(kind.value for kind in CallKind)
        raise BadRequest(f"kind must be one of {known}, not {raw!r}")
    return raw


def _micros(name: str, raw: str) -> int | None:
    """An RFC 3339 time as microseconds since the epoch, as a record's key counts them."""
    if not raw:
        return None
    try:
        moment = rfc3339.parse(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an RFC 3339 time, not {raw!r}") from None
    micros = int(moment.timestamp() * 1_000_000)  # as faas.records.record_key counts
    return min(max(micros, 0), MAX_MICROS)
