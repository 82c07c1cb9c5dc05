"""Build a stack's function images with the local Docker engine (offline: FROM local bases)."""

from __future__ import annotations

from collections.abc import Callable

import docker
from docker.errors import APIError, DockerException

from cli.stack import Stack, StackFunction
from faas.errors import Error

BUILDABLE = ("dockerfile", "")


def build_stack(
    stack: Stack, only: set[str] | None = None, say: Callable[[str], None] = print
) -> list[str]:
    """Build every function's image (or those named in `only`); return the images built."""
    try:
        client = docker.from_env(timeout=600)
    except DockerException as exc:
        raise Error(f"cannot reach the Docker engine: {exc}") from exc
    built = []
    try:
        for fn in stack.functions.values():
            if only and fn.name not in only:
                continue
            build_function(client, fn, say)
            built.append(fn.image)
    finally:
        client.close()
    return built


def build_function(
    client: docker.DockerClient, fn: StackFunction, say: Callable[[str], None]
) -> None:
    if fn.lang not in BUILDABLE:
        raise Error(
            f"function {fn.name}: lang {fn.lang!r} cannot be built yet; use lang: dockerfile"
        )
    if fn.handler is None or not (fn.handler / "Dockerfile").is_file():
        raise Error(f"function {fn.name}: no Dockerfile in handler {fn.handler}")
    say(f"[{fn.name}] building {fn.image} from {fn.handler}")
    try:
        stream = client.api.build(
            path=str(fn.handler), tag=fn.image, rm=True, decode=True, buildargs=fn.build_args
        )
        for event in stream:
            if "error" in event:
                raise Error(f"function {fn.name}: build failed: {event['error'].strip()}")
            line = str(event.get("stream", "")).strip()
            if line.startswith("Step "):
                say(f"[{fn.name}] {line}")
    except APIError as exc:
        raise Error(f"function {fn.name}: build failed: {exc.explanation or exc}") from exc
    say(f"[{fn.name}] built {fn.image}")
