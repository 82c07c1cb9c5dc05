"""Unit tests of faas.basicauth's secret files, and of the gateway settings that read them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from faas.basicauth import (
    PASSWORD_FILE,
    USER_FILE,
    BasicAuth,
    ensure_secrets,
    read_secrets,
    write_secrets,
)
from faas.errors import Error
from faas.settings import GatewaySettings, UpSettings

AUTH_ENV = [
    "FAAS_SECRET_MOUNT_PATH",
    "FAAS_BASIC_AUTH_USER",
    "FAAS_BASIC_AUTH_PASSWORD",
    "FAAS_INVOKE_AUTH",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AUTH_ENV:
        monkeypatch.delenv(name, raising=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_generates_admin_and_a_strong_password_once(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "secrets"
    first = ensure_secrets(folder)
    assert first.user == "admin"
    assert len(first.password) >= 32
    assert mode(folder) == 0o700
    assert mode(folder / USER_FILE) == 0o600
    assert mode(folder / PASSWORD_FILE) == 0o600
    assert (folder / PASSWORD_FILE).read_text() == first.password
    assert ensure_secrets(folder) == first  # reused
    assert ensure_secrets(tmp_path / "again") != first  # a new password elsewhere


def test_ensure_uses_an_operators_files_as_they_are(tmp_path: Path) -> None:
    tmp_path.joinpath(USER_FILE).write_text("ops\n")
    tmp_path.joinpath(PASSWORD_FILE).write_text("their password\n")
    assert ensure_secrets(tmp_path) == BasicAuth("ops", "their password")
    assert tmp_path.joinpath(PASSWORD_FILE).read_text() == "their password\n"


def test_ensure_completes_a_folder_with_only_a_password(tmp_path: Path) -> None:
    tmp_path.joinpath(PASSWORD_FILE).write_text("given")
    assert ensure_secrets(tmp_path) == BasicAuth("admin", "given")


def test_write_then_read(tmp_path: Path) -> None:
    write_secrets(tmp_path / "s", BasicAuth("u", "p"))
    assert read_secrets(tmp_path / "s") == BasicAuth("u", "p")
    with pytest.raises(Error, match="exists"):
        write_secrets(tmp_path / "s", BasicAuth("u", "other"))


@pytest.mark.parametrize(
    "files", [{}, {USER_FILE: "admin"}, {USER_FILE: "admin", PASSWORD_FILE: " \n"}]
)
def test_read_refuses_missing_or_empty_files(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        tmp_path.joinpath(name).write_text(text)
    with pytest.raises(Error, match="credentials file"):
        read_secrets(tmp_path)


def test_settings_read_the_secret_mount_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_secrets(tmp_path, BasicAuth("file-user", "file-pw"))
    monkeypatch.setenv("FAAS_SECRET_MOUNT_PATH", str(tmp_path))
    monkeypatch.setenv("FAAS_BASIC_AUTH_USER", "env-user")  # the files win, as in OpenFaaS
    monkeypatch.setenv("FAAS_BASIC_AUTH_PASSWORD", "env-pw")
    settings = GatewaySettings.from_env()
    assert settings.basic_auth() == BasicAuth("file-user", "file-pw")
    assert not settings.invoke_auth


def test_settings_read_the_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_BASIC_AUTH_USER", "env-user")
    monkeypatch.setenv("FAAS_BASIC_AUTH_PASSWORD", "env-pw")
    monkeypatch.setenv("FAAS_INVOKE_AUTH", "true")
    settings = GatewaySettings.from_env()
    assert settings.basic_auth() == BasicAuth("env-user", "env-pw")
    assert settings.invoke_auth
    assert "env-pw" not in repr(settings)


def test_settings_without_credentials_have_auth_off() -> None:
    assert GatewaySettings.from_env().basic_auth() is None


def test_settings_refuse_a_secret_mount_path_without_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAAS_SECRET_MOUNT_PATH", str(tmp_path))
    with pytest.raises(Error, match=USER_FILE):
        GatewaySettings.from_env()


@pytest.mark.parametrize(
    "env",
    [
        {"FAAS_BASIC_AUTH_USER": "admin"},
        {"FAAS_BASIC_AUTH_PASSWORD": "pw"},
        {"FAAS_INVOKE_AUTH": "true"},
    ],
)
def test_settings_refuse_half_a_configuration(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Error):
        GatewaySettings.from_env().basic_auth()


def test_settings_refuse_an_unclear_invoke_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_INVOKE_AUTH", "maybe")
    with pytest.raises(Error, match="FAAS_INVOKE_AUTH"):
        GatewaySettings.from_env()


def test_use_secrets(tmp_path: Path) -> None:
    write_secrets(tmp_path, BasicAuth("u", "p"))
    settings = GatewaySettings()
    settings.use_secrets(tmp_path)
    assert settings.basic_auth() == BasicAuth("u", "p")


def test_up_keeps_its_secrets_in_the_data_dir() -> None:
    assert UpSettings(data_dir=Path("/srv/faas")).secrets_dir == Path("/srv/faas/secrets")
