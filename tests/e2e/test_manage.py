"""The management API and the CLI against a real gateway; `faas up` as a user runs it."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from faas.basicauth import BasicAuth
from tests.e2e.parts import ROOT, Parts, faas, free_port, stop, wait_for_watchdog

BUSYBOX = "faas/base-busybox:latest"


def test_deploy_update_describe_list_remove(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    with gateway.client() as http:
        body = {
            "service": "tool",
            "image": BUSYBOX,
            "envProcess": "cat",
            "labels": {"team": "a"},
            "annotations": {"note": "x"},
            "envVars": {"exec_timeout": "5s"},
            "limits": {"memory": "32Mi", "cpu": "0.5"},
        }
        assert http.post("/system/functions", json=body).status_code == 202
        first = http.get("/system/function/tool").json()
        assert first["name"] == "tool"
        assert first["image"] == BUSYBOX
        assert first["namespace"] == "openfaas-fn"
        assert first["labels"] == {"team": "a"}
        assert first["annotations"] == {"note": "x"}
        assert first["envProcess"] == "cat"
        assert first["limits"] == {"memory": "32Mi", "cpu": "0.5"}
        assert first["invocationCount"] == 0
        assert first["availableReplicas"] == 0  # no watchdog yet
        assert first["createdAt"]

        update = {**body, "labels": {"team": "b"}}
        assert http.put("/system/functions", json=update).status_code == 202
        second = http.get("/system/function/tool.openfaas-fn").json()
        assert second["labels"] == {"team": "b"}
        assert second["createdAt"] == first["createdAt"]
        assert [f["name"] for f in http.get("/system/functions").json()] == ["tool"]

        gone = {"functionName": "tool"}
        assert http.request("DELETE", "/system/functions", json=gone).status_code == 200
        assert http.get("/system/function/tool").status_code == 404
        assert http.get("/system/functions").json() == []


def test_management_errors(parts: Parts) -> None:
    gateway = parts.gateway(parts.nats())
    with gateway.client() as http:
        missing = {"service": "ghost", "image": BUSYBOX}
        assert http.put("/system/functions", json=missing).status_code == 404
        delete = http.request("DELETE", "/system/functions", json={"functionName": "ghost"})
        assert delete.status_code == 404
        assert "ghost" in delete.text
        no_image = http.post("/system/functions", json={"service": "x"})
        assert no_image.status_code == 400
        assert "image" in no_image.text
        bad_name = http.post("/system/functions", json={"service": "Bad_Name", "image": "i"})
        assert bad_name.status_code == 400
        bad_memory = http.post(
            "/system/functions", json={"service": "x", "image": "i", "limits": {"memory": "lots"}}
        )
        assert bad_memory.status_code == 400
        assert "lots" in bad_memory.text
        assert http.post("/system/functions", content=b"{not json").status_code == 400
        bad_retry = http.post(
            "/system/functions",
            json={
                "service": "x",
                "image": "i",
                "annotations": {"com.openfaas.retry.attempts": "0"},
            },
        )
        assert bad_retry.status_code == 400
        assert "com.openfaas.retry.attempts" in bad_retry.text
        bad_cap = http.post(
            "/system/functions",
            json={"service": "x", "image": "i", "annotations": {"com.faas.max-concurrency": "x"}},
        )
        assert bad_cap.status_code == 400
        # faas-cli sends deploy bodies without a Content-Type
        raw = b'{"service": "plain", "image": "i"}'
        assert http.post("/system/functions", content=raw).status_code == 202
        info = http.get("/system/info").json()
        assert info["provider"]["orchestration"] == "docker"
        assert http.get("/healthz").status_code == 200


def test_registry_is_shared_and_survives_a_gateway_restart(parts: Parts) -> None:
    nats = parts.nats()
    first = parts.gateway(nats)
    second = parts.gateway(nats)
    with first.client() as http:
        http.post("/system/functions", json={"service": "shared", "image": BUSYBOX})
    deadline = time.monotonic() + 10
    with second.client() as http:
        while http.get("/system/function/shared").status_code != 200:
            assert time.monotonic() < deadline, "the second gateway never saw the function"
            time.sleep(0.05)
    first.proc.terminate()
    first.proc.wait(30)
    third = parts.gateway(nats)
    with third.client() as http:
        assert http.get("/system/function/shared").json()["image"] == BUSYBOX


def test_invocation_count_is_summed_across_gateways(parts: Parts) -> None:
    nats = parts.nats()
    one, two = parts.gateway(nats), parts.gateway(nats)
    parts.watchdog(nats, 2)
    wait_for_watchdog(one)
    with one.client() as http:
        http.post(
            "/system/functions", json={"service": "echo", "image": BUSYBOX, "envProcess": "cat"}
        )
        assert http.post("/function/echo", content=b"1").status_code == 200
    deadline = time.monotonic() + 10
    with two.client() as http:
        while http.get("/system/function/echo").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert http.post("/function/echo", content=b"2").status_code == 200
        while http.get("/system/function/echo").json()["invocationCount"] != 2:
            assert time.monotonic() < deadline, "counts of both gateways never added up"
            time.sleep(0.1)


def test_readyz_says_whether_a_call_can_be_served(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    with httpx.Client(base_url=gateway.url) as anonymous:
        alone = anonymous.get("/readyz")
        assert (alone.status_code, alone.text) == (503, "not ready: no watchdog is connected\n")
        assert anonymous.get("/healthz").status_code == 200
        watchdog = parts.watchdog(nats, 2)
        deadline = time.monotonic() + 30
        while (ready := anonymous.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.1)
        assert ready.text == "ready: 1 watchdog(s) connected\n"
        with gateway.client() as http:
            echo = {"service": "echo", "image": BUSYBOX, "envProcess": "cat"}
            assert http.post("/system/functions", json=echo).status_code == 202
            assert http.post("/function/echo", content=b"at once").text == "at once"
        stop(watchdog.proc)
        while (gone := anonymous.get("/readyz")).status_code != 503:
            assert time.monotonic() < deadline, gone.text
            time.sleep(0.1)
        assert "no watchdog" in gone.text


def test_invocation_count_includes_async_calls(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        echo = {"service": "echo", "image": BUSYBOX, "envProcess": "cat"}
        assert http.post("/system/functions", json=echo).status_code == 202
        assert http.post("/function/echo", content=b"sync").status_code == 200
        assert http.post("/async-function/echo", content=b"async").status_code == 202
        assert http.get("/system/function/echo").json()["invocationCount"] == 2
        assert [f["invocationCount"] for f in http.get("/system/functions").json()] == [2]


def test_cli_deploy_list_describe_invoke_remove(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    url = ["--gateway", gateway.url]
    deployed = faas("deploy", "-f", "stack.yml", *url)
    assert deployed.returncode == 0, deployed.stderr
    assert b"hello: deployed" in deployed.stdout

    invoked = faas("invoke", "hello", *url, stdin=b"cli")
    assert invoked.returncode == 0, invoked.stderr
    assert invoked.stdout == b"Hello, cli!\n"

    listed = faas("list", env={"OPENFAAS_URL": gateway.url})
    lines = listed.stdout.decode().splitlines()
    assert lines[0].split() == ["Function", "Invocations", "Replicas"]
    assert ["hello", "1", "1"] in [line.split() for line in lines[1:]]

    described = faas("describe", "hello", *url).stdout.decode()
    assert "faas/hello:latest" in described
    assert "Ready" in described

    again = faas("deploy", "-f", "stack.yml", *url)
    assert b"hello: updated" in again.stdout
    assert faas("remove", "wc", *url).returncode == 0
    missing = faas("describe", "wc", *url)
    assert missing.returncode == 1
    assert b"not found" in missing.stderr
    failed = faas("invoke", "nope", *url)
    assert failed.returncode == 1

    # faas-cli's `up`: build and deploy, to -g, $OPENFAAS_URL, or a gateway already on --port
    up = faas("up", "--filter", "wc", *url)
    assert up.returncode == 0, up.stderr
    assert b"wc: deployed" in up.stdout
    assert faas("invoke", "wc", *url, stdin=b"a b\n").stdout.split()[:2] == [b"1", b"2"]
    up = faas("up", "--filter", "wc", "--skip-build", env={"OPENFAAS_URL": gateway.url})
    assert b"wc: updated" in up.stdout
    port = gateway.url.rsplit(":", 1)[1]
    up = faas("up", "--port", port, "--filter", "wc", "--skip-build", env={"OPENFAAS_URL": ""})
    assert up.returncode == 0, up.stderr
    assert f"a gateway already runs at {gateway.url}".encode() in up.stdout
    assert b"wc: updated" in up.stdout


def test_cli_refuses_a_malformed_stack(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hello:\n    lang: dockerfile\n"
    )
    result = faas("deploy", "-f", str(bad), "--gateway", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert f"{bad}:5".encode() in result.stderr
    assert b"'image' is required" in result.stderr


def test_cli_without_a_gateway_says_so() -> None:
    result = faas("list", "--gateway", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert b"cannot reach the gateway" in result.stderr


@pytest.mark.usefixtures("docker_client")
def test_faas_up_serves_the_stack_and_stops_cleanly(tmp_path: Path) -> None:
    port, nats_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = tmp_path / "data" / "secrets"
    args = [
        "up",
        "--port",
        str(port),
        "--nats-port",
        str(nats_port),
        "--data-dir",
        str(tmp_path / "data"),
        "--capacity",
        "2",
    ]
    passwords = []
    for _ in range(2):  # run again: it works again, with the same credentials
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "OPENFAAS_URL"},
        )
        try:
            banner = _read_until(proc, b"Ctrl-C stops everything")
            assert f"nats://127.0.0.1:{nats_port}".encode() in banner
            assert f"curl -d world {url}/function/hello".encode() in banner
            auth = _generated_credentials(secrets)
            passwords.append(auth.password)
            assert f"password: cat {secrets / 'basic-auth-password'}".encode() in banner
            assert f"faas login --gateway {url} -u admin --password-stdin".encode() in banner
            assert httpx.get(f"{url}/system/functions").status_code == 401
            # The banner comes once a call can be served: no waiting for the watchdog here.
            assert httpx.get(f"{url}/readyz").status_code == 200
            reply = httpx.post(f"{url}/function/hello", content=b"up", timeout=60)
            assert reply.text == "Hello, up!\n"
            if not passwords[1:]:  # the first time: its nats-server killed, it is started again
                _kill_nats_server(proc.pid)
                _read_until(proc, b"restarting it")
                assert _hello_again(url) == "Hello, up!\n"
            children = _children(proc.pid)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(60) == 0
            assert not [pid for pid in children if _alive(pid)]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    assert passwords[0] == passwords[1]


def _generated_credentials(secrets: Path) -> BasicAuth:
    """The credentials `faas up` wrote, checking they are for their owner's eyes alone."""
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    for name in ("basic-auth-user", "basic-auth-password"):
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600
    auth = BasicAuth(
        (secrets / "basic-auth-user").read_text(), (secrets / "basic-auth-password").read_text()
    )
    assert auth.user == "admin"
    assert len(auth.password) >= 32
    return auth


def _read_until(proc: subprocess.Popen[bytes], marker: bytes) -> bytes:
    assert proc.stdout is not None
    seen = b""
    while marker not in seen:
        line = proc.stdout.readline()
        assert line, f"faas up ended early:\n{seen.decode()}"
        seen += line
    return seen


def _kill_nats_server(parent: int) -> None:
    [pid] = [
        p for p in _children(parent) if b"nats-server" in Path(f"/proc/{p}/cmdline").read_bytes()
    ]
    os.kill(pid, signal.SIGKILL)


def _hello_again(url: str) -> str:
    """The answer of the first call that is answered, within 60 s (the parts reconnect)."""
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            reply = httpx.post(f"{url}/function/hello", content=b"up", timeout=30)
            if reply.status_code == 200 or time.monotonic() > deadline:
                return reply.text
        assert time.monotonic() < deadline, "no call answered after nats-server's restart"
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
