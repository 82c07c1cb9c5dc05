"""Images as root filesystems: unpacked once per image id from the local Docker image store,
or fetched from the cluster's (faas.images) when the host does not have the image."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from faas.errors import Error
from faas.images import ImageConfig, ImageCorrupt, full_tag, has_registry
from watchdog.clusterimages import ClusterImages

log = logging.getLogger(__name__)

# Mount points every container needs, made in each root filesystem once, so that a shared
# read-only root needs no change at run time.
MOUNT_DIRS = ("proc", "sys", "dev", "tmp", "var/openfaas/secrets", ".faas")
MOUNT_FILES = ("etc/hosts", "etc/hostname", "etc/resolv.conf", ".faas/busybox")


FULL = 1 << 20  # free bytes below which a failed unpack is put down to a full disk
MANIFEST = "manifest"  # digest of a root filesystem's every path, mode, size and content


class ImageError(Exception):
    """An image that cannot be run here; the message names it and says why."""


class NotUnpacked(ImageError):
    """The image's root filesystem is not there yet, and was not to be made now."""


@dataclass(frozen=True)
class Image:
    config: ImageConfig
    rootfs: Path


class ImageStore:
    """Root filesystems under `root`, one folder per image id, kept within `max_bytes`.

    A tag is looked up once per function revision, in Docker, else in the cluster: a new
    `faas deploy` makes the next call see a new build of the same tag. An image Docker does
    not have is fetched from the cluster. A root filesystem in use is never removed.
    """

    def __init__(
        self,
        client: docker.DockerClient | None,
        root: Path,
        max_bytes: int,
        cluster: ClusterImages | None = None,
    ) -> None:
        self.client = client
        self.cluster = cluster
        self.root = root
        self.max_bytes = max_bytes
        self._tags: dict[tuple[str, int], ImageConfig] = {}
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}
        self._users: dict[str, int] = {}  # image id -> calls using its root filesystem
        self._checked: set[str] = set()  # image ids whose root filesystem this process checked
        self._used: dict[str, float] = {}  # image id -> last use, for removal of the oldest

    def start(self) -> None:
        """Remove folders a killed run left half made."""
        self.root.mkdir(parents=True, exist_ok=True)
        for partial in self.root.glob(".new-*"):
            shutil.rmtree(partial, ignore_errors=True)

    def acquire(self, image: str, revision: int, unpack: bool = True) -> Image:
        """The image's root filesystem, kept until `release`; made if need be, unless
        `unpack` is False (then NotUnpacked: unpacking is for a call to wait for)."""
        config = self.config_of(image, revision)
        if not unpack and not self._unpacked(config):
            raise NotUnpacked(f"image {image} is not unpacked yet")
        with self._lock:
            self._users[config.image_id] = self._users.get(config.image_id, 0) + 1
        try:
            return Image(config, self._rootfs(image, config))
        except BaseException:
            self.release(config.image_id)
            raise

    def release(self, image_id: str) -> None:
        with self._lock:
            self._users[image_id] -= 1
            self._used[image_id] = time.monotonic()

    def config_of(self, image: str, revision: int) -> ImageConfig:
        """The image's config; looked up again for a new revision, or always for revision 0."""
        key = (image, revision)
        config = self._tags.get(key) if revision else None
        if config is None:
            config = self._inspect(image)
            if revision:
                self._tags = {k: v for k, v in self._tags.items() if k[0] != image} | {key: config}
        return config

    def _inspect(self, image: str) -> ImageConfig:
        try:
            if self.client is not None:
                return ImageConfig.from_inspect(self.client.api.inspect_image(image))
        except ImageNotFound:
            if has_registry(image):
                return self._pull(self.client, image)
            if self.cluster is None:
                raise ImageError(f"image {image} is not on this host") from None
        except DockerException as exc:
            raise ImageError(f"cannot look up image {image}: {exc}") from exc
        if self.cluster is None:
            raise ImageError(f"image {image}: this host has neither Docker nor the cluster")
        try:
            found = self.cluster.resolve(image)
        except Error as exc:
            raise ImageError(f"cannot look up image {image} in the cluster: {exc}") from None
        if found is None:
            raise ImageError(f"image {image} is neither on this host nor in the cluster")
        return found

    def _pull(self, client: docker.DockerClient, image: str) -> ImageConfig:
        """An image of a registry, pulled into the host's Docker (the cluster keeps none)."""
        started = time.monotonic()
        try:
            client.api.pull(full_tag(image))
            inspected = client.api.inspect_image(image)
        except DockerException as exc:
            raise ImageError(f"cannot pull image {image} from its registry: {exc}") from None
        log.info("image %s pulled in %.2fs", image, time.monotonic() - started)
        return ImageConfig.from_inspect(inspected)

    def _folder(self, config: ImageConfig) -> Path:
        return self.root / config.image_id.removeprefix("sha256:")

    def _unpacked(self, config: ImageConfig) -> bool:
        return (self._folder(config) / "rootfs" / ".faas").is_dir()

    def _rootfs(self, image: str, config: ImageConfig) -> Path:
        folder = self._folder(config)
        if config.image_id in self._checked:
            return folder / "rootfs"
        with self._lock:
            making = self._making.setdefault(config.image_id, threading.Lock())
        with making:
            if config.image_id not in self._checked:
                self._make_or_check(image, config, folder)
                self._checked.add(config.image_id)
        return folder / "rootfs"

    def _make_or_check(self, image: str, config: ImageConfig, folder: Path) -> None:
        """Make the root filesystem, or check the one kept against its manifest (once per
        process): one that no longer matches is made again."""
        rootfs = folder / "rootfs"
        if self._unpacked(config) and not intact(folder):
            log.warning("the root filesystem of image %s is corrupt: making it again", image)
            shutil.rmtree(folder)
        if self._unpacked(config):
            return
        if rootfs.is_dir():
            prepare_rootfs(rootfs)  # unpacked by an older version
        else:
            self._unpack(image, config, folder)
            self.collect()

    def _unpack(self, image: str, config: ImageConfig, folder: Path) -> None:
        """Export a container of the image into a new folder, then move it in place whole."""
        started = time.monotonic()
        partial = self.root / f".new-{uuid.uuid4().hex}"
        (partial / "rootfs").mkdir(parents=True)
        try:
            self._export(config.image_id, partial / "rootfs")
            prepare_rootfs(partial / "rootfs")
            (partial / MANIFEST).write_text(manifest(partial / "rootfs"))
            (partial / "config.json").write_text(json.dumps(asdict(config)))
            (partial / "size").write_text(str(_size(partial / "rootfs")))
            partial.rename(folder)
        except ImageError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise ImageError(f"cannot unpack image {image}: {exc}") from None
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise ImageError(f"cannot unpack image {image}: {exc.strerror or exc}") from None
        log.info("image %s unpacked in %.2fs", image, time.monotonic() - started)

    def _export(self, image_id: str, target: Path) -> None:
        if self.client is None:
            if self.cluster is None:
                raise ImageError("this host has no Docker engine to export it from")
            return self._fetch(self.cluster, image_id, target)
        try:
            container = self.client.api.create_container(image_id, command=["/"], entrypoint=[])
        except ImageNotFound:
            if self.cluster is None:
                raise ImageError("it is not on this host") from None
            return self._fetch(self.cluster, image_id, target)
        except DockerException as exc:
            raise ImageError(str(exc)) from exc
        try:
            untar(self.client.api.export(container["Id"]), target)
        except DockerException as exc:
            raise ImageError(str(exc)) from exc
        finally:
            with contextlib.suppress(DockerException):
                self.client.api.remove_container(container["Id"], force=True)

    def _fetch(self, cluster: ClusterImages, image_id: str, target: Path) -> None:
        """Fetch the image's root filesystem from the cluster, then unpack it; a copy that
        fails its digest check is fetched once more."""
        started = time.monotonic()
        for attempt in (1, 2):
            with tempfile.TemporaryFile(dir=self.root) as tar:
                try:
                    size = cluster.fetch(image_id, tar)
                except ImageCorrupt as exc:
                    if attempt == 2:
                        raise ImageError(f"{exc}, twice") from None
                    log.warning("%s: fetching it again", exc)
                    continue
                except Error as exc:
                    raise ImageError(str(exc)) from None
                except OSError as exc:
                    raise ImageError(f"cannot write it here: {exc.strerror or exc}") from None
                tar.seek(0)
                untar(iter(lambda: tar.read(1 << 20), b""), target)
                log.info(
                    "image %s fetched from the cluster (%.1f MiB) in %.2fs",
                    image_id[:19],
                    size / 2**20,
                    time.monotonic() - started,
                )
                return

    def collect(self) -> None:
        """Remove the least recently used root filesystems not in use, down to `max_bytes`."""
        folders = [f for f in self.root.iterdir() if not f.name.startswith(".")]
        sizes = {f: _stored_size(f) for f in folders}
        total = sum(sizes.values())
        with self._lock:
            idle = [f for f in folders if not self._users.get("sha256:" + f.name)]
            idle.sort(key=lambda f: self._used.get("sha256:" + f.name, 0.0))
        for folder in idle:
            if total <= self.max_bytes:
                break
            log.info("removing the unused root filesystem of image %s", folder.name[:12])
            self._checked.discard("sha256:" + folder.name)
            shutil.rmtree(folder, ignore_errors=True)
            total -= sizes[folder]


