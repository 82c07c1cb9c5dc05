"""The CLI's stored credentials, one entry per gateway URL, readable by their owner alone."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from faas.basicauth import BasicAuth
from faas.errors import Error


def store_path() -> Path:
    """`$XDG_CONFIG_HOME/faas/credentials.json`, by default under `~/.config`."""
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "faas" / "credentials.json"


def load(gateway: str) -> BasicAuth | None:
    """The credentials stored for the gateway, if any."""
    entry = _read(store_path()).get(_key(gateway))
    if not isinstance(entry, dict):
        return None
    user, password = entry.get("user"), entry.get("password")
    if not isinstance(user, str) or not isinstance(password, str):
        raise Error(f"{store_path()}: the entry for {_key(gateway)} is malformed")
    return BasicAuth(user, password)


def save(gateway: str, auth: BasicAuth) -> Path:
    """Store the credentials for the gateway, replacing any it had; returns the file."""
    path = store_path()
    gateways = _read(path)
    gateways[_key(gateway)] = {"user": auth.user, "password": auth.password}
    _write(path, gateways)
    return path


def remove(gateway: str) -> bool:
    """Forget the gateway's credentials; False when none were stored."""
    path = store_path()
    gateways = _read(path)
    if gateways.pop(_key(gateway), None) is None:
        return False
    _write(path, gateways)
    return True


def _key(gateway: str) -> str:
    return gateway.rstrip("/")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise Error(f"cannot read the credentials in {path}: {exc}") from exc
    gateways = data.get("gateways") if isinstance(data, dict) else None
    if not isinstance(gateways, dict):
        raise Error(f"cannot read the credentials in {path}: no 'gateways' object")
    return gateways


def _write(path: Path, gateways: dict[str, Any]) -> None:
    """Replace the file at once; mkstemp creates the new one with mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as file:
            json.dump({"gateways": gateways}, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
