"""`/system/logs`: functions' stderr from the FAAS_LOGS stream, as OpenFaaS's NDJSON LogEntry."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.logstream import NDJSON, LogQuery, log_stream
from gateway.routes.common import services


async def get_logs(request: Request) -> Response:
    query = LogQuery.from_params(request.query_params)
    return StreamingResponse(await log_stream(request, services(request), query), media_type=NDJSON)
