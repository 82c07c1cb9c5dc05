"""Unit tests of faas.settings: the watchdog's runtime settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas.errors import Error
from faas.settings import WatchdogSettings


def test_runtime_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAAS_RUNTIME", "FAAS_RUNC", "FAAS_RUN_DIR", "FAAS_STATE_DIR", "FAAS_AHEAD"):
        monkeypatch.delenv(name, raising=False)
    settings = WatchdogSettings.from_env()
    assert settings.runtime == "auto"
    assert settings.runc == "runc"
    assert settings.run_dir == WatchdogSettings().run_dir
    assert settings.ahead == WatchdogSettings().ahead == 2
    assert settings.seccomp_32bit is False


def test_runtime_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_RUNTIME", "docker")
    monkeypatch.setenv("FAAS_RUNC", "/opt/runc")
    monkeypatch.setenv("FAAS_RUN_DIR", "/tmp/run")
    monkeypatch.setenv("FAAS_STATE_DIR", "/tmp/state")
    monkeypatch.setenv("FAAS_AHEAD", "0")
    monkeypatch.setenv("FAAS_SECCOMP_32BIT", "yes")
    settings = WatchdogSettings.from_env()
    assert (settings.runtime, settings.runc) == ("docker", "/opt/runc")
    assert (settings.run_dir, settings.state_dir) == (Path("/tmp/run"), Path("/tmp/state"))
    assert settings.ahead == 0
    assert settings.seccomp_32bit is True


def test_an_unknown_runtime_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_RUNTIME", "crun")
    with pytest.raises(Error, match="FAAS_RUNTIME must be one of auto, runc, docker"):
        WatchdogSettings.from_env()