def untar(chunks: Iterable[bytes], target: Path) -> None:
    """Unpack a tar stream into `target` with tar(1): it keeps owners, modes and links.

    Its messages go to a file: on a full disk it writes one per file, and a pipe of them
    nobody reads while its input is written would stop both.
    """
    with tempfile.TemporaryFile() as errors:
        tar = subprocess.Popen(
            ["tar", "-x", "-C", str(target), "--numeric-owner", "-f", "-"],
            stdin=subprocess.PIPE,
            stderr=errors,
        )
        assert tar.stdin is not None
        try:
            for chunk in chunks:
                tar.stdin.write(chunk)
            tar.stdin.close()
        except BrokenPipeError:
            pass  # tar stopped: its message says why
        finally:
            code = tar.wait()
        errors.seek(0)
        text = errors.read(4096).decode(errors="replace").strip()
    if code != 0:
        raise ImageError(_tar_failure(text, target) or f"tar exited with code {code}")


def _tar_failure(text: str, target: Path) -> str:
    """What went wrong, in tar's words; a full disk said plainly (tar may only say that a
    write came up short)."""
    if "No space left" not in text and _free(target) < FULL:
        return f"No space left on device ({_free(target) // 1024} KiB free)"
    lines = text.splitlines()
    return next((line for line in lines if "No space left" in line), lines[0] if lines else "")


