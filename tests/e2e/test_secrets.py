"""Secrets through a real gateway, nats-server, watchdog and Docker engine."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from faas.basicauth import BasicAuth
from tests.e2e.parts import Parts, deploy, wait_for_watchdog

BUSYBOX = "faas/base-busybox:latest"
NOBODY_IMAGE = "faas/wc:latest"  # runs as 65534:65534
CANARY = "plain-text-canary-7d3e91b2"


def _function(
    name: str, command: str, secrets: list[str], image: str = BUSYBOX
) -> dict[str, object]:
    return {"service": name, "image": image, "envProcess": command, "secrets": secrets}


def _holding(data: Path, text: str, within: str = "") -> list[Path]:
    """Files of the NATS store (those under a folder named `within`, if given) holding `text`."""
    files = [p for p in data.rglob("*") if p.is_file() and (not within or within in p.parts)]
    assert files, f"no files in the NATS store {data}"
    return [p for p in files if text.encode() in p.read_bytes()]


def test_secrets_crud_answers_with_openfaas_shapes_and_never_values(parts: Parts) -> None:
    parts.secrets_key()
    nats = parts.nats()
    gateway = parts.gateway(nats, auth=BasicAuth("admin", "pw-for-secrets"))
    with gateway.client() as http:
        assert (
            http.post("/system/secrets", json={"name": "api-key", "value": CANARY}).status_code
            == 201
        )
        raw = base64.b64encode(b"\x00\xffbin").decode()
        assert (
            http.post("/system/secrets", json={"name": "bin", "rawValue": raw}).status_code == 201
        )
        again = http.post("/system/secrets", json={"name": "api-key", "value": "x"})
        assert again.status_code == 409
        assert "api-key" in again.text and CANARY not in again.text
        for bad in (
            {"name": "Bad_Name", "value": "x"},
            {"name": "neither"},
            {"name": "both", "value": "x", "rawValue": "eA=="},
            {"name": "notb64", "rawValue": "***"},
            {"name": "other-ns", "namespace": "kube-system", "value": "x"},
            ["not", "an", "object"],
        ):
            assert http.post("/system/secrets", json=bad).status_code == 400, bad
        listed = http.get("/system/secrets")
        assert listed.status_code == 200
        assert listed.json() == [
            {"name": "api-key", "namespace": "openfaas-fn"},
            {"name": "bin", "namespace": "openfaas-fn"},
        ]
        assert CANARY not in listed.text
        assert (
            http.put("/system/secrets", json={"name": "api-key", "value": "new"}).status_code == 200
        )
        missing = http.put("/system/secrets", json={"name": "gone", "value": "v"})
        assert missing.status_code == 404 and "secret 'gone' does not exist" in missing.text
        assert http.request("DELETE", "/system/secrets", json={"name": "bin"}).status_code == 200
        assert http.request("DELETE", "/system/secrets", json={"name": "bin"}).status_code == 404
        assert [s["name"] for s in http.get("/system/secrets").json()] == ["api-key"]
    with httpx.Client(base_url=gateway.url) as anonymous:
        assert anonymous.get("/system/secrets").status_code == 401
        assert (
            anonymous.post("/system/secrets", json={"name": "x", "value": "y"}).status_code == 401
        )


def test_without_a_key_secrets_are_off(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    with gateway.client() as http:
        listed = http.get("/system/secrets")
        assert listed.status_code == 503 and "secrets are off" in listed.text
        assert http.post("/system/secrets", json={"name": "a", "value": "b"}).status_code == 503
        refused = http.post("/system/functions", json=_function("needs", "cat", ["api-key"]))
        assert refused.status_code == 400 and "secrets are off" in refused.text
        assert http.post("/system/functions", json=_function("plain", "cat", [])).status_code == 202


def test_a_function_reads_its_secrets_from_read_only_files(parts: Parts, tmp_path: Path) -> None:
    parts.secrets_key()
    temp = tmp_path / "watchdog-tmp"
    temp.mkdir()
    parts.env["TMPDIR"] = str(temp)  # where the watchdog makes its secret folders
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        assert (
            http.post("/system/secrets", json={"name": "api-key", "value": CANARY}).status_code
            == 201
        )
        refused = http.post("/system/functions", json=_function("bad", "cat", ["api-key", "nope"]))
        assert refused.status_code == 400 and "secret 'nope' does not exist" in refused.text
        read = "cat /var/openfaas/secrets/api-key"
        assert (
            http.post("/system/functions", json=_function("reader", read, ["api-key"])).status_code
            == 202
        )
        nobody = _function("nobody", read, ["api-key"], NOBODY_IMAGE)
        assert http.post("/system/functions", json=nobody).status_code == 202
        touch = "touch /var/openfaas/secrets/x"
        assert (
            http.post("/system/functions", json=_function("writer", touch, ["api-key"])).status_code
            == 202
        )

        assert not _holding(nats.data, CANARY)  # before any function printed it
        reply = http.post("/function/reader")
        assert (reply.status_code, reply.text) == (200, CANARY)
        reply = http.post("/function/nobody")
        assert (reply.status_code, reply.text) == (200, CANARY)
        written = http.post("/function/writer")
        assert written.status_code == 500 and "Read-only file system" in written.text

        assert (
            http.request("DELETE", "/system/secrets", json={"name": "api-key"}).status_code == 200
        )
        lost = http.post("/function/reader")
        assert lost.status_code == 502 and "secret 'api-key' does not exist" in lost.text
    deploy(gateway, "plain", "echo ok")  # a function without secrets needs none
    assert list(temp.iterdir()) == []
    # the function printed the value, so call records hold it now; the secrets bucket never
    assert not _holding(nats.data, CANARY, within="KV_faas_secrets")
