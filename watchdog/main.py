"""Start a watchdog: Docker client, container runner, signal handling."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
from dataclasses import asdict
from pathlib import Path

import docker
from docker.errors import DockerException
from nats.js.errors import NotFoundError

from faas import bus
from faas.errors import Error
from faas.images import ImageBank
from faas.settings import OCI_RUNTIMES, WatchdogSettings
from watchdog.clusterimages import ClusterImages
from watchdog.dockerrunner import DockerRunner, cgroup_parent_of
from watchdog.node import Watchdog
from watchdog.oci import profile
from watchdog.oci.images import ImageStore
from watchdog.oci.network import Bridge, NetworkError, owner_folder
from watchdog.oci.ociruntime import OciRuntime
from watchdog.oci.pool import Limits
from watchdog.oci.profile import Profile, ProfileError
from watchdog.oci.runner import OciRunner
from watchdog.runner import Runner
from watchdog.secretfiles import SecretProvider, SecretSource

log = logging.getLogger(__name__)


def docker_client(settings: WatchdogSettings) -> docker.DockerClient:
    """A client whose connection pool fits the capacity (one call uses one connection);
    Error when the engine does not answer."""
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


def oci_runtime(settings: WatchdogSettings, name: str) -> OciRuntime:
    """The OCI runtime `name` (crun or runc); raise Unusable saying why it cannot run here."""
    binary = settings.crun if name == "crun" else settings.runc
    runtime = OciRuntime.find(settings.run_dir / name, binary)
    if runtime is None:
        raise Unusable(f"{binary} is not installed")
    why = runtime.unusable() or _no_pidfd()
    if why:
        raise Unusable(why)
    return runtime


def oci_runner(
    settings: WatchdogSettings,
    runtime: OciRuntime,
    client: docker.DockerClient | None,
    secrets: SecretProvider | None,
    cluster: ClusterImages | None = None,
    published: Profile | None = None,
) -> OciRunner:
    """The daemonless runner on `runtime` (crun or runc), started; raise Unusable saying why it
    cannot run here. Without Docker (`client` None), its confinement is the one
    `published` in the cluster."""
    if client is not None:
        try:
            confinement = profile.load(client, settings.state_dir / "profiles")
        except ProfileError as exc:
            raise Unusable(f"cannot read Docker's default confinement: {exc}") from exc
        if cluster is not None:
            cluster.confinement = asdict(confinement)
    elif published is not None:
        confinement = published
        log.info("no Docker engine here: confinement from the cluster (%s)", published.source)
    else:
        raise Unusable(
            "no Docker engine here, and the cluster has no confinement profile yet: "
            "start a watchdog on a host with Docker once, and it publishes its engine's"
        )
    if not settings.seccomp_32bit:
        confinement = profile.native_only(confinement)
    net = owner_folder(settings.run_dir / "net", settings.watchdog_id)
    bridge = Bridge(net, settings.bridge_subnet)
    images = ImageStore(client, settings.state_dir / "images", settings.image_cache_bytes, cluster)
    shim = static_busybox() if settings.ahead > 0 else None
    if settings.ahead > 0 and shim is None:
        log.warning("no static busybox on this host: no container is made ahead of its call")
    runner = OciRunner(
        runtime,
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
    client: docker.DockerClient | None,
    secrets: SecretProvider | None,
    cluster: ClusterImages | None = None,
    published: Profile | None = None,
) -> Runner:
    """crun or runc where usable and wanted, else Docker; the log says which. Only an OCI
    runtime runs images fetched from the cluster, and runs without a Docker engine."""
    wanted = OCI_RUNTIMES if settings.runtime == "auto" else (settings.runtime,)
    tried = [name for name in wanted if name != "docker"]
    for name in tried:
        try:
            runner = oci_runner(
                settings, oci_runtime(settings, name), client, secrets, cluster, published
            )
        except Unusable as exc:
            last = name == tried[-1]
            if last and client is None:
                raise Error(f"runtime {name} is not usable here ({exc}), nor docker") from None
            log.log(
                logging.WARNING if last else logging.INFO,
                "runtime %s is not usable here (%s)%s", name, exc, ": using docker" if last else "",
            )  # fmt: skip
        else:
            log.info("runtime: %s (%s), one OCI container per call", name, runner.runtime.binary)
            return runner
    if client is None:
        raise Error("runtime docker needs a Docker engine: none answers here")
    log.info("runtime: docker, one container per call through the Docker engine")
    parent = cgroup_parent_of(client, settings.watchdog_id)
    return DockerRunner(client, settings.watchdog_id, secrets, parent)


def docker_if_any(settings: WatchdogSettings) -> docker.DockerClient | None:
    """The Docker engine; None when none answers and crun or runc may run without it."""
    try:
        return docker_client(settings)
    except Error as exc:
        if settings.runtime == "docker":
            raise
        log.warning("%s: crun or runc runs images from the cluster only", exc)
        return None


async def published_confinement(settings: WatchdogSettings) -> Profile | None:
    """The confinement a watchdog with Docker published in the cluster, if any."""
    nc = await bus.connect(settings.nats_url, f"watchdog {settings.watchdog_id} (start)")
    try:
        js = nc.jetstream()
        try:
            found = await ImageBank(
                await js.object_store(bus.IMAGES_BUCKET), await js.key_value(bus.IMAGE_TAGS_BUCKET)
            ).confinement()
        except NotFoundError:  # no watchdog made the buckets yet
            return None
    finally:
        await bus.close(nc)
    return Profile(**found) if found else None


async def serve(settings: WatchdogSettings) -> None:
    """Run a watchdog until SIGTERM or SIGINT, then shut down gracefully."""
    client = docker_if_any(settings)
    published = await published_confinement(settings) if client is None else None
    key = settings.secrets_key_file
    secrets = SecretSource(key) if key else None
    cluster = ClusterImages()
    runner = await asyncio.to_thread(make_runner, settings, client, secrets, cluster, published)
    node = Watchdog(settings, runner, secrets, cluster)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.stop)
    try:
        await node.run()
    finally:
        runner.close()
        if client is not None:
            client.close()
