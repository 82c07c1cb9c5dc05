"""Unit tests of cli.credentials: the CLI's per-gateway credentials file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from cli import credentials
from cli.client import client_for
from faas.basicauth import BasicAuth
from faas.errors import Error

LOCAL = "http://127.0.0.1:8080"
OTHER = "https://faas.example.com"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CONFIG_HOME in a fresh folder; HOME elsewhere, so a fallback to it shows."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "config"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_is_under_xdg_config_home(config: Path) -> None:
    assert credentials.store_path() == config / "faas" / "credentials.json"


def test_without_xdg_config_home_the_file_is_under_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert credentials.store_path() == tmp_path / ".config" / "faas" / "credentials.json"


def test_round_trip(config: Path) -> None:
    assert credentials.load(LOCAL) is None
    path = credentials.save(LOCAL, BasicAuth("admin", "pw"))
    assert path == config / "faas" / "credentials.json"
    assert credentials.load(LOCAL) == BasicAuth("admin", "pw")


def test_file_and_folder_are_for_their_owner_alone(config: Path) -> None:
    path = credentials.save(LOCAL, BasicAuth("admin", "pw"))
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    credentials.save(OTHER, BasicAuth("ops", "pw2"))  # rewritten: still 0600
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temporary left


def test_a_file_made_readable_by_others_is_replaced_by_a_private_one(config: Path) -> None:
    path = credentials.save(LOCAL, BasicAuth("admin", "pw"))
    path.chmod(0o644)
    credentials.save(LOCAL, BasicAuth("admin", "new"))
    assert mode(path) == 0o600


def test_each_gateway_has_its_own_entry(config: Path) -> None:
    credentials.save(LOCAL, BasicAuth("admin", "one"))
    credentials.save(OTHER + "/", BasicAuth("ops", "two"))
    assert credentials.load(LOCAL) == BasicAuth("admin", "one")
    assert credentials.load(OTHER) == BasicAuth("ops", "two")  # a trailing slash is the same
    assert credentials.load("http://127.0.0.1:9999") is None
    credentials.save(LOCAL, BasicAuth("admin", "three"))
    assert credentials.load(LOCAL) == BasicAuth("admin", "three")
    assert credentials.load(OTHER) == BasicAuth("ops", "two")
    stored = json.loads(credentials.store_path().read_text())
    assert set(stored["gateways"]) == {LOCAL, OTHER}


def test_remove_forgets_one_gateway(config: Path) -> None:
    credentials.save(LOCAL, BasicAuth("admin", "one"))
    credentials.save(OTHER, BasicAuth("ops", "two"))
    assert credentials.remove(LOCAL)
    assert not credentials.remove(LOCAL)
    assert credentials.load(LOCAL) is None
    assert credentials.load(OTHER) == BasicAuth("ops", "two")


def test_a_malformed_file_is_a_clear_error(config: Path) -> None:
    path = credentials.store_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(Error, match="cannot read the credentials"):
        credentials.load(LOCAL)
    path.write_text(json.dumps({"gateways": {LOCAL: {"user": "admin"}}}))
    with pytest.raises(Error, match="malformed"):
        credentials.load(LOCAL)


def test_the_password_is_not_in_the_repr() -> None:
    assert "pw" not in repr(BasicAuth("admin", "pw"))


def test_client_for_sends_the_stored_credentials(config: Path) -> None:
    assert client_for(LOCAL).auth is None
    credentials.save(LOCAL, BasicAuth("admin", "pw"))
    assert client_for(LOCAL).auth == BasicAuth("admin", "pw")
    assert client_for(OTHER).auth is None
