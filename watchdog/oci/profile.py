"""Docker's default confinement (seccomp filter, masked paths, device rules), read from the
engine itself: the local Docker writes it into the OCI config of every container it starts."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException

log = logging.getLogger(__name__)

# Where containerd keeps a running container's bundle, for Docker's own containerd and a
# system one.
STATE_DIRS = (
    "/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby",
    "/run/containerd/io.containerd.runtime.v2.task/moby",
    "/var/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby",
)
PROBE_IMAGE = "faas/base-busybox:latest"
PROBE_SECONDS = 10.0


class ProfileError(Exception):
    """Docker's defaults could not be read."""


@dataclass(frozen=True)
class Profile:
    """What a container gets from Docker by default, with all capabilities dropped."""

    seccomp: dict[str, Any]
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)  # cgroup device rules
    source: str = ""  # the Docker version it came from

    @classmethod
    def from_oci(cls, config: dict[str, Any], source: str) -> Profile:
        linux = config.get("linux") or {}
        seccomp = linux.get("seccomp")
        if not seccomp:
            raise ProfileError("the engine's container config has no seccomp filter")
        return cls(
            seccomp=seccomp,
            masked_paths=list(linux.get("maskedPaths") or []),
            readonly_paths=list(linux.get("readonlyPaths") or []),
            devices=list((linux.get("resources") or {}).get("devices") or []),
            source=source,
        )


def native_only(profile: Profile) -> Profile:
    """The profile for this machine's own system-call ABI only (Docker's first architecture).

    Docker's filter also admits the 32-bit ABIs (x86 and x32 beside x86_64); compiling their
    rules costs runc about 15 ms of CPU per container, a third of a call's cost. Without
    them, a 32-bit program's system calls are refused: stricter than Docker, never looser.
    """
    arches = profile.seccomp.get("architectures") or []
    seccomp = {**profile.seccomp, "architectures": arches[:1]}
    return replace(profile, seccomp=seccomp)


def load(client: docker.DockerClient, cache: Path) -> Profile:
    """The profile of this Docker version: from `cache` when it was read before, else read."""
    version = str(client.version().get("Version", "unknown"))
    path = cache / f"docker-{version}.json"
    with contextlib.suppress(OSError, ValueError, TypeError):
        return Profile(**json.loads(path.read_text()))
    profile = Profile.from_oci(_probe(client), f"Docker {version}")
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".new")
    partial.write_text(json.dumps(asdict(profile)))
    partial.replace(path)
    log.info("read Docker %s's default seccomp profile and masked paths", version)
    return profile


def _probe(client: docker.DockerClient) -> dict[str, Any]:
    """Start a container as the watchdog's are confined, and read the OCI config Docker made."""
    image, binds, command = _probe_image(client)
    try:
        created = client.api.create_container(
            image,
            command=command,
            entrypoint=[],
            labels={"faas.probe": "seccomp"},
            host_config=client.api.create_host_config(
                binds=binds,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                network_mode="none",
                auto_remove=False,
            ),
        )
    except DockerException as exc:
        raise ProfileError(f"cannot create a probe container: {exc}") from exc
    try:
        client.api.start(created["Id"])
        return _read_config(created["Id"])
    except DockerException as exc:
        raise ProfileError(f"cannot start a probe container: {exc}") from exc
    finally:
        with contextlib.suppress(DockerException):
            client.api.remove_container(created["Id"], force=True)


def _probe_image(client: docker.DockerClient) -> tuple[str, list[str], list[str]]:
    """An image to probe with, and how to keep a container of it alive for a moment."""
    sleep = ["sleep", str(int(PROBE_SECONDS))]
    if client.api.images(name=PROBE_IMAGE):
        return PROBE_IMAGE, [], sleep
    busybox = shutil.which("busybox")
    tags = [t for i in client.api.images() for t in (i.get("RepoTags") or [])]
    images = [t for t in tags if "<none>" not in t]
    if not busybox or not images:
        raise ProfileError("no local image to start a probe container with")
    return images[0], [f"{busybox}:/.faas-busybox:ro"], ["/.faas-busybox", *sleep]


def _read_config(container_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + PROBE_SECONDS
    while time.monotonic() < deadline:
        for folder in STATE_DIRS:
            with contextlib.suppress(OSError, ValueError):
                config: dict[str, Any] = json.loads(
                    (Path(folder) / container_id / "config.json").read_text()
                )
                return config
        time.sleep(0.05)
    raise ProfileError("the probe container's OCI config was not found under containerd's state")
