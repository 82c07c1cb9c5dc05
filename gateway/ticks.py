"""A scheduled tick's call id, and the record of a function's last tick, shared by gateways."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from faas import rfc3339

TICK_HEADER = "X-Faas-Schedule-Tick"


def tick_call_id(function: str, tick: float) -> str:
    """The call id of a function's tick: the same on every gateway, readable when it fits."""
    stamp = datetime.fromtimestamp(tick, UTC).strftime("%Y%m%dT%H%M%SZ")
    call_id = f"{function}-{stamp}"
    if len(call_id) <= 64:
        return call_id
    digest = hashlib.sha256(function.encode()).hexdigest()[:8]
    return f"{function[:38]}-{digest}-{stamp}"


def iso(t: float) -> str:
    return rfc3339.stamp(t, "auto")


@dataclass
class LastTick:
    """A function's last tick handled by any gateway, and its last run's call id."""

    tick: float
    call_id: str | None = None

    def dumps(self) -> bytes:
        return json.dumps({"tick": self.tick, "callId": self.call_id}).encode()

    @classmethod
    def loads(cls, raw: bytes) -> LastTick:
        data = json.loads(raw)
        return cls(float(data["tick"]), data.get("callId"))
