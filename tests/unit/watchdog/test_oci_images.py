"""watchdog.oci.images with a host whose Docker lacks the image: it comes from the cluster
(faked here; faas.images has its own tests against a real nats-server)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import IO, Any

import pytest
from docker.errors import APIError, ImageNotFound

from faas.errors import Error
from faas.images import ImageConfig, ImageCorrupt
from watchdog.oci.images import ImageError, ImageStore, manifest

IMAGE = "faas/remote:latest"
CONFIG = ImageConfig("sha256:" + "ab" * 32, user="65534", cmd=["/bin/sh", "/app/run.sh"])


class DockerWithout:
    """A Docker engine that has no image at all."""

    class api:
        @staticmethod
        def inspect_image(image: str) -> Any:
            raise ImageNotFound(f"No such image: {image}")

        @staticmethod
        def create_container(image: str, **kwargs: Any) -> Any:
            raise ImageNotFound(f"No such image: {image}")


def rootfs_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        body = b"echo from the cluster\n"
        info = tarfile.TarInfo("app/run.sh")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


class Cluster:
    """The cluster's images as the store sees them; `corrupt` copies fail their digest."""

    def __init__(self, configs: dict[str, ImageConfig], corrupt: int = 0) -> None:
        self.configs = configs
        self.corrupt = corrupt
        self.fetches = 0

    def resolve(self, image: str) -> ImageConfig | None:
        return self.configs.get(image)

    def fetch(self, image_id: str, into: IO[bytes]) -> int:
        self.fetches += 1
        data = rootfs_tar()
        into.write(data)
        if self.fetches <= self.corrupt:
            raise ImageCorrupt(f"image {image_id} from the cluster failed its digest check")
        return len(data)


def store(tmp_path: Path, cluster: Cluster | None) -> ImageStore:
    images = ImageStore(DockerWithout(), tmp_path, 2**30, cluster)  # type: ignore[arg-type]
    images.start()
    return images


def test_an_image_docker_lacks_is_run_from_the_cluster(tmp_path: Path) -> None:
    cluster = Cluster({IMAGE: CONFIG})
    image = store(tmp_path, cluster).acquire(IMAGE, revision=1)
    assert image.config == CONFIG
    assert (image.rootfs / "app/run.sh").read_bytes() == b"echo from the cluster\n"
    assert (image.rootfs / ".faas").is_dir()  # made ready like any root filesystem
    store(tmp_path, cluster).acquire(IMAGE, revision=1)
    assert cluster.fetches == 1  # unpacked once, kept


def test_a_copy_that_fails_its_digest_is_fetched_again(tmp_path: Path) -> None:
    cluster = Cluster({IMAGE: CONFIG}, corrupt=1)
    image = store(tmp_path, cluster).acquire(IMAGE, revision=1)
    assert cluster.fetches == 2
    assert (image.rootfs / "app/run.sh").exists()


def test_a_copy_corrupt_twice_fails_the_call_naming_the_image(tmp_path: Path) -> None:
    cluster = Cluster({IMAGE: CONFIG}, corrupt=2)
    with pytest.raises(ImageError, match=f"cannot unpack image {IMAGE}: .*digest check, twice"):
        store(tmp_path, cluster).acquire(IMAGE, revision=1)
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing half made is left


def test_an_image_neither_here_nor_in_the_cluster_says_so(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=f"image {IMAGE} is neither on this host nor in the"):
        store(tmp_path, Cluster({})).acquire(IMAGE, revision=1)
    with pytest.raises(ImageError, match=f"image {IMAGE} is not on this host"):
        store(tmp_path, None).acquire(IMAGE, revision=1)


def test_a_cluster_that_cannot_answer_is_named(tmp_path: Path) -> None:
    class Unreachable(Cluster):
        def resolve(self, image: str) -> ImageConfig | None:
            raise Error("the watchdog is not connected to NATS yet")

    with pytest.raises(ImageError, match="in the cluster: the watchdog is not connected"):
        store(tmp_path, Unreachable({})).acquire(IMAGE, revision=1)


def test_a_kept_copy_that_was_changed_is_made_again_once_per_process(tmp_path: Path) -> None:
    cluster = Cluster({IMAGE: CONFIG})
    image = store(tmp_path, cluster).acquire(IMAGE, revision=1)
    script = image.rootfs / "app/run.sh"
    script.write_bytes(b"echo tampered\n")  # a copy gone bad on this host's disk
    restarted = store(tmp_path, cluster)  # a new watchdog process: it checks what it keeps
    again = restarted.acquire(IMAGE, revision=1)
    assert cluster.fetches == 2
    assert (again.rootfs / "app/run.sh").read_bytes() == b"echo from the cluster\n"
    restarted.acquire(IMAGE, revision=1)
    assert cluster.fetches == 2  # checked once: later calls use it as it is


def test_a_manifest_changes_with_content_mode_and_links(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/f").write_bytes(b"x")
    (tmp_path / "l").symlink_to("d/f")
    first = manifest(tmp_path)
    assert manifest(tmp_path) == first
    (tmp_path / "d/f").chmod(0o600)
    second = manifest(tmp_path)
    (tmp_path / "l").unlink()
    (tmp_path / "l").symlink_to("d")
    third = manifest(tmp_path)
    (tmp_path / "d/f").write_bytes(b"y")
    assert len({first, second, third, manifest(tmp_path)}) == 4


class DockerWithRegistry(DockerWithout):
    """A Docker engine that has nothing yet, and pulls from `reachable` registries."""

    def __init__(self, reachable: set[str]) -> None:
        self.reachable = reachable
        self.pulled: list[str] = []
        engine = self

        class api(DockerWithout.api):
            @staticmethod
            def pull(image: str) -> None:
                if image.split("/")[0] not in engine.reachable:
                    raise APIError(f"Get https://{image.split('/')[0]}/v2/: dial tcp: no route")
                engine.pulled.append(image)

            @staticmethod
            def inspect_image(image: str) -> Any:
                if image in engine.pulled or f"{image}:latest" in engine.pulled:
                    return {"Id": CONFIG.image_id, "Config": {"Cmd": ["/run"]}}
                raise ImageNotFound(f"No such image: {image}")

        self.api = api


def test_an_image_of_a_registry_is_pulled_not_looked_for_in_the_cluster(tmp_path: Path) -> None:
    cluster = Cluster({})
    docker = DockerWithRegistry({"registry.example:5000"})
    images = ImageStore(docker, tmp_path, 2**30, cluster)  # type: ignore[arg-type]
    config = images.config_of("registry.example:5000/team/fn", revision=1)
    assert docker.pulled == ["registry.example:5000/team/fn:latest"]
    assert config.cmd == ["/run"]
    with pytest.raises(ImageError, match=r"cannot pull image gone\.example/fn:1 from its registry"):
        images.config_of("gone.example/fn:1", revision=1)


def test_a_host_without_docker_runs_what_the_cluster_has(tmp_path: Path) -> None:
    cluster = Cluster({IMAGE: CONFIG})
    images = ImageStore(None, tmp_path, 2**30, cluster)  # type: ignore[arg-type]
    image = images.acquire(IMAGE, revision=1)
    assert (image.rootfs / "app/run.sh").exists() and cluster.fetches == 1
    with pytest.raises(ImageError, match="neither on this host nor in the cluster"):
        images.acquire("faas/other:1", revision=1)
    with pytest.raises(ImageError, match="this host has neither Docker nor the cluster"):
        ImageStore(None, tmp_path, 2**30, None).acquire(IMAGE, revision=2)
