"""HTTP Basic credentials, and the secret files a gateway reads them from (OpenFaaS's layout)."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from faas.errors import Error

USER_FILE = "basic-auth-user"
PASSWORD_FILE = "basic-auth-password"
DEFAULT_USER = "admin"


@dataclass(frozen=True)
class BasicAuth:
    user: str
    password: str = field(repr=False)

    def header(self) -> str:
        """The value of an `Authorization` header carrying these credentials."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return f"Basic {token}"


def parse_header(value: str) -> tuple[bytes, bytes] | None:
    """User and password of a Basic `Authorization` header; None for any other header."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


def read_secrets(folder: Path) -> BasicAuth:
    """The files `basic-auth-user` and `basic-auth-password` in the folder; both must be set."""
    user, password = _read(folder / USER_FILE), _read(folder / PASSWORD_FILE)
    return BasicAuth(user, password)


def ensure_secrets(folder: Path) -> BasicAuth:
    """The folder's credentials; missing files are written first (user admin, a new password)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _create(folder / USER_FILE, DEFAULT_USER)
    _create(folder / PASSWORD_FILE, secrets.token_urlsafe(24))
    return read_secrets(folder)


def write_secrets(folder: Path, auth: BasicAuth) -> None:
    """Write both files into the folder; refuses to overwrite either."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path, text in ((folder / USER_FILE, auth.user), (folder / PASSWORD_FILE, auth.password)):
        if not _create(path, text):
            raise Error(f"{path} exists already")


def _create(path: Path, text: str) -> bool:
    """Write a new file readable by its owner alone; False when it exists already."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as file:
        file.write(text)
    return True


def _read(path: Path) -> str:
    try:
        text = path.read_text().strip()  # as OpenFaaS: a trailing newline is no part of it
    except OSError as exc:
        raise Error(f"cannot read the credentials file {path}: {exc.strerror}") from exc
    if not text:
        raise Error(f"the credentials file {path} is empty")
    return text