def _free(path: Path) -> int:
    try:
        stat = os.statvfs(path)
    except OSError:
        return FULL
    return stat.f_bavail * stat.f_frsize


def prepare_rootfs(rootfs: Path) -> None:
    """Make the mount points every container of this image needs.

    The image is untrusted: a path through a symlink is left alone (it could point out of the
    root filesystem); runc resolves those within the root when it mounts.
    """
    for name in MOUNT_DIRS:
        if _inside(rootfs, name):
            (rootfs / name).mkdir(parents=True, exist_ok=True)
    if _inside(rootfs, "tmp"):
        (rootfs / "tmp").chmod(0o1777)
    for name in MOUNT_FILES:
        path = rootfs / name
        if _inside(rootfs, name) and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


def _inside(rootfs: Path, name: str) -> bool:
    """Whether no part of `name` below `rootfs` is a symlink."""
    path = rootfs
    for part in Path(name).parts:
        path = path / part
        if path.is_symlink():
            return False
    return True


def manifest(rootfs: Path) -> str:
    """A SHA-256 over every path below `rootfs` with its type, mode, size and content (a
    symlink's target): any change to the tree changes it."""
    digest = hashlib.sha256()
    for top, dirs, files in os.walk(rootfs):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(top) / name
            info = path.lstat()
            digest.update(f"{path.relative_to(rootfs)}\0{info.st_mode:o}\0".encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(info.st_mode):
                digest.update(f"{info.st_size}\0".encode())
                with path.open("rb") as content:
                    while chunk := content.read(1 << 20):
                        digest.update(chunk)
            digest.update(b"\n")
    return digest.hexdigest()


def intact(folder: Path) -> bool:
    """Whether the root filesystem matches the manifest written when it was made (one made
    by an older version, without a manifest, is taken as it is)."""
    try:
        expected = (folder / MANIFEST).read_text().strip()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        return manifest(folder / "rootfs") == expected
    except OSError:
        return False


def _size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if not path.is_symlink() and path.is_file():
                total += path.stat().st_size
    return total


def _stored_size(folder: Path) -> int:
    try:
        return int((folder / "size").read_text())
    except (OSError, ValueError):
        return _size(folder)
