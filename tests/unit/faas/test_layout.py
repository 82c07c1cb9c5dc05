"""Unit tests of faas.layout on real nats-servers: one alone, and three as a cluster."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy

from cli import natsserver
from faas import bus, layout
from faas.errors import Error
from faas.layout import Layout
from tests.natsserver import cluster_ports

STREAMS = {
    bus.SYNC_STREAM,
    bus.ASYNC_STREAM,
    bus.CALLBACK_STREAM,
    bus.LOGS_STREAM,
    f"OBJ_{bus.IMAGES_BUCKET}",
}
BUCKETS = {
    bus.FUNCTIONS_BUCKET,
    bus.COUNTERS_BUCKET,
    bus.SECRETS_BUCKET,
    bus.SCHEDULES_BUCKET,
    bus.IDEMPOTENCY_BUCKET,
    bus.CALLS_BUCKET,
    bus.CALL_INDEX_BUCKET,
    bus.SYNC_CALLS_BUCKET,
    bus.SYNC_CALL_INDEX_BUCKET,
    bus.IMAGE_TAGS_BUCKET,
}


@contextlib.asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[JetStreamContext]:
    nc = await bus.connect(url, "test")
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def copies(js: JetStreamContext) -> dict[str, int]:
    """Each stream of the platform, buckets' too, and how many servers keep it."""
    return {i.config.name or "": i.config.num_replicas or 1 for i in await js.streams_info()}


def platform(found: dict[str, int]) -> dict[str, int]:
    names = STREAMS | {f"KV_{b}" for b in BUCKETS}
    return {name: n for name, n in found.items() if name in names}


def test_every_stream_and_bucket_is_made_once_with_one_copy(nats_url: str) -> None:
    async def check() -> None:
        async with jetstream(nats_url) as js:
            await layout.ensure(js, Layout(2**20))
            await layout.ensure(js, Layout(2**20))  # again: nothing changes, nothing fails
            made = platform(await copies(js))
            assert set(made) == STREAMS | {f"KV_{b}" for b in BUCKETS}
            assert set(made.values()) == {1}
            sync = await js.stream_info(f"KV_{bus.SYNC_CALLS_BUCKET}")
            assert sync.config.discard == DiscardPolicy.OLD

    asyncio.run(check())


def test_more_copies_than_servers_is_a_clear_error(nats_url: str) -> None:
    async def check() -> None:
        async with jetstream(nats_url) as js:
            with pytest.raises(Error) as caught:
                await layout.ensure(js, Layout(2**20, replicas=3))
        message = str(caught.value)
        assert "cannot keep stream FAAS_SYNC on 3 server(s)" in message
        assert "not supported in non-clustered mode" in message
        assert "--nats-replicas" in message

    asyncio.run(check())


def test_restore_makes_again_what_a_restarted_server_lost(nats_url: str) -> None:
    async def check() -> None:
        async with jetstream(nats_url) as js:
            await layout.ensure(js, Layout(2**20))
            await js.delete_stream(bus.SYNC_STREAM)  # as a lone server's restart loses it
            await js.delete_key_value(bus.SYNC_CALLS_BUCKET)
            await layout.restore(js, Layout(2**20))
            assert set(platform(await copies(js))) == STREAMS | {f"KV_{b}" for b in BUCKETS}

    asyncio.run(check())


def test_restore_leaves_alone_what_is_there(nats_url: str) -> None:
    async def check() -> None:
        async with jetstream(nats_url) as js:
            await layout.ensure(js, Layout(2**20))
            await js.delete_key_value(bus.FUNCTIONS_BUCKET)  # on disk: not a restart's loss
            await layout.restore(js, Layout(2**20, replicas=3))  # would fail, were it to run
            assert f"KV_{bus.FUNCTIONS_BUCKET}" not in await copies(js)

    asyncio.run(check())


def test_urls_of_a_cluster_are_split_at_commas() -> None:
    assert bus.servers("nats://a:1") == ["nats://a:1"]
    assert bus.servers(" nats://a:1, nats://b:2 ,") == ["nats://a:1", "nats://b:2"]
    with pytest.raises(Error, match="no NATS URL"):
        bus.servers(" , ")


def test_a_cluster_config_routes_to_every_other_server(tmp_path: Path) -> None:
    cluster = [("0.0.0.0", 4222), ("0.0.0.0", 4223), ("10.0.0.3", 4222)]
    text = natsserver.write_config(tmp_path, "0.0.0.0", 4223, 2**20, cluster).read_text()
    assert "server_name: faas-2\n" in text
    assert "listen: 0.0.0.0:6223\n" in text
    assert "routes: [nats-route://127.0.0.1:6222, nats-route://10.0.0.3:6222]" in text
    with pytest.raises(Error, match="not one of the cluster's servers"):
        natsserver.write_config(tmp_path, "0.0.0.0", 4224, 2**20, cluster)
    alone = natsserver.write_config(tmp_path, "127.0.0.1", 4222, 2**20).read_text()
    assert "\ncluster {" not in alone


@pytest.fixture(scope="module")
def cluster_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Three nats-servers, one JetStream cluster; the URLs of all, comma-separated."""
    ports = cluster_ports(3)
    cluster = [("127.0.0.1", port) for port in ports]
    procs = [
        natsserver.start(tmp_path_factory.mktemp("node"), "127.0.0.1", port, 2**20, cluster)
        for port in ports
    ]
    try:
        yield ",".join(f"nats://127.0.0.1:{port}" for port in ports)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def test_on_a_cluster_every_stream_and_bucket_grows_to_its_copies(cluster_urls: str) -> None:
    async def check() -> None:
        async with jetstream(cluster_urls) as js:
            await layout.ensure(js, Layout(2**20))  # a part without the setting: one copy
            assert set(platform(await copies(js)).values()) == {1}
            await layout.ensure(js, Layout(2**20, replicas=3))
            assert set(platform(await copies(js)).values()) == {3}
            await layout.ensure(js, Layout(2**20))  # one without it again: they stay at 3
            assert set(platform(await copies(js)).values()) == {3}

    asyncio.run(check())
