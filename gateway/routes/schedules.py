"""`/system/schedules`: each scheduled function, its expression and its next tick."""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas.schedule import Schedule
from faas.spec import NAMESPACE, FunctionSpec
from gateway.routes.common import services
from gateway.ticks import LastTick, iso


async def list_schedules(request: Request) -> Response:
    gw = services(request)
    at = time.time()
    rows = []
    for spec, schedule in gw.scheduler.scheduled():
        rows.append(_row(spec, schedule, await gw.scheduler.last(spec.name), at))
    return JSONResponse(rows)


def _row(spec: FunctionSpec, schedule: Schedule, last: LastTick | None, at: float) -> Any:
    upcoming = schedule.next_after(at)
    return {
        "name": spec.name,
        "namespace": NAMESPACE,
        "schedule": schedule.expression,
        "timezone": schedule.timezone,
        "overlap": str(schedule.overlap),
        "missed": str(schedule.missed),
        "catchUpLimit": schedule.catch_up_limit,
        "callbackUrl": schedule.callback_url,
        "nextTick": iso(upcoming) if math.isfinite(upcoming) else None,
        "lastTick": iso(last.tick) if last else None,
        "lastRun": last.call_id if last else None,
    }
