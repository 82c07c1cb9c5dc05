"""Unit tests of watchdog.oci.bundle: the OCI config of a call's container."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas.images import ImageConfig
from watchdog.oci.bundle import (
    Container,
    User,
    command,
    environment,
    oci_config,
    resolve_user,
    resolves,
)
from watchdog.oci.images import ImageError
from watchdog.oci.profile import Profile

SECCOMP = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}
PROFILE = Profile(
    seccomp=SECCOMP,
    masked_paths=["/proc/kcore"],
    readonly_paths=["/proc/sysrq-trigger"],
    devices=[{"allow": False, "access": "rwm"}],
)


def box(tmp_path: Path, **changes: object) -> Container:
    fields: dict[str, object] = {
        "image": "faas/wc:latest",
        "config": ImageConfig("sha256:abc", working_dir="/app"),
        "profile": PROFILE,
        "rootfs": tmp_path / "rootfs",
        "files": tmp_path,
        "cgroups_path": "/faas/c1",
        "hostname": "c1",
        "annotations": {"faas.call": "id1"},
        **changes,
    }
    return Container(**fields)  # type: ignore[arg-type]


def config(tmp_path: Path, read_only: bool = True, **changes: object) -> dict[str, object]:
    return oci_config(
        box(tmp_path, **changes), ["cat"], ["A=1"], User(65534, 65534), 2**26, 0.5, 10, read_only
    )


def test_command_is_the_entrypoint_then_the_function_command_or_the_image_cmd() -> None:
    image = ImageConfig("id", entrypoint=["/init"], cmd=["serve"])
    assert command(image, ["wc", "-l"], "x") == ["/init", "wc", "-l"]
    assert command(image, [], "x") == ["/init", "serve"]
    assert command(ImageConfig("id", cmd=["python3"]), [], "x") == ["python3"]


def test_no_command_anywhere_names_the_image() -> None:
    with pytest.raises(ImageError, match="image faas/empty has no command"):
        command(ImageConfig("id"), [], "faas/empty")


def test_environment_merges_image_then_call_as_docker() -> None:
    image = ImageConfig("id", env=["PATH=/bin", "LANG=C", "X=image"])
    env = environment(image, {"X": "call", "Http_Method": "POST"}, "host1")
    assert env == ["PATH=/bin", "LANG=C", "X=call", "HOSTNAME=host1", "Http_Method=POST"]


def test_environment_gets_a_default_path() -> None:
    assert environment(ImageConfig("id"), {}, "h")[0].startswith("PATH=/usr/local/sbin:")


def test_config_confines_as_docker_does(tmp_path: Path) -> None:
    made = config(tmp_path)
    process = made["process"]
    assert isinstance(process, dict)
    assert process["capabilities"] == {"bounding": [], "effective": [], "permitted": []}
    assert process["noNewPrivileges"] is True
    assert process["user"] == {"uid": 65534, "gid": 65534, "additionalGids": []}
    assert process["cwd"] == "/app"
    linux = made["linux"]
    assert isinstance(linux, dict)
    assert linux["seccomp"] == SECCOMP
    assert linux["maskedPaths"] == ["/proc/kcore"]
    assert linux["readonlyPaths"] == ["/proc/sysrq-trigger"]
    assert {n["type"] for n in linux["namespaces"]} == {"pid", "ipc", "uts", "mount", "network"}
    assert linux["resources"] == {
        "devices": [{"allow": False, "access": "rwm"}],
        "memory": {"limit": 2**26, "swap": 2**26},
        "cpu": {"period": 100_000, "quota": 50_000},
        "pids": {"limit": 10},
    }


def test_read_only_root_gets_a_writable_tmp(tmp_path: Path) -> None:
    ro = config(tmp_path, read_only=True)
    rw = config(tmp_path, read_only=False)
    assert ro["root"] == {"path": str(tmp_path / "rootfs"), "readonly": True}
    assert rw["root"] == {"path": str(tmp_path / "rootfs"), "readonly": False}
    assert "/tmp" in destinations(ro)
    assert "/tmp" not in destinations(rw)


def test_secrets_are_bound_read_only(tmp_path: Path) -> None:
    made = config(tmp_path, secrets=tmp_path / "s")
    mounts = made["mounts"]
    assert isinstance(mounts, list)
    secret = next(m for m in mounts if m["destination"] == "/var/openfaas/secrets")
    assert secret["source"] == str(tmp_path / "s")
    assert "ro" in secret["options"]
    assert "/var/openfaas/secrets" not in destinations(config(tmp_path))


def test_a_network_namespace_is_joined_when_given(tmp_path: Path) -> None:
    own = config(tmp_path)["linux"]
    joined = config(tmp_path, netns=Path("/run/netns/faas-1"))["linux"]
    assert isinstance(own, dict) and isinstance(joined, dict)
    assert {"type": "network"} in own["namespaces"]
    assert {"type": "network", "path": "/run/netns/faas-1"} in joined["namespaces"]


def test_no_limit_is_set_when_none_is_given(tmp_path: Path) -> None:
    made = oci_config(box(tmp_path), ["cat"], [], User(0, 0), 0, 0.0, 0, False)
    linux = made["linux"]
    assert isinstance(linux, dict)
    assert set(linux["resources"]) == {"devices"}


def destinations(made: dict[str, object]) -> list[str]:
    mounts = made["mounts"]
    assert isinstance(mounts, list)
    return [m["destination"] for m in mounts]


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"
    )
    (etc / "group").write_text("root:x:0:\napp:x:1001:\nextra:x:2000:app,other\n")
    return tmp_path


def test_users_by_name_or_number_as_docker_resolves_them(rootfs: Path) -> None:
    assert resolve_user(rootfs, "") == User(0, 0, (0,))
    assert resolve_user(rootfs, "app") == User(1000, 1001, (1001, 2000))
    assert resolve_user(rootfs, "1000") == User(1000, 1001, (1001, 2000))
    assert resolve_user(rootfs, "app:extra") == User(1000, 2000, (2000,))
    assert resolve_user(rootfs, "65534:65534") == User(65534, 65534, (65534,))
    assert resolve_user(rootfs, "4242") == User(4242, 0, (0,))


def test_unknown_user_or_group_is_refused(rootfs: Path) -> None:
    with pytest.raises(ImageError, match="user 'nobody2'"):
        resolve_user(rootfs, "nobody2")
    with pytest.raises(ImageError, match="group 'staff'"):
        resolve_user(rootfs, "app:staff")


def test_a_program_resolves_on_the_image_path(tmp_path: Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/python3").touch()
    (tmp_path / "app").mkdir()
    (tmp_path / "app/run.sh").touch()
    env = ["PATH=/usr/local/bin:/usr/bin"]
    assert resolves(tmp_path, "python3", env)
    assert resolves(tmp_path, "/usr/bin/python3", env)
    assert resolves(tmp_path, "./run.sh", env, cwd="/app")
    assert not resolves(tmp_path, "python2", env)
    assert not resolves(tmp_path, "python3", ["PATH=/bin"])
    assert not resolves(tmp_path, "/bin/sh", env)
