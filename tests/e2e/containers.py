"""Per-call containers and what they are made of, in Docker and in runc's state alike."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker

from faas.settings import WatchdogSettings
from watchdog.oci.network import NETNS_DIR, PREFIX
from watchdog.oci.runc import Runc, RuncError
from watchdog.oci.runner import CGROUP_PARENT
from watchdog.runner import CALL_LABEL

RUN_DIR = WatchdogSettings().run_dir
RUNC_ROOT = RUN_DIR / "runc"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def call_containers(
    client: docker.DockerClient, running_only: bool = False, **labels: str
) -> list[str]:
    """Ids of per-call containers with these labels (all states, or only running ones)."""
    return docker_containers(client, running_only, **labels) + runc_containers(
        running_only, **labels
    )


def docker_containers(
    client: docker.DockerClient, running_only: bool = False, **labels: str
) -> list[str]:
    filters: dict[str, object] = {"label": [CALL_LABEL] + [f"{k}={v}" for k, v in labels.items()]}
    if running_only:
        filters["status"] = "running"
    return [c["Id"] for c in client.api.containers(all=True, filters=filters)]


def runc_containers(running_only: bool = False, **labels: str) -> list[str]:
    """Containers in the runc state the watchdogs use, with the labels as annotations."""
    runc = Runc.find(RUNC_ROOT)
    if runc is None or not RUNC_ROOT.is_dir():
        return []
    found = []
    for state in _listed(runc):
        annotations = state.get("annotations") or {}
        if CALL_LABEL not in annotations:
            continue
        if any(annotations.get(k) != v for k, v in labels.items()):
            continue
        if running_only and state.get("status") != "running":
            continue
        found.append(str(state["id"]))
    return found


def _listed(runc: Runc) -> list[dict[str, Any]]:
    """runc's list; it fails while a container is half made or half removed: try again."""
    for _ in range(20):
        try:
            return runc.list()
        except RuncError:
            time.sleep(0.05)
    return runc.list()


def leftovers() -> list[str]:
    """What calls leave on the host when their removal fails: say what, for a test to fail."""
    left = [f"call folder {p}" for p in _children(RUN_DIR / "calls")]
    ready = {p.name for p in (RUN_DIR / "net").glob(f"*/{PREFIX}*") if not p.read_text()}
    left += [
        f"network namespace {p.name}"
        for p in _children(NETNS_DIR, PREFIX)
        if p.name not in ready  # made ahead by a watchdog still running, for its next call
    ]
    left += [f"cgroup {p}" for p in CGROUP_ROOT.glob(f"*/{CGROUP_PARENT}/faas-*")]
    left += [f"cgroup {p}" for p in CGROUP_ROOT.glob(f"unified/{CGROUP_PARENT}/faas-*")]
    with open("/proc/self/mountinfo") as mounts:
        left += [f"mount {line.split()[4]}" for line in mounts if str(RUN_DIR / "calls") in line]
    return left


def _children(folder: Path, prefix: str = "") -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except FileNotFoundError:
        return []
