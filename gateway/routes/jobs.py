"""`POST /system/jobs`: run an image once, queued as an async call of the reserved `_job`."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas.jobspec import JobSpec
from gateway.bodies import read_body
from gateway.errors import BadRequest
from gateway.invocations import job_call
from gateway.routes.common import services
from gateway.routes.invoke import call_id_of

log = logging.getLogger(__name__)


async def submit_job(request: Request) -> Response:
    """Record and queue the job; 202 with its call id once JetStream has it on disk."""
    gw = services(request)
    job = JobSpec.from_json(_parse(await read_body(request, gw.max_body)))
    call = job_call(call_id_of(request, gw) or uuid.uuid4().hex, job)
    await gw.submissions.accept(call, capped=False)
    log.info("job %s: %s queued", call.call_id, job.image)
    headers = {"X-Call-Id": call.call_id}
    return JSONResponse({"callId": call.call_id}, status_code=202, headers=headers)


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # also bad UTF-8, too many digits, too deep
        raise BadRequest(f"the body is not JSON: {exc}") from None
