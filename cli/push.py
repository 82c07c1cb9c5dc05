"""`faas push`: put the stack's images into the cluster, through the gateway, so that a
watchdog on a host without them can run them (faas.images). Content-addressed: an image the
cluster has already is not sent again, only its tag moved."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator

import docker
from docker.errors import DockerException, ImageNotFound

from cli.client import Client
from cli.stack import Stack
from faas.errors import Error
from faas.images import ImageConfig, full_tag, has_registry

STEP = 0.25  # progress is told at each quarter of the image's size
TOLD = 16 * 2**20  # for images at least this large


def push_stack(stack: Stack, client: Client, only: set[str] | None) -> None:
    """Push each function's image; one line per step, prefixed by its name."""
    try:
        engine = docker.from_env(timeout=600)
    except DockerException as exc:
        raise Error(f"cannot reach the Docker engine to push images: {exc}") from exc
    try:
        for fn in stack.functions.values():
            if not only or fn.name in only:
                push_image(engine, client, fn.image, functools.partial(_say, fn.name))
    finally:
        engine.close()


def push_image(
    engine: docker.DockerClient, client: Client, image: str, say: Callable[[str], None]
) -> None:
    if has_registry(image):
        say(f"{image} names a registry: watchdogs pull it from there")
        return
    try:
        inspected = engine.api.inspect_image(image)
    except ImageNotFound:
        raise Error(f"image {image} is not on this host: build it first (faas build)") from None
    except DockerException as exc:
        raise Error(f"cannot look up image {image}: {exc}") from exc
    config = ImageConfig.from_inspect(inspected)
    short = config.image_id.removeprefix("sha256:")[:12]
    if client.image(config.image_id) is None:
        size = int(inspected.get("Size") or 0)
        say(f"pushing {image} ({short}, {size / 2**20:.0f} MiB)")
        started = time.monotonic()
        with _exported(engine, config.image_id) as chunks:
            client.put_image(config.to_json(), config.image_id, _told(chunks, size, say))
        say(f"pushed {image} in {time.monotonic() - started:.1f}s")
    else:
        say(f"{image} ({short}): the cluster has it")
    deleted = client.tag_image(full_tag(image), config.image_id)
    if deleted:
        say(f"removed the older {image} ({deleted.removeprefix('sha256:')[:12]}) from the cluster")


def _say(name: str, line: str) -> None:
    print(f"[{name}] {line}", flush=True)


@contextlib.contextmanager
def _exported(engine: docker.DockerClient, image_id: str) -> Iterator[Iterator[bytes]]:
    """The image's root filesystem as a tar stream, from a container made (not started)
    for it and removed after."""
    try:
        created = engine.api.create_container(image_id, command=["/"], entrypoint=[])
    except DockerException as exc:
        raise Error(f"cannot export image {image_id}: {exc}") from exc
    try:
        yield engine.api.export(created["Id"])
    finally:
        with contextlib.suppress(DockerException):
            engine.api.remove_container(created["Id"], force=True)


def _told(chunks: Iterator[bytes], size: int, say: Callable[[str], None]) -> Iterator[bytes]:
    """The chunks, with a line at each quarter of `size` sent."""
    sent, next_step = 0, STEP
    for chunk in chunks:
        sent += len(chunk)
        while size >= TOLD and sent >= size * next_step and next_step < 1:
            say(f"{next_step:.0%} ({sent / 2**20:.0f} MiB)")
            next_step += STEP
        yield chunk
