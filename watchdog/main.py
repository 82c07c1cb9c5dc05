"""Start a watchdog: Docker client, container runner, signal handling."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
from pathlib import Path

import docker
from docker.errors import DockerException

from faas.errors import Error
from faas.settings import WatchdogSettings
from watchdog.clusterimages import ClusterImages
from watchdog.dockerrunner import DockerRunner
from watchdog.node import Watchdog
from watchdog.oci import profile
from watchdog.oci.images import ImageStore
from watchdog.oci.network import Bridge, NetworkError, owner_folder
from watchdog.oci.pool import Limits
from watchdog.oci.profile import ProfileError
from watchdog.oci.runc import Runc
from watchdog.oci.runner import OciRunner
from watchdog.runner import Runner
from watchdog.secretfiles import SecretProvider, SecretSource

log = logging.getLogger(__name__)


def docker_client(settings: WatchdogSettings) -> docker.DockerClient:
    """A client whose connection pool fits the capacity (one call uses one connection)."""
    pool = settings.capacity * 2 + 4
    try:
        if settings.docker_url:
            client = docker.DockerClient(
                base_url=settings.docker_url, max_pool_size=pool, timeout=60
            )
        else:
            client = docker.from_env(max_pool_size=pool, timeout=60)
        client.ping()
    except DockerException as exc:
        raise Error(f"cannot reach the Docker engine: {exc}") from exc
    return client


class Unusable(Exception):
    """The OCI runtime cannot run containers here; the message says why."""


def oci_runner(
    settings: WatchdogSettings,
    client: docker.DockerClient,
    secrets: SecretProvider | None,
    cluster: ClusterImages | None = None,
) -> OciRunner:
    """The daemonless runner, started; raise Unusable saying why it cannot run here."""
    runc = Runc.find(settings.run_dir / "runc", settings.runc)
    if runc is None:
        raise Unusable(f"{settings.runc} is not installed")
    why = runc.unusable() or _no_pidfd()
    if why:
        raise Unusable(why)
    try:
        confinement = profile.load(client, settings.state_dir / "profiles")
    except ProfileError as exc:
        raise Unusable(f"cannot read Docker's default confinement: {exc}") from exc
    if not settings.seccomp_32bit:
        confinement = profile.native_only(confinement)
    net = owner_folder(settings.run_dir / "net", settings.watchdog_id)
    bridge = Bridge(net, settings.bridge_subnet)
    images = ImageStore(client, settings.state_dir / "images", settings.image_cache_bytes, cluster)
    shim = static_busybox() if settings.ahead > 0 else None
    if settings.ahead > 0 and shim is None:
        log.warning("no static busybox on this host: no container is made ahead of its call")
    runner = OciRunner(
        runc,
        images,
        confinement,
        bridge,
        settings.run_dir / "calls",
        settings.watchdog_id,
        secrets,
        Limits(per_key=settings.ahead, total=settings.ahead_total),
        shim,
    )
    try:
        runner.start()
    except NetworkError as exc:
        log.warning("no bridge network for calls (%s): calls with network bridge will fail", exc)
        runner.bridge = None
    except OSError as exc:
        raise Unusable(str(exc)) from exc
    return runner


def static_busybox() -> Path | None:
    """A busybox that needs no library (Debian's busybox-static): it runs in any image."""
    found = shutil.which("busybox")
    if found is None:
        return None
    with open(found, "rb") as binary:
        head = binary.read(64 * 1024)
    return Path(found) if head[:4] == b"\x7fELF" and b"ld-linux" not in head else None


def _no_pidfd() -> str | None:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError) as exc:
        return f"this kernel has no pidfd_open ({exc})"
    return None


def make_runner(
    settings: WatchdogSettings,
    client: docker.DockerClient,
    secrets: SecretProvider | None,
    cluster: ClusterImages | None = None,
) -> Runner:
    """runc where it is usable and wanted, else Docker; the log says which. Only runc runs
    images fetched from the cluster."""
    if settings.runtime != "docker":
        try:
            runner = oci_runner(settings, client, secrets, cluster)
        except Unusable as exc:
            log.warning("runtime runc is not usable here (%s): using docker", exc)
        else:
            log.info("runtime: runc (%s), one OCI container per call", runner.runc.binary)
            return runner
    log.info("runtime: docker, one container per call through the Docker engine")
    return DockerRunner(client, settings.watchdog_id, secrets)


async def serve(settings: WatchdogSettings) -> None:
    """Run a watchdog until SIGTERM or SIGINT, then shut down gracefully."""
    client = docker_client(settings)
    key = settings.secrets_key_file
    secrets = SecretSource(key) if key else None
    cluster = ClusterImages()
    runner = await asyncio.to_thread(make_runner, settings, client, secrets, cluster)
    node = Watchdog(settings, runner, secrets, cluster)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.stop)
    try:
        await node.run()
    finally:
        runner.close()
        client.close()
