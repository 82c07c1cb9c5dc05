"""A call's secrets as read-only files, in a private folder that lives as long as the call."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from nats.js import JetStreamContext

from faas.secretstore import SecretError, SecretStore, check_secret_name

log = logging.getLogger(__name__)

SECRETS_PATH = "/var/openfaas/secrets"  # where a function finds them, as in OpenFaaS
PREFIX = "faas-secrets-"
READ_TIMEOUT = 10.0
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")

SecretProvider = Callable[[list[str]], dict[str, bytes]]


class SecretSource:
    """Secret values for runner threads, read from the store on the watchdog's event loop."""

    def __init__(self, key_file: Path, timeout: float = READ_TIMEOUT) -> None:
        self.key_file = key_file
        self.timeout = timeout
        self._store: SecretStore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, js: JetStreamContext) -> None:
        self._store = await SecretStore.open(js, self.key_file)
        self._loop = asyncio.get_running_loop()

    def __call__(self, names: list[str]) -> dict[str, bytes]:
        """The values of `names`; blocking, so call it from a thread, not from the loop."""
        if self._store is None or self._loop is None:
            raise SecretError("the secret store is not open yet")
        future = asyncio.run_coroutine_threadsafe(self._store.get_values(names), self._loop)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise SecretError(f"secrets not read within {self.timeout:g}s") from None


@contextlib.contextmanager
def secret_files(
    names: list[str], provider: SecretProvider | None, owner: str = ""
) -> Iterator[Path | None]:
    """A folder of the call's secrets (None when it has none), removed whatever happens.

    Its name carries `owner` (the watchdog's id), so that `remove_leftovers` finds the
    folders a killed run of that watchdog could not remove.
    """
    if not names:
        yield None
        return
    if provider is None:
        raise SecretError("the function names secrets, but this watchdog has no secrets key")
    folder = write_folder(provider(names), prefix=folder_prefix(owner))
    try:
        yield folder
    finally:
        remove_folder(folder)


def remove_leftovers(owner: str, parent: Path | None = None) -> int:
    """Remove the secret folders an earlier run of this watchdog left (it was killed)."""
    base = parent or Path(tempfile.gettempdir())
    found = list(base.glob(folder_prefix(owner) + "*"))
    for outer in found:
        shutil.rmtree(outer, ignore_errors=True)
    return len(found)


def folder_prefix(owner: str) -> str:
    return f"{PREFIX}{safe_name(owner)}-" if owner else PREFIX


def safe_name(owner: str) -> str:
    """A watchdog id as a file name: what a file name cannot hold becomes `_`."""
    return _SAFE.sub("_", owner)


def write_folder(
    values: dict[str, bytes], parent: Path | None = None, prefix: str = PREFIX
) -> Path:
    """Write one file (0444) per secret into a 0755 folder under a fresh 0700 one; return it.

    The outer folder keeps other host users out; the container sees only the inner one,
    which any user in it may read, whatever its uid.
    """
    outer = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        inner = outer / "secrets"
        inner.mkdir()
        inner.chmod(0o755)
        for name, value in values.items():
            _write(inner / check_secret_name(name), value)
    except OSError as exc:
        shutil.rmtree(outer, ignore_errors=True)
        raise SecretError(f"cannot write the secret files: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(outer, ignore_errors=True)
        raise
    return inner


def _write(path: Path, value: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as out:
        out.write(value)
    path.chmod(0o444)


def remove_folder(inner: Path) -> None:
    """Remove a folder `write_folder` made, with its private parent."""
    try:
        shutil.rmtree(inner.parent)
    except OSError as exc:
        log.warning("cannot remove secret folder %s: %s", inner.parent, exc.strerror)
