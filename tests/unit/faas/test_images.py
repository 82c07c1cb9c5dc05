"""faas.images against a real nats-server: images stored, tagged, fetched and checked."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import uuid
from collections.abc import Awaitable, Callable

import pytest

from faas import bus, layout
from faas.errors import Error
from faas.images import ImageBank, ImageConfig, ImageCorrupt, full_tag
from faas.layout import Layout


def image_id() -> str:
    return "sha256:" + hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def with_bank(nats_url: str, check: Callable[[ImageBank], Awaitable[None]]) -> None:
    async def run() -> None:
        nc = await bus.connect(nats_url, "test")
        try:
            js = nc.jetstream()
            await layout.ensure(js, Layout(2**20))
            await check(await ImageBank.open(js))
        finally:
            await nc.close()

    asyncio.run(run())


def test_an_image_comes_back_byte_for_byte_with_its_config(nats_url: str) -> None:
    data = os.urandom(3 * 512 * 1024 + 17)  # several chunks, the last one short
    config = ImageConfig(image_id(), "65534", ["A=1"], "/app", ["/bin/sh"], ["-c", "cat"])

    async def check(bank: ImageBank) -> None:
        stored = await bank.put(config, io.BytesIO(data))
        assert stored.size == len(data)
        out = io.BytesIO()
        got = await bank.fetch(config.image_id, out)
        assert out.getvalue() == data
        assert got.config == config
        assert await bank.info(image_id()) is None

    with_bank(nats_url, check)


def test_a_tag_names_the_id_last_pushed_and_the_old_one_is_deleted(nats_url: str) -> None:
    tag = f"faas/t{uuid.uuid4().hex[:8]}"
    first, second = ImageConfig(image_id()), ImageConfig(image_id())

    async def check(bank: ImageBank) -> None:
        await bank.put(first, io.BytesIO(b"one"))
        await bank.put(second, io.BytesIO(b"two"))
        assert await bank.tag(tag, first.image_id) is None
        found = await bank.resolve(f"{tag}:latest")  # the same as the tag without one
        assert found is not None and found.config == first
        assert await bank.tag(tag, second.image_id) == first.image_id
        assert await bank.info(first.image_id) is None
        found = await bank.resolve(tag)
        assert found is not None and found.config == second
        listed = {s.config.image_id: s.tags for s in await bank.stored()}
        assert listed[second.image_id] == [full_tag(tag)]
        assert first.image_id not in listed

    with_bank(nats_url, check)


def test_an_id_another_tag_still_names_is_kept(nats_url: str) -> None:
    a, b = f"faas/a{uuid.uuid4().hex[:8]}", f"faas/b{uuid.uuid4().hex[:8]}"
    shared, other = ImageConfig(image_id()), ImageConfig(image_id())

    async def check(bank: ImageBank) -> None:
        await bank.put(shared, io.BytesIO(b"x"))
        await bank.put(other, io.BytesIO(b"y"))
        await bank.tag(a, shared.image_id)
        await bank.tag(b, shared.image_id)
        assert await bank.tag(a, other.image_id) is None
        assert await bank.info(shared.image_id) is not None

    with_bank(nats_url, check)


def test_tagging_an_image_not_stored_is_refused(nats_url: str) -> None:
    async def check(bank: ImageBank) -> None:
        missing = image_id()
        with pytest.raises(Error, match=f"image {missing} is not in the cluster: push it"):
            await bank.tag("faas/nothing", missing)
        assert await bank.resolve("faas/nothing") is None
        with pytest.raises(Error, match="is not in the cluster"):
            await bank.fetch(missing, io.BytesIO())

    with_bank(nats_url, check)


def test_a_copy_that_fails_its_digest_is_reported(nats_url: str) -> None:
    config = ImageConfig(image_id())

    async def check(bank: ImageBank) -> None:
        await bank.put(config, io.BytesIO(b"the real bytes"))
        info = await bank.store.get_info(config.image_id)
        info.digest = "SHA-256=" + "A" * 43 + "="  # what a corrupt store would hold
        subject = f"$O.{bus.IMAGES_BUCKET}.M." + _b64(config.image_id)
        await bank.store._js.publish(subject, json.dumps(info.as_dict()).encode())
        with pytest.raises(ImageCorrupt, match="failed its digest check"):
            await bank.fetch(config.image_id, io.BytesIO())

    with_bank(nats_url, check)


def _b64(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("[]", "expected an object"),
        ('{"image_id": "sha256:00"}', "invalid image id"),
        ('{"image_id": "sha256:' + "0" * 64 + '", "env": "A=1"}', "expected an object"),
        ('{"image_id": "sha256:' + "0" * 64 + '", "colour": 1}', "invalid image config"),
        ("{", "invalid image config"),
    ],
)
def test_a_bad_config_says_what_is_wrong(text: str, wrong: str) -> None:
    with pytest.raises(Error, match=wrong):
        ImageConfig.from_json(text)


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("faas/hello", "faas/hello:latest"),
        ("faas/hello:1.0", "faas/hello:1.0"),
        ("localhost:5000/hello", "localhost:5000/hello:latest"),
        ("hello@sha256:" + "0" * 64, "hello@sha256:" + "0" * 64),
    ],
)
def test_names_without_a_tag_mean_latest(name: str, tag: str) -> None:
    assert full_tag(name) == tag


def test_the_confinement_is_kept_beside_the_tags_and_is_not_one(nats_url: str) -> None:
    async def check(bank: ImageBank) -> None:
        profile = {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}, "source": "Docker 20.10"}
        await bank.put_confinement(profile)
        assert await bank.confinement() == profile
        named = await bank._tag_map()  # image id -> tags: the profile is no tag's image
        assert not any(image_id.startswith("{") for image_id in named), named

    with_bank(nats_url, check)
