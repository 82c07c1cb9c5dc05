"""Unit tests of faas.settings, from the environment and from the CLI's options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli import main
from faas.basicauth import BasicAuth, write_secrets
from faas.errors import Error
from faas.settings import DEFAULT_NATS_URL, GatewaySettings, UpSettings, WatchdogSettings


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
    monkeypatch.setenv("FAAS_RUNTIME", "kata")
    with pytest.raises(Error, match="FAAS_RUNTIME must be one of auto, crun, runc, docker"):
        WatchdogSettings.from_env()


def test_bad_numbers_in_the_environment_are_errors(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FAAS_RETENTION", "a week")
    with pytest.raises(Error, match="FAAS_RETENTION must be a number, not 'a week'"):
        GatewaySettings.from_env()
    environ.delenv("FAAS_RETENTION")
    environ.setenv("FAAS_AHEAD", "two")
    with pytest.raises(Error, match="FAAS_AHEAD must be an integer, not 'two'"):
        WatchdogSettings.from_env()


def test_an_empty_variable_is_unset(environ: pytest.MonkeyPatch) -> None:
    for name in ("FAAS_NATS_URL", "FAAS_GATEWAY_HOST", "FAAS_GATEWAY_PORT", "FAAS_RUNTIME"):
        environ.setenv(name, "")
    gateway, watchdog = GatewaySettings.from_env(), WatchdogSettings.from_env()
    assert (gateway.nats_url, gateway.host, gateway.port) == (DEFAULT_NATS_URL, "127.0.0.1", 8080)
    assert (watchdog.nats_url, watchdog.runtime) == (DEFAULT_NATS_URL, "auto")


# The CLI: the flag, else the variable, else the default. The servers and `faas up` are
# replaced by functions that keep the settings they were given.


@pytest.fixture
def started(environ: pytest.MonkeyPatch) -> list[Any]:
    """The settings objects `faas gateway`, `faas watchdog` and `faas up` start with."""
    seen: list[Any] = []

    async def serve(settings: Any) -> None:
        seen.append(settings)

    def up(settings: UpSettings) -> int:
        seen.append(settings)
        return 0

    environ.setattr("gateway.main.serve", serve)
    environ.setattr("watchdog.main.serve", serve)
    environ.setattr("cli.up.up", up)
    return seen


def start(started: list[Any], *argv: str) -> Any:
    """The settings `faas ARGV` starts its server with."""
    assert main(list(argv)) == 0
    [settings] = started
    return settings


def test_gateway_defaults_are_the_dataclass_defaults(started: list[Any]) -> None:
    settings = start(started, "gateway")
    assert settings == GatewaySettings(gateway_id=settings.gateway_id)


def test_gateway_variables_take_effect(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variables = {
        "FAAS_NATS_URL": "nats://env:1",
        "FAAS_GATEWAY_HOST": "0.0.0.0",
        "FAAS_GATEWAY_PORT": "9001",
        "FAAS_MAX_BODY": "1000",
        "FAAS_RETENTION": "60",
        "FAAS_DEDUP_WINDOW": "5",
        "FAAS_LEASE": "7",
        "FAAS_BASIC_AUTH_USER": "env-user",
        "FAAS_BASIC_AUTH_PASSWORD": "env-pw",
        "FAAS_INVOKE_AUTH": "true",
        "FAAS_SECRETS_KEY_FILE": str(tmp_path / "env.key"),
        "FAAS_NATS_REPLICAS": "3",
    }
    for name, value in variables.items():
        environ.setenv(name, value)
    s = start(started, "gateway")
    assert s.nats_replicas == 3
    assert (s.nats_url, s.host, s.port, s.max_body) == ("nats://env:1", "0.0.0.0", 9001, 1000)
    assert (s.retention, s.dedup_window, s.lease) == (60.0, 5.0, 7.0)
    assert (s.auth_user, s.auth_password, s.invoke_auth) == ("env-user", "env-pw", True)
    assert s.secrets_key_file == tmp_path / "env.key"


def test_gateway_flags_beat_variables(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ.setenv("FAAS_NATS_URL", "nats://env:1")
    environ.setenv("FAAS_GATEWAY_HOST", "0.0.0.0")
    environ.setenv("FAAS_GATEWAY_PORT", "9001")
    environ.setenv("FAAS_MAX_BODY", "1000")
    environ.setenv("FAAS_SECRETS_KEY_FILE", str(tmp_path / "env.key"))
    flags = ["--nats", "nats://flag:2", "--host", "127.0.0.2", "--port", "9002"]
    environ.setenv("FAAS_NATS_REPLICAS", "3")
    flags += ["--max-body", "2000", "--secrets-key", str(tmp_path / "flag.key")]
    flags += ["--nats-replicas", "5"]
    s = start(started, "gateway", *flags)
    assert s.nats_replicas == 5
    assert (s.nats_url, s.host, s.port, s.max_body) == ("nats://flag:2", "127.0.0.2", 9002, 2000)
    assert s.secrets_key_file == tmp_path / "flag.key"


def test_gateway_auth_dir_beats_the_mount_path_which_beats_the_variables(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mounted, flagged = tmp_path / "mounted", tmp_path / "flagged"
    for folder, user in ((mounted, "mounted"), (flagged, "flagged")):
        folder.mkdir()
        write_secrets(folder, BasicAuth(user, "pw"))
    environ.setenv("FAAS_BASIC_AUTH_USER", "env-user")
    environ.setenv("FAAS_BASIC_AUTH_PASSWORD", "env-pw")
    assert start(started, "gateway").auth_user == "env-user"
    environ.setenv("FAAS_SECRET_MOUNT_PATH", str(mounted))
    started.clear()
    assert start(started, "gateway").auth_user == "mounted"
    started.clear()
    assert start(started, "gateway", "--auth-dir", str(flagged)).auth_user == "flagged"


def test_watchdog_defaults_are_the_dataclass_defaults(started: list[Any]) -> None:
    assert start(started, "watchdog") == WatchdogSettings()


def test_watchdog_variables_take_effect(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variables = {
        "FAAS_NATS_URL": "nats://env:1",
        "FAAS_CAPACITY": "3",
        "FAAS_WATCHDOG_ID": "env-id",
        "FAAS_GRACE": "4.5",
        "FAAS_SECRETS_KEY_FILE": str(tmp_path / "env.key"),
        "FAAS_RUNTIME": "docker",
        "FAAS_RUNC": "/opt/runc",
        "FAAS_RUN_DIR": str(tmp_path / "run"),
        "FAAS_STATE_DIR": str(tmp_path / "state"),
        "FAAS_IMAGE_CACHE_BYTES": "1024",
        "FAAS_BRIDGE_SUBNET": "10.9.0.0/16",
        "FAAS_AHEAD": "0",
        "FAAS_AHEAD_TOTAL": "1",
        "FAAS_SECCOMP_32BIT": "true",
        "FAAS_RETENTION": "60",
        "FAAS_DEDUP_WINDOW": "5",
        "FAAS_LEASE": "7",
        "DOCKER_HOST": "tcp://docker:2375",
        "FAAS_NATS_REPLICAS": "3",
    }
    for name, value in variables.items():
        environ.setenv(name, value)
    s = start(started, "watchdog")
    assert s.nats_replicas == 3
    assert (s.nats_url, s.capacity, s.watchdog_id, s.grace) == ("nats://env:1", 3, "env-id", 4.5)
    assert (s.secrets_key_file, s.runtime, s.runc) == (tmp_path / "env.key", "docker", "/opt/runc")
    assert (s.run_dir, s.state_dir) == (tmp_path / "run", tmp_path / "state")
    assert (s.image_cache_bytes, s.bridge_subnet) == (1024, "10.9.0.0/16")
    assert (s.ahead, s.ahead_total, s.seccomp_32bit) == (0, 1, True)
    assert (s.retention, s.dedup_window, s.lease) == (60.0, 5.0, 7.0)
    assert s.docker_url == "tcp://docker:2375"


def test_watchdog_flags_beat_variables(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ.setenv("FAAS_NATS_URL", "nats://env:1")
    environ.setenv("FAAS_CAPACITY", "3")
    environ.setenv("FAAS_WATCHDOG_ID", "env-id")
    environ.setenv("FAAS_GRACE", "4.5")
    environ.setenv("FAAS_SECRETS_KEY_FILE", str(tmp_path / "env.key"))
    environ.setenv("FAAS_RUNTIME", "docker")
    environ.setenv("FAAS_NATS_REPLICAS", "3")
    flags = ["--nats", "nats://a:1,nats://b:2", "--capacity", "5", "--id", "flag-id"]
    flags += ["--grace", "1", "--secrets-key", str(tmp_path / "flag.key"), "--runtime", "runc"]
    flags += ["--nats-replicas", "2"]
    s = start(started, "watchdog", *flags)
    assert (s.nats_url, s.nats_replicas) == ("nats://a:1,nats://b:2", 2)
    assert (s.capacity, s.watchdog_id, s.grace) == (5, "flag-id", 1.0)
    assert (s.secrets_key_file, s.runtime) == (tmp_path / "flag.key", "runc")


def test_up_defaults_are_the_dataclass_defaults(
    started: list[Any], environ: pytest.MonkeyPatch, free_port: int
) -> None:
    environ.setenv("FAAS_GATEWAY_PORT", str(free_port))  # 8080 may have a gateway: it would deploy
    assert start(started, "up") == UpSettings(port=free_port)


def test_up_variables_take_effect(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path, free_port: int
) -> None:
    environ.setenv("FAAS_GATEWAY_PORT", str(free_port))
    environ.setenv("FAAS_NATS_PORT", "4333")
    environ.setenv("FAAS_DATA_DIR", str(tmp_path / "data"))
    environ.setenv("FAAS_MAX_BODY", "1000")
    environ.setenv("FAAS_CAPACITY", "3")
    environ.setenv("FAAS_INVOKE_AUTH", "yes")
    environ.setenv("FAAS_NATS_CLUSTER", "3")
    s = start(started, "up")
    assert (s.nats_cluster, s.nats_ports, s.nats_replicas) == (3, [4333, 4334, 4335], 3)
    assert s.nats_dir(4334) == tmp_path / "data" / "nats-4334"
    assert (s.port, s.nats_port, s.data_dir) == (free_port, 4333, tmp_path / "data")
    assert (s.max_body, s.capacity, s.invoke_auth) == (1000, 3, True)


def test_up_flags_beat_variables(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path, free_port: int
) -> None:
    port = free_port
    environ.setenv("FAAS_GATEWAY_PORT", "1")
    environ.setenv("FAAS_NATS_PORT", "4333")
    environ.setenv("FAAS_DATA_DIR", str(tmp_path / "env"))
    environ.setenv("FAAS_MAX_BODY", "1000")
    environ.setenv("FAAS_CAPACITY", "3")
    environ.setenv("FAAS_INVOKE_AUTH", "false")
    flags = ["--port", str(port), "--nats-port", "4444", "--data-dir", str(tmp_path / "flag")]
    flags += ["--max-body", "2000", "--capacity", "5", "--invoke-auth", "-f", "", "--no-watchdog"]
    s = start(started, "up", *flags)
    assert (s.port, s.nats_port, s.data_dir) == (port, 4444, tmp_path / "flag")
    assert (s.max_body, s.capacity, s.invoke_auth) == (2000, 5, True)
    assert (s.stack_file, s.watchdog) == (None, False)


def test_up_with_openfaas_url_builds_and_deploys_instead(
    started: list[Any], environ: pytest.MonkeyPatch, tmp_path: Path, free_port: int
) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("version: 1.0\nfunctions:\n  hello:\n    image: hello:latest\n")
    environ.setenv("OPENFAAS_URL", f"http://127.0.0.1:{free_port}")
    assert main(["up", "-f", str(stack), "--skip-build", "--skip-push", "--skip-deploy"]) == 0
    assert started == []


@pytest.mark.parametrize(
    ("argv", "variable", "value"),
    [
        (["gateway"], "FAAS_GATEWAY_PORT", "eighty"),
        (["gateway"], "FAAS_INVOKE_AUTH", "maybe"),
        (["watchdog"], "FAAS_CAPACITY", "0"),
        (["watchdog"], "FAAS_RUNTIME", "kata"),
        (["up"], "FAAS_NATS_PORT", "many"),
    ],
)
def test_a_bad_variable_is_a_usage_error_naming_it(
    started: list[Any],
    environ: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    variable: str,
    value: str,
) -> None:
    environ.setenv(variable, value)
    assert main(argv) == 2
    assert f"(env var: '{variable}')" in capsys.readouterr().err
    assert started == []


def test_one_nats_server_keeps_the_data_folder_and_sets_no_replicas() -> None:
    settings = UpSettings(data_dir=Path("d"), nats_port=5000)
    assert (settings.nats_ports, settings.nats_replicas) == ([5000], None)
    assert settings.nats_dir(5000) == Path("d")
    assert UpSettings(nats_cluster=5).nats_replicas == 3  # more copies only cost writes


def test_replicas_in_the_environment_are_checked(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FAAS_NATS_REPLICAS", "-1")
    with pytest.raises(Error, match="FAAS_NATS_REPLICAS"):
        GatewaySettings.from_env()
    environ.setenv("FAAS_NATS_REPLICAS", "")
    assert WatchdogSettings.from_env().nats_replicas is None
