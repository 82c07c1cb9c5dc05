"""The floor: the least a Python gateway on this stack can cost, as a reference series.

A gateway with nothing of ours in it, the same packages (Starlette on uvicorn with uvloop
and httptools, nats-py) and the same routes as the load: `GET /healthz`; `POST
/function/NAME` sends the body over core NATS to a responder process, which answers it
back, one request and one reply; `POST /async-function/NAME` publishes the body to a
file-backed stream, awaits JetStream's ack (on disk under `sync_interval: always`) and
answers 202. No validation, no records, no capacity: what our gateway and watchdog add over
this is ours, and a target this floor misses is beyond Python and NATS here. Its garbage
collector is tuned as our servers' is (`faas.serving`), so that the floor stays the least.

`python -m bench.floor gateway --nats URL --port N` and `python -m bench.floor responder
--nats URL`; `bench.control` runs both beside the platform and loads them as it loads it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import uuid
from collections.abc import AsyncIterator, Sequence

import nats
import uvicorn
import uvloop
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

STREAM = "BENCH_FLOOR"
QUEUE = "bench.floor.queue"
CALLS = "bench.floor.call"
REPLY_WAIT = 10.0


def app(nc: Client) -> Starlette:
    js = nc.jetstream()

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("OK\n")

    async def sync_call(request: Request) -> Response:
        name = request.path_params["name"]
        reply = await nc.request(f"{CALLS}.{name}", await request.body(), timeout=REPLY_WAIT)
        return Response(reply.data)

    async def async_call(request: Request) -> Response:
        call_id = uuid.uuid4().hex
        body = await request.body()
        name = request.path_params["name"]
        await js.publish(f"{QUEUE}.{name}", body, headers={"Nats-Msg-Id": call_id})
        return Response(status_code=202, headers={"X-Call-Id": call_id})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        config = StreamConfig(
            name=STREAM,
            subjects=[f"{QUEUE}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            max_msgs=1_000_000,
        )
        await js.add_stream(config)
        yield

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/function/{name}", sync_call, methods=["POST"]),
            Route("/async-function/{name}", async_call, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


async def gateway(url: str, port: int) -> None:
    nc = await nats.connect(url)
    try:
        config = uvicorn.Config(app(nc), host="127.0.0.1", port=port, log_level="warning")
        await uvicorn.Server(config).serve()
    finally:
        await nc.close()


async def responder(url: str) -> None:
    """Answer every call with its own body, until SIGTERM or SIGINT."""
    nc = await nats.connect(url)

    async def echo(msg: Msg) -> None:
        await nc.publish(msg.reply, msg.data)

    await nc.subscribe(f"{CALLS}.*", queue="floor", cb=echo)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await nc.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    p.add_argument("role", choices=["gateway", "responder"])
    p.add_argument("--nats", required=True, help="NATS URL")
    p.add_argument("--port", type=int, default=0, help="the gateway's HTTP port")
    args = p.parse_args(argv)
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)  # faas.serving's, written out: the floor imports none of ours
    if args.role == "gateway":
        uvloop.run(gateway(args.nats, args.port))
    else:
        uvloop.run(responder(args.nats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
