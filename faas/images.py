"""Images kept in the cluster, so that a host that never built or pulled one can run it.

An image is stored once per image id in a JetStream object store: its flattened root
filesystem as a tar (what `docker export` writes), chunked, with a SHA-256 digest checked
by every reader, and its config (user, env, working directory, entrypoint, cmd) as the
object's description. A key-value bucket maps each tag to the id it was last pushed as;
an id no tag names any more is deleted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, field
from io import BufferedIOBase
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import ObjectInfo, ObjectMeta, ObjectMetaOptions
from nats.js.errors import (
    BucketNotFoundError,
    DigestMismatchError,
    KeyNotFoundError,
    NoKeysError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from faas import bus
from faas.errors import Error

CONFINEMENT_KEY = "confinement.v1"  # beside the tags (no tag's key has a dot): see below
CHUNK = 512 * 1024  # below the smallest max_payload a NATS server is run with (1 MiB)
IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")


class ImageCorrupt(Error):
    """What was read from the cluster does not match its digest."""


class ImageNotStored(Error, LookupError):
    def __init__(self, image_id: str, hint: str = "") -> None:
        super().__init__(f"image {image_id} is not in the cluster{hint}")


@dataclass(frozen=True)
class ImageConfig:
    """What an image says about running it (Docker's image config)."""

    image_id: str
    user: str = ""
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    @classmethod
    def from_inspect(cls, inspected: dict[str, Any]) -> ImageConfig:
        config = inspected.get("Config") or {}
        return cls(
            image_id=str(inspected["Id"]),
            user=config.get("User") or "",
            env=list(config.get("Env") or []),
            working_dir=config.get("WorkingDir") or "",
            entrypoint=list(config.get("Entrypoint") or []),
            cmd=list(config.get("Cmd") or []),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ImageConfig:
        """Parse a config sent by a client or read from the store; Error saying what is wrong."""
        try:
            data = json.loads(text)
            config = cls(**data) if isinstance(data, dict) else None
        except (ValueError, TypeError) as exc:
            raise Error(f"invalid image config: {exc}") from None
        if config is None or not _strings(config):
            raise Error("invalid image config: expected an object of strings and string lists")
        check_image_id(config.image_id)
        return config


def _strings(config: ImageConfig) -> bool:
    texts = (config.image_id, config.user, config.working_dir)
    lists = (config.env, config.entrypoint, config.cmd)
    return all(isinstance(t, str) for t in texts) and all(
        isinstance(items, list) and all(isinstance(i, str) for i in items) for items in lists
    )


@dataclass(frozen=True)
class StoredImage:
    config: ImageConfig
    size: int
    digest: str
    modified: str
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API's shape of it."""
        return {
            "imageId": self.config.image_id,
            "size": self.size,
            "digest": self.digest,
            "modified": self.modified,
            "tags": self.tags,
        }


def check_image_id(image_id: str) -> str:
    if not IMAGE_ID.fullmatch(image_id):
        raise Error(f"invalid image id {image_id!r}: expected sha256: and 64 hex digits")
    return image_id


def full_tag(image: str) -> str:
    """`faas/hello` as `faas/hello:latest`, as Docker reads a name without a tag."""
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in image else f"{image}:latest"


def has_registry(image: str) -> bool:
    """Whether the name starts with a registry host, as Docker reads it: a first part with
    a dot or a port, or `localhost`."""
    first, _, rest = image.partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


def _tag_key(tag: str) -> str:
    """A bucket key for any tag (keys allow neither `:` nor `@`)."""
    return base64.urlsafe_b64encode(full_tag(tag).encode()).decode().rstrip("=")


def _key_tag(key: str) -> str:
    try:
        return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return key


class ImageBank:
    """The cluster's images; every method is one or a few JetStream requests."""

    def __init__(self, store: ObjectStore, tags: KeyValue) -> None:
        self.store = store
        self.tags = tags

    @classmethod
    async def open(cls, js: JetStreamContext) -> ImageBank:
        """The bank faas.layout made (BucketNotFoundError before it did)."""
        store = await js.object_store(bus.IMAGES_BUCKET)
        return cls(store, await js.key_value(bus.IMAGE_TAGS_BUCKET))

    async def info(self, image_id: str) -> StoredImage | None:
        try:
            found = await self.store.get_info(image_id)
        except (ObjectNotFoundError, NotFoundError, BucketNotFoundError):
            return None
        return None if found.deleted else _stored(found)

    async def put(self, config: ImageConfig, rootfs: BufferedIOBase) -> StoredImage:
        """Store an image's root filesystem tar, read from `rootfs`, under its id."""
        meta = ObjectMeta(
            name=config.image_id,
            description=config.to_json(),
            options=ObjectMetaOptions(max_chunk_size=CHUNK),
        )
        return _stored(await self.store.put(config.image_id, rootfs, meta))

    async def fetch(self, image_id: str, into: BufferedIOBase) -> StoredImage:
        """Write the image's tar into `into`; ImageCorrupt if it fails its digest check."""
        try:
            got = await self.store.get(image_id, writeinto=into)
        except (ObjectNotFoundError, NotFoundError):
            raise ImageNotStored(image_id) from None
        except DigestMismatchError:
            raise ImageCorrupt(
                f"image {image_id} from the cluster failed its digest check"
            ) from None
        return _stored(got.info)

    async def tag(self, tag: str, image_id: str) -> str | None:
        """Point `tag` at a stored image; the id it named before, if that was deleted now."""
        if await self.info(image_id) is None:
            raise ImageNotStored(image_id, ": push it first")
        key = _tag_key(tag)
        try:
            before = (await self.tags.get(key)).value
        except KeyNotFoundError:
            before = None
        await self.tags.put(key, image_id.encode())
        old = before.decode() if before else None
        if old and old != image_id and not await self._named(old):
            await self.store.delete(old)
            return old
        return None

    async def resolve(self, image: str) -> StoredImage | None:
        """The stored image a tag (or an image id) names, if any."""
        if IMAGE_ID.fullmatch(image):
            return await self.info(image)
        try:
            entry = await self.tags.get(_tag_key(image))
        except KeyNotFoundError:
            return None
        return await self.info(entry.value.decode()) if entry.value else None

    async def stored(self) -> list[StoredImage]:
        """Every stored image with its tags, the newest first."""
        names = await self._tag_map()
        try:
            infos = await self.store.list()
        except NotFoundError:  # nats-py's answer for an empty store
            infos = []
        found = [_stored(i, names.get(i.name or "", [])) for i in infos if not i.deleted]
        return sorted(found, key=lambda s: s.modified, reverse=True)

    async def put_confinement(self, profile: dict[str, Any]) -> None:
        """Keep the confinement (seccomp filter, masked paths) a watchdog read from its Docker
        engine, for watchdogs on hosts without one."""
        await self.tags.put(CONFINEMENT_KEY, json.dumps(profile).encode())

    async def confinement(self) -> dict[str, Any] | None:
        try:
            entry = await self.tags.get(CONFINEMENT_KEY)
        except KeyNotFoundError:
            return None
        found = json.loads(entry.value or b"null")
        return found if isinstance(found, dict) else None

    async def _named(self, image_id: str) -> bool:
        return image_id in await self._tag_map()

    async def _tag_map(self) -> dict[str, list[str]]:
        """image id -> the tags that name it."""
        named: dict[str, list[str]] = {}
        try:
            keys = await self.tags.keys()
        except NoKeysError:
            return named
        for key in (k for k in keys if "." not in k):  # tags only
            try:
                value = (await self.tags.get(key)).value
            except KeyNotFoundError:
                continue
            if value:
                named.setdefault(value.decode(), []).append(_key_tag(key))
        return named


def _stored(info: ObjectInfo, tags: list[str] | None = None) -> StoredImage:
    config = ImageConfig.from_json(info.description or "")
    return StoredImage(config, info.size or 0, info.digest or "", info.mtime or "", tags or [])
