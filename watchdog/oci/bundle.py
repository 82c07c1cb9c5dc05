"""The OCI config of one call's container, confined at least as Docker confines its own."""

from __future__ import annotations

import functools
import json
import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faas.images import ImageConfig
from watchdog.oci.images import ImageError
from watchdog.oci.pool import SHIM_PATH
from watchdog.oci.profile import Profile
from watchdog.secretfiles import SECRETS_PATH

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CPU_PERIOD = 100_000  # microseconds, as Docker's --cpus
TMPFS = ["nosuid", "nodev", "mode=1777", "size=65536k"]


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class Container:
    """Everything a call's container is made of, besides the call itself."""

    image: str  # the name the function gave, for messages
    config: ImageConfig
    profile: Profile
    rootfs: Path
    files: Path  # the call's folder with its hosts, hostname and resolv.conf
    cgroups_path: str
    hostname: str
    annotations: dict[str, str]
    netns: Path | None = None  # a ready network namespace to join; None: loopback only
    secrets: Path | None = None
    shim: Path | None = None  # a static busybox bound at SHIM_PATH, for containers made ahead


def command(config: ImageConfig, override: list[str], image: str) -> list[str]:
    """The image's entrypoint with the function's command, or the image's own, as Docker."""
    args = [*config.entrypoint, *(override or config.cmd)]
    if not args:
        raise ImageError(f"image {image} has no command, and the function sets no fprocess")
    return args


def environment(config: ImageConfig, env: dict[str, str], hostname: str) -> list[str]:
    """The image's environment, overridden by the call's, as Docker merges them."""
    merged = dict(item.partition("=")[::2] for item in config.env)
    merged.setdefault("PATH", DEFAULT_PATH)
    merged["HOSTNAME"] = hostname
    merged.update(env)
    return [f"{k}={v}" for k, v in merged.items()]


def oci_config(
    box: Container,
    args: list[str],
    env: list[str],
    user: User,
    memory: int,
    cpus: float,
    pids: int,
    read_only: bool,
) -> dict[str, Any]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # as Docker's: the daemon's own
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.groups)},
            "args": args,
            "env": env,
            "cwd": box.config.working_dir or "/",
            "capabilities": {"bounding": [], "effective": [], "permitted": []},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile}],
            "noNewPrivileges": True,
            "oomScoreAdj": 0,
        },
        "root": {"path": str(box.rootfs), "readonly": read_only},
        "hostname": box.hostname,
        "mounts": _mounts(box, read_only),
        "annotations": box.annotations,
        "linux": {
            "resources": _resources(box.profile, memory, cpus, pids),
            "cgroupsPath": box.cgroups_path,
            "namespaces": _namespaces(box.netns),
            "seccomp": box.profile.seccomp,
            "maskedPaths": box.profile.masked_paths,
            "readonlyPaths": box.profile.readonly_paths,
        },
    }


def _mounts(box: Container, read_only: bool) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]  # fmt: skip
    if read_only:
        mounts.append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": TMPFS})
    for name in ("hosts", "hostname", "resolv.conf"):
        mounts.append(_bind(box.files / name, f"/etc/{name}", read_only=False))
    if box.secrets is not None:
        mounts.append(_bind(box.secrets, SECRETS_PATH, read_only=True))
    if box.shim is not None:
        shim = _bind(box.shim, SHIM_PATH, read_only=True)
        shim["options"].remove("noexec")
        mounts.append(shim)
    return mounts


def _bind(source: Path, destination: str, read_only: bool) -> dict[str, Any]:
    options = ["rbind", "rprivate", "nosuid", "nodev"]
    if read_only:
        options += ["noexec", "ro"]
    return {"destination": destination, "type": "bind", "source": str(source), "options": options}


def _resources(profile: Profile, memory: int, cpus: float, pids: int) -> dict[str, Any]:
    resources: dict[str, Any] = {"devices": profile.devices}
    if memory:
        resources["memory"] = {"limit": memory, "swap": memory}
    if cpus:
        resources["cpu"] = {"period": CPU_PERIOD, "quota": int(cpus * CPU_PERIOD)}
    if pids:
        resources["pids"] = {"limit": pids}
    return resources


def _namespaces(netns: Path | None) -> list[dict[str, str]]:
    network = {"type": "network", "path": str(netns)} if netns else {"type": "network"}
    return [{"type": t} for t in ("pid", "ipc", "uts", "mount")] + [network]


@functools.lru_cache(maxsize=256)  # a root filesystem never changes once unpacked
def resolve_user(rootfs: Path, spec: str) -> User:
    """`uid[:gid]` or names, looked up in the image's /etc/passwd and /etc/group, as Docker."""
    if not spec:
        return User(0, 0, _groups_of(rootfs, "root", 0))
    name, _, group = spec.partition(":")
    passwd = _table(rootfs / "etc/passwd")
    entry = next((e for e in passwd if name in (e[0], e[2])), None)
    if entry is None and not name.isdigit():
        raise ImageError(f"user {name!r} is not in the image's /etc/passwd")
    uid = int(entry[2]) if entry else int(name)
    gid = int(entry[3]) if entry and entry[3].isdigit() else 0
    if group:
        gid = _gid(rootfs, group)
    username = entry[0] if entry else ""
    return User(uid, gid, _groups_of(rootfs, username, gid))


def _gid(rootfs: Path, group: str) -> int:
    if group.isdigit():
        return int(group)
    found = next((e for e in _table(rootfs / "etc/group") if e[0] == group), None)
    if found is None or not found[2].isdigit():
        raise ImageError(f"group {group!r} is not in the image's /etc/group")
    return int(found[2])


def _groups_of(rootfs: Path, user: str, gid: int) -> tuple[int, ...]:
    """The primary group, then the groups that list `user` as a member."""
    extra = [
        int(e[2])
        for e in _table(rootfs / "etc/group")
        if user and len(e) > 3 and user in e[3].split(",") and e[2].isdigit()
    ]
    return tuple(dict.fromkeys([gid, *extra]))


def _table(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line.count(":") >= 2]


def write(path: Path, config: dict[str, Any]) -> None:
    path.write_text(json.dumps(config))


def read(path: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def resolves(rootfs: Path, program: str, env: list[str], cwd: str = "/") -> bool:
    """Whether `program` names a file of the image, on its PATH when it has no slash."""
    if program.startswith("/"):
        return _exists(rootfs, program)
    if "/" in program:
        return _exists(rootfs, f"{cwd}/{program}")
    path = next((e[5:] for e in env if e.startswith("PATH=")), DEFAULT_PATH)
    return any(_exists(rootfs, f"{folder}/{program}") for folder in path.split(":") if folder)


def _exists(rootfs: Path, path: str) -> bool:
    """Within the image only: an absolute symlink in it is taken as it stands."""
    return os.path.lexists(rootfs / path.lstrip("/"))
