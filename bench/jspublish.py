"""The broker's own limit: durable JetStream publishes, each awaiting its ack, from many
concurrent publishers, to a file-backed stream on the server the platform uses.

`python -m bench.jspublish --nats URL --concurrency 64 --seconds 10 --size 300` prints one JSON
line: publishes acked, seconds, and this process's CPU seconds (to tell a client-bound run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Sequence

import nats
import uvloop
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

STREAM = "BENCH_RAW"
SUBJECT = "bench.raw"


async def publish(url: str, concurrency: int, seconds: float, size: int) -> dict[str, float]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    config = StreamConfig(
        name=STREAM,
        subjects=[SUBJECT],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_msgs=100_000,
    )
    await js.add_stream(config)
    payload = os.urandom(size)
    acked = 0
    try:
        for _ in range(concurrency):  # warm: every publisher's first round trip uncounted
            await js.publish(SUBJECT, payload)
        deadline = time.monotonic() + seconds

        async def publisher() -> None:
            nonlocal acked
            while time.monotonic() < deadline:
                await js.publish(SUBJECT, payload)
                acked += 1

        cpu, began = os.times(), time.monotonic()
        await asyncio.gather(*(publisher() for _ in range(concurrency)))
        elapsed, after = time.monotonic() - began, os.times()
    finally:
        await js.delete_stream(STREAM)
        await nc.close()
    used = after.user + after.system - cpu.user - cpu.system
    return {"publishes": acked, "seconds": elapsed, "client_cpu_seconds": used}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.jspublish", description=__doc__)
    p.add_argument("--nats", required=True)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--size", type=int, default=300, help="bytes per message (default 300)")
    args = p.parse_args(argv)
    done = uvloop.run(publish(args.nats, args.concurrency, args.seconds, args.size))
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
