"""Unit tests of the small parts of watchdog.oci: runc's messages, resolv.conf, image configs
and root filesystems."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from faas.images import ImageConfig
from watchdog.oci.images import ImageStore, prepare_rootfs
from watchdog.oci.network import bridge_mac, resolv_conf
from watchdog.oci.ociruntime import (
    SECCOMP_BPF,
    OciRuntime,
    OciRuntimeError,
    error_text,
    seccomp_key,
)
from watchdog.oci.profile import Profile, native_only


def test_runc_error_is_the_last_error_of_its_json_log() -> None:
    log = b"\n".join(
        [
            json.dumps({"level": "warning", "msg": "odd"}).encode(),
            json.dumps({"level": "error", "msg": 'exec: "nope": not found'}).encode(),
        ]
    )
    assert error_text(log) == 'exec: "nope": not found'


def test_runc_error_from_plain_stderr() -> None:
    assert error_text(b"\nconfig.json: no such file\n") == "config.json: no such file"
    assert error_text(b"") == ""


def test_resolv_conf_drops_loopback_name_servers(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 127.0.0.53\nnameserver 10.1.2.3\nsearch example.org\n")
    assert resolv_conf(host) == "nameserver 10.1.2.3\nsearch example.org\n"
    assert resolv_conf(tmp_path / "missing") == ""


def test_image_config_from_docker_inspect() -> None:
    inspected = {
        "Id": "sha256:abc",
        "Config": {
            "User": "65534:65534",
            "Env": ["PATH=/bin"],
            "WorkingDir": "/app",
            "Entrypoint": None,
            "Cmd": ["/bin/sh", "/app/handler.sh"],
        },
    }
    assert ImageConfig.from_inspect(inspected) == ImageConfig(
        "sha256:abc", "65534:65534", ["PATH=/bin"], "/app", [], ["/bin/sh", "/app/handler.sh"]
    )


def test_rootfs_gets_its_mount_points(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("kept\n")
    prepare_rootfs(tmp_path)
    for name in ("proc", "sys", "dev", "tmp", "var/openfaas/secrets"):
        assert (tmp_path / name).is_dir()
    assert (tmp_path / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert (tmp_path / "etc/hosts").read_text() == "kept\n"
    assert (tmp_path / "etc/resolv.conf").read_text() == ""


def unpacked(root: Path, image_id: str, size: int) -> Path:
    folder = root / image_id.removeprefix("sha256:")
    (folder / "rootfs").mkdir(parents=True)
    (folder / "size").write_text(str(size))
    return folder


def test_unused_root_filesystems_go_oldest_first_within_the_bound(tmp_path: Path) -> None:
    store = ImageStore(client=None, root=tmp_path, max_bytes=250)
    old, used, new = (unpacked(tmp_path, f"sha256:{n}", 100) for n in ("a", "b", "c"))
    for image_id in ("sha256:a", "sha256:b", "sha256:c"):
        store._users[image_id] = 1
        store.release(image_id)
    store._users["sha256:b"] = 1  # in use: never removed
    store._used["sha256:b"] = 0.0
    store.collect()
    assert not old.exists()
    assert used.exists() and new.exists()


def test_half_made_root_filesystems_are_removed_at_start(tmp_path: Path) -> None:
    (tmp_path / ".new-123/rootfs").mkdir(parents=True)
    kept = unpacked(tmp_path, "sha256:a", 1)
    ImageStore(client=None, root=tmp_path, max_bytes=10).start()
    assert not (tmp_path / ".new-123").exists()
    assert kept.exists()


def test_rootfs_mount_points_never_follow_the_image_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "host"
    outside.mkdir()
    outside.chmod(0o755)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "tmp").symlink_to(outside)
    (rootfs / "var").symlink_to(outside)
    (rootfs / "etc").symlink_to(outside)
    prepare_rootfs(rootfs)
    assert list(outside.iterdir()) == []
    assert outside.stat().st_mode & 0o7777 == 0o755


def test_a_stopped_container_is_removed_without_runc(tmp_path: Path) -> None:
    runc = OciRuntime("/nonexistent/runc", tmp_path / "state")
    (tmp_path / "state/c1").mkdir(parents=True)
    (tmp_path / "state/c1/state.json").write_text("{}")
    groups = [tmp_path / "memory/faas/c1", tmp_path / "pids/faas/c1"]
    for group in groups:
        group.mkdir(parents=True)
    runc.remove_stopped("c1", [*groups, tmp_path / "gone"])
    assert not (tmp_path / "state/c1").exists()
    assert not any(g.exists() for g in groups)


def test_the_native_abi_only() -> None:
    profile = Profile(seccomp={"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "x": 1})
    assert native_only(profile).seccomp == {"architectures": ["SCMP_ARCH_X86_64"], "x": 1}
    assert profile.seccomp["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]


def test_the_bridge_address_is_a_fixed_unicast_local_one_made_from_its_ip() -> None:
    mac = bridge_mac("10.213.0.1")
    assert mac == "02:fa:0a:d5:00:01"
    assert bridge_mac("10.214.0.1") != mac
    first = int(mac.split(":")[0], 16)
    assert (first & 0b10, first & 0b01) == (0b10, 0)  # locally administered, not multicast


def test_the_runtime_is_named_by_its_binary(tmp_path: Path) -> None:
    assert OciRuntime("/usr/bin/crun", tmp_path).name == "crun"
    assert OciRuntime("/usr/sbin/runc", tmp_path).name == "runc"


def fifo_of(root: Path, container_id: str) -> Path:
    (root / container_id).mkdir()
    fifo = root / container_id / "exec.fifo"
    os.mkfifo(fifo)
    return fifo


def test_crun_starts_a_container_by_writing_the_fifo_its_init_reads(tmp_path: Path) -> None:
    fifo = fifo_of(tmp_path, "c1")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # as crun's init holds it
    try:
        OciRuntime("/usr/bin/crun", tmp_path).start("c1")
        assert os.read(reader, 8) == b"0"
        assert not fifo.exists()  # crun lists it as running from then on
    finally:
        os.close(reader)


def test_crun_start_says_so_when_the_init_is_gone(tmp_path: Path) -> None:
    fifo_of(tmp_path, "c1")
    with pytest.raises(OciRuntimeError, match="c1 did not start: its init is gone"):
        OciRuntime("/usr/bin/crun", tmp_path).start("c1")


def test_crun_is_given_the_filter_it_compiled_for_an_earlier_container(tmp_path: Path) -> None:
    crun, key = OciRuntime("/usr/bin/crun", tmp_path), seccomp_key({"defaultAction": "x"})
    assert crun.compiled_annotation(key) == {}
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "seccomp.bpf").write_bytes(b"\x06\x00\x00\x00\x00\x00\xff\x7f")
    crun.keep_compiled("c1", key)
    assert crun.compiled_annotation(key) == {SECCOMP_BPF: "BgAAAAAA/38="}
    assert crun.compiled_annotation(seccomp_key({"defaultAction": "y"})) == {}  # another filter


def test_runc_compiles_its_filter_each_time(tmp_path: Path) -> None:
    runc, key = OciRuntime("/usr/sbin/runc", tmp_path), seccomp_key({})
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "seccomp.bpf").write_bytes(b"\x00" * 8)
    runc.keep_compiled("c1", key)
    assert runc.compiled_annotation(key) == {}
