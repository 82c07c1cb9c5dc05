"""How many messages the platform wrote to JetStream: each stream's last sequence number,
file-backed ones apart (each write there is an fsync under `sync_interval: always`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import nats
from nats.js.api import StorageType


@dataclass(frozen=True)
class Writes:
    durable: int  # to file-backed streams (and buckets)
    memory: int

    def __sub__(self, earlier: Writes) -> Writes:
        return Writes(self.durable - earlier.durable, self.memory - earlier.memory)

    def __add__(self, other: Writes) -> Writes:
        return Writes(self.durable + other.durable, self.memory + other.memory)


async def _count(url: str) -> Writes:
    nc = await nats.connect(url)
    try:
        infos = await nc.jetstream().streams_info()
    finally:
        await nc.close()
    durable = memory = 0
    for info in infos:
        if (info.config.name or "").startswith("BENCH_"):  # the raw-publish reference's own
            continue
        last = info.state.last_seq or 0
        if info.config.storage == StorageType.MEMORY:  # nats-py leaves it a str
            memory += last
        else:
            durable += last
    return Writes(durable, memory)


def count(url: str) -> Writes:
    """Messages written so far to the server's streams (deleted ones included)."""
    return asyncio.run(_count(url))
