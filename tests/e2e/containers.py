"""Per-call containers and what they are made of, in Docker and in the OCI runtimes' state
(crun's and runc's) alike."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker

from faas.settings import WatchdogSettings
from watchdog.dockerrunner import CGROUP_PARENT as DOCKER_CGROUP_PARENT
from watchdog.oci.factory import AHEAD, CGROUP_PARENT, owner_of
from watchdog.oci.network import NETNS_DIR, PREFIX, owner_folder
from watchdog.oci.ociruntime import OciRuntime, OciRuntimeError
from watchdog.runner import CALL_LABEL, WATCHDOG_LABEL
from watchdog.secretfiles import safe_name

RUN_DIR = WatchdogSettings().run_dir
OCI_ROOTS = {"runc": RUN_DIR / "runc", "crun": RUN_DIR / "crun"}  # each runtime's state
CGROUP_ROOT = Path("/sys/fs/cgroup")


def call_containers(
    client: docker.DockerClient, running_only: bool = False, /, **labels: str
) -> list[str]:
    """Ids of per-call containers with these labels (all states, or only running ones)."""
    return docker_containers(client, running_only, **labels) + oci_containers(
        running_only, **labels
    )


def docker_containers(
    client: docker.DockerClient, running_only: bool = False, /, **labels: str
) -> list[str]:
    filters: dict[str, object] = {"label": [CALL_LABEL] + [f"{k}={v}" for k, v in labels.items()]}
    if running_only:
        filters["status"] = "running"
    return [c["Id"] for c in client.api.containers(all=True, filters=filters)]


def oci_containers(running_only: bool = False, /, **labels: str) -> list[str]:
    """Containers of calls in the OCI runtimes' state the watchdogs use, with the labels as
    annotations; one made ahead counts once its call took it."""
    found = []
    for state in oci_states():
        annotations = state.get("annotations") or {}
        if annotations.get(CALL_LABEL) == AHEAD:  # made ahead: its call, once it has one
            annotations[CALL_LABEL] = _read(Path(state.get("bundle", "")) / "call")
        if not annotations.get(CALL_LABEL):
            continue
        if any(annotations.get(k) != v for k, v in labels.items()):
            continue
        if running_only and state.get("status") != "running":
            continue
        found.append(str(state["id"]))
    return found


def oci_states() -> list[dict[str, Any]]:
    """The calls' containers the OCI runtimes list, each with its annotations (crun's list
    has none: they are read from its bundle's config)."""
    found = []
    for name, root in OCI_ROOTS.items():
        for state in _listed(name, root):
            state["runtime"] = name
            if state.get("annotations") is None:
                state["annotations"] = _annotations(Path(str(state.get("bundle", ""))))
            if CALL_LABEL in (state.get("annotations") or {}):
                found.append(state)
    return found


def _listed(name: str, root: Path) -> list[dict[str, Any]]:
    """The runtime's list; runc's fails while a container is half made or half removed."""
    runtime = OciRuntime.find(root, name)
    if runtime is None or not root.is_dir():
        return []
    for _ in range(20):
        try:
            return runtime.list()
        except OciRuntimeError:
            time.sleep(0.05)
    return runtime.list()


def _annotations(bundle: Path) -> dict[str, str]:
    try:
        return dict(json.loads((bundle / "config.json").read_text()).get("annotations") or {})
    except (OSError, ValueError):
        return {}


def leftovers(watchdogs: set[str] | None = None) -> list[str]:
    """What the containers of these stopped watchdogs (None: of every one) left on the host:
    runc containers, call folders, network namespaces, Docker containers' own cgroups; and
    cgroups and mounts of no container.
    """
    states = oci_states()
    live = {str(s["id"]) for s in states}

    def mine(watchdog: str) -> bool:
        return watchdogs is None or watchdog in watchdogs

    left = [f"OCI container {s['id']}" for s in states if mine(_watchdog(s))]
    left += [
        f"call folder {p.name}"
        for p in _children(RUN_DIR / "calls")
        if mine(owner_of(p)) or ((watchdogs is None or p.name not in live) and not owner_of(p))
    ]
    left += _namespaces(watchdogs)
    cgroups = [*CGROUP_ROOT.glob(f"*/{CGROUP_PARENT}/faas-*")]
    left += [f"cgroup {p}" for p in cgroups if p.name not in live or watchdogs is None]
    left += [f"cgroup {p}" for p in docker_cgroups(watchdogs)]
    with open("/proc/self/mountinfo") as mounts:
        points = [line.split()[4] for line in mounts if str(RUN_DIR / "calls") in line]
    left += [f"mount {m}" for m in points if Path(m).parent.name not in live or watchdogs is None]
    return left


def _namespaces(watchdogs: set[str] | None) -> list[str]:
    if watchdogs is None:
        return [f"network namespace {p.name}" for p in _children(NETNS_DIR, PREFIX)]
    owned = [p for w in watchdogs for p in _children(owner_folder(RUN_DIR / "net", w), PREFIX)]
    return [f"network namespace {p.name}" for p in owned if (NETNS_DIR / p.name).exists()]


def docker_cgroups(watchdogs: set[str] | None) -> list[Path]:
    """The cgroups the Docker runtime made for its calls (one each, under one per watchdog)."""
    owners = None if watchdogs is None else {safe_name(w) for w in watchdogs}
    found = CGROUP_ROOT.glob(f"*/{DOCKER_CGROUP_PARENT}/*/*")
    return [p for p in found if p.is_dir() and (owners is None or p.parent.name in owners)]


def _watchdog(state: dict[str, Any]) -> str:
    return str((state.get("annotations") or {}).get(WATCHDOG_LABEL, ""))


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _children(folder: Path, prefix: str = "") -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except FileNotFoundError:
        return []


def wait_for_containers(
    client: docker.DockerClient, present: bool, timeout: float = 30, /, **labels: str
) -> None:
    """Until a per-call container with these labels exists (or none does)."""
    deadline = time.monotonic() + timeout
    while bool(call_containers(client, **labels)) != present:
        assert time.monotonic() < deadline, f"containers {labels} never became present={present}"
        time.sleep(0.05)


def assert_no_call_containers(
    client: docker.DockerClient, when: str, watchdogs: set[str] | None = None
) -> None:
    """No container of a call, in Docker or runc, and nothing a runc container is made of;
    of these watchdogs (stopped), or of any. Removal runs just after the reply, so give it a
    moment before calling it a leak."""
    deadline = time.monotonic() + 10
    labels = [{WATCHDOG_LABEL: w} for w in watchdogs] if watchdogs is not None else [{}]
    while any(call_containers(client, **x) for x in labels) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [c for x in labels for c in call_containers(client, **x)]
    assert not left, f"{len(left)} container(s) labelled {CALL_LABEL} left {when}"
    while leftovers(watchdogs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers(watchdogs), f"left {when}: {', '.join(leftovers(watchdogs))}"
