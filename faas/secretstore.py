"""Function secrets: values encrypted with Fernet, kept in a NATS key-value bucket.

Values never appear in logs or in exception messages; only names do.
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import nats.errors
import nats.js.errors
from cryptography.fernet import Fernet, InvalidToken
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from faas import bus, layout
from faas.errors import Error, SpecError
from faas.spec import check_name

log = logging.getLogger(__name__)

KEY_FILE = "secrets.key"


class SecretError(Error):
    """A secret cannot be stored or read."""


class SecretNotFound(SecretError, LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"secret {name!r} does not exist")


class SecretExists(SecretError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"secret {name!r} already exists")


def check_secret_name(name: object) -> str:
    """Return `name` if it is a valid secret name (the rule of function names)."""
    try:
        return check_name(name)  # type: ignore[arg-type]
    except SpecError:
        raise SpecError(
            f"invalid secret name {name!r}: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        ) from None


def ensure_key(path: Path) -> Path:
    """Create a Fernet key file (mode 0600) unless one exists; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key() + b"\n")
    return path


def load_key(path: Path) -> Fernet:
    """The cipher of the key in `path`; raise Error if it is missing or not a Fernet key."""
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise Error(f"cannot read the secrets key {path}: {exc.strerror}") from None
    try:
        return Fernet(raw)
    except (ValueError, TypeError):
        raise Error(f"{path} is not a secrets key (a Fernet key, 32 bytes in base64)") from None


class SecretStore:
    """Create, list, update and delete secrets; read their values back, decrypted."""

    def __init__(self, kv: KeyValue, cipher: Fernet) -> None:
        self.kv = kv
        self.cipher = cipher

    @classmethod
    async def open(cls, js: JetStreamContext, key_file: Path) -> SecretStore:
        cipher = load_key(key_file)
        return cls(await layout.bucket(js, bus.SECRETS_BUCKET), cipher)

    async def list(self) -> list[str]:
        try:
            return sorted(await self.kv.keys())
        except nats.js.errors.NoKeysError:
            return []

    async def create(self, name: str, value: bytes) -> None:
        try:
            await self.kv.create(check_secret_name(name), self.cipher.encrypt(value))
        except nats.js.errors.KeyWrongLastSequenceError:
            raise SecretExists(name) from None
        log.info("secret %s created", name)

    async def update(self, name: str, value: bytes) -> None:
        revision = await self._revision(name)
        try:
            await self.kv.update(name, self.cipher.encrypt(value), last=revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise SecretError(f"secret {name!r} changed meanwhile: try again") from None
        log.info("secret %s updated", name)

    async def delete(self, name: str) -> None:
        await self._revision(name)
        await self.kv.purge(name)
        log.info("secret %s deleted", name)

    async def missing(self, names: Iterable[str]) -> builtins.list[str]:
        """Those of `names` that are not stored."""
        gone = []
        for name in names:
            try:
                await self._revision(name)
            except SecretNotFound:
                gone.append(name)
        return gone

    async def get_values(self, names: Iterable[str]) -> dict[str, bytes]:
        """The decrypted values of `names`; raise SecretNotFound for the first one missing."""
        return {name: await self._value(name) for name in names}

    async def _value(self, name: str) -> bytes:
        entry = await self._entry(name)
        try:
            return self.cipher.decrypt(entry.value or b"")
        except InvalidToken:
            raise SecretError(f"secret {name!r} cannot be decrypted with this key") from None

    async def _revision(self, name: str) -> int:
        return int((await self._entry(name)).revision or 0)

    async def _entry(self, name: str) -> KeyValue.Entry:
        try:
            check_secret_name(name)
            return await self.kv.get(name)
        except (SpecError, nats.js.errors.KeyNotFoundError):
            raise SecretNotFound(name) from None
        except nats.errors.Error as exc:
            raise SecretError(f"cannot read secret {name!r}: {type(exc).__name__}") from None
