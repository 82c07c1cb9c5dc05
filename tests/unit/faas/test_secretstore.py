"""Unit tests of faas.secretstore: the key file, and the store on a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
from cryptography.fernet import Fernet
from nats.js.errors import NotFoundError

from faas import bus
from faas.errors import Error, SpecError
from faas.secretstore import (
    SecretError,
    SecretExists,
    SecretNotFound,
    SecretStore,
    ensure_key,
    load_key,
)
from tests import natsserver

# the key file


def test_ensure_key_creates_a_private_fernet_key_once(tmp_path: Path) -> None:
    path = ensure_key(tmp_path / "data" / "secrets.key")
    first = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Fernet(first.strip())
    ensure_key(path)
    assert path.read_bytes() == first  # an existing key is kept


def test_load_key_refuses_a_missing_or_bad_file_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(Error, match="cannot read the secrets key"):
        load_key(tmp_path / "none")
    bad = tmp_path / "bad"
    bad.write_text("not-a-key-at-all")
    with pytest.raises(Error, match="is not a secrets key") as caught:
        load_key(bad)
    assert "not-a-key-at-all" not in str(caught.value)


# the store, on a real nats-server


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data: Path = tmp_path_factory.mktemp("nats")
    with natsserver.running(data) as url:
        yield url, data


@contextlib.asynccontextmanager
async def opened(url: str, key: Path) -> AsyncIterator[SecretStore]:
    """A store on a fresh bucket; the connection is closed at the end."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        with contextlib.suppress(NotFoundError):  # left by an earlier test of this module
            await js.delete_key_value(bus.SECRETS_BUCKET)
        yield await SecretStore.open(js, key)
    finally:
        await nc.close()


def run(
    nats_server: tuple[str, Path], key: Path, body: Callable[[SecretStore], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with opened(nats_server[0], key) as store:
            await body(store)

    asyncio.run(main())


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return ensure_key(tmp_path / "secrets.key")


def test_create_list_get_update_delete(nats_server: tuple[str, Path], key: Path) -> None:
    async def body(store: SecretStore) -> None:
        assert await store.list() == []
        await store.create("api-key", b"s3cret")
        await store.create("bin", b"\x00\xff")
        assert await store.list() == ["api-key", "bin"]
        assert await store.get_values(["api-key", "bin"]) == {
            "api-key": b"s3cret",
            "bin": b"\x00\xff",
        }
        await store.update("api-key", b"other")
        assert await store.get_values(["api-key"]) == {"api-key": b"other"}
        await store.delete("api-key")
        assert await store.list() == ["bin"]
        assert await store.missing(["api-key", "bin", "Bad_Name"]) == ["api-key", "Bad_Name"]
        await store.create("api-key", b"again")  # a deleted name can be used again
        assert await store.get_values(["api-key"]) == {"api-key": b"again"}

    run(nats_server, key, body)


def test_errors_name_the_secret_and_never_the_value(
    nats_server: tuple[str, Path], key: Path
) -> None:
    async def body(store: SecretStore) -> None:
        await store.create("api-key", b"s3cret")
        with pytest.raises(SecretExists, match="secret 'api-key' already exists") as exists:
            await store.create("api-key", b"s3cret")
        assert "s3cret" not in str(exists.value)
        for action in (
            store.update("gone", b"v"),
            store.delete("gone"),
            store.get_values(["gone"]),
        ):
            with pytest.raises(SecretNotFound, match="secret 'gone' does not exist"):
                await action
        with pytest.raises(SpecError, match="invalid secret name"):
            await store.create("Bad_Name", b"v")

    run(nats_server, key, body)


def test_values_are_encrypted_at_rest(nats_server: tuple[str, Path], key: Path) -> None:
    value = b"plain-text-canary-4f1c9a"
    cipher = Fernet(key.read_bytes().strip())

    async def body(store: SecretStore) -> None:
        await store.create("canary", value)
        stored = await store.kv.get("canary")
        assert stored.value and value not in stored.value
        assert cipher.decrypt(stored.value) == value

    run(nats_server, key, body)
    files = [p for p in nats_server[1].rglob("*") if p.is_file()]
    assert files and not any(value in p.read_bytes() for p in files)


def test_another_key_cannot_read_the_values(
    nats_server: tuple[str, Path], key: Path, tmp_path: Path
) -> None:
    other = ensure_key(tmp_path / "other.key")

    async def body(store: SecretStore) -> None:
        await store.create("api-key", b"s3cret")
        thief = SecretStore(store.kv, load_key(other))
        with pytest.raises(SecretError, match="cannot be decrypted") as caught:
            await thief.get_values(["api-key"])
        assert "s3cret" not in str(caught.value)

    run(nats_server, key, body)
