"""Retrying calls through a real gateway, watchdog, NATS and Docker: a new call of the same
request (or an edited body), linked to the first and called back like it."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.e2e.functions import fn
from tests.e2e.parts import Cluster, Parts, cluster, deploy, faas, wait_record
from tests.e2e.receiver import Receiver

# what the function was asked, and its body; it fails when the body is "fail"
ECHO = (
    'sh -c \'body=$(cat); printf "%s %s?%s [%s] [%s] %s" "$Http_Method" "$Http_Path" '
    '"$Http_Query" "$Http_X_Trace" "$Http_Authorization" "$body"; [ "$body" != fail ]\''
)


def final(c: Cluster, call_id: str) -> dict[str, Any]:
    return wait_record(c.gateway, call_id, lambda r: r["callback"]["state"] == "delivered")


def deploy_asked(c: Cluster) -> None:
    """The function that says what it was asked, run once per call (no retries by policy)."""
    once = {"com.openfaas.retry.attempts": "1"}
    with c.gateway.client() as http:
        assert http.post("/system/functions", json=fn("asked", ECHO, annotations=once)).is_success


def test_a_failed_call_is_retried_as_asked_or_with_an_edited_body_and_called_back(
    parts: Parts, receiver: Receiver
) -> None:
    c = cluster(parts, 2)
    deploy_asked(c)
    headers = {"X-Callback-Url": receiver.url, "X-Trace": "t1", "Authorization": "Bearer s3cret"}
    with c.gateway.client() as http:
        sent = http.post("/async-function/asked/items?a=1", content=b"fail", headers=headers)
        assert sent.status_code == 202
        first = sent.headers["x-call-id"]
        failed = final(c, first)
        asked = "POST /items?a=1 [t1] [Bearer s3cret] fail"  # the function had its credentials
        assert (failed["state"], failed["output"]) == ("failed", asked)

        request = failed["request"]
        assert isinstance(request, dict)
        assert (request["method"], request["path"], request["query"]) == ("POST", "/items", "a=1")
        assert (base64.b64decode(request["body"]), request["bodyBytes"]) == (b"fail", 4)
        names = [name.lower() for name, _ in request["headers"]]
        assert "x-trace" in names and "x-callback-url" in names
        assert "authorization" not in names and "x-call-id" not in names

        same = http.post(f"/system/calls/{first}/retry")
        assert same.status_code == 202, same.text
        again = same.json()
        assert same.headers["x-call-id"] == again["callId"] != first
        assert (again["retryOf"], again["state"], again["kind"]) == (first, "queued", "async")

        edited = http.post(f"/system/calls/{first}/retry", json={"body": "fixed"})
        assert edited.status_code == 202, edited.text
        fixed = edited.json()["callId"]

    callbacks = receiver.wait_for_calls({first, again["callId"], fixed})
    assert callbacks[again["callId"]][0].headers["X-Function-Status"] == "500"
    [done] = callbacks[fixed]
    assert done.headers["X-Function-Status"] == "200"
    assert done.body == b"POST /items?a=1 [t1] [] fixed"
    retried = final(c, again["callId"])
    assert (retried["state"], retried["retryOf"]) == ("failed", first)
    assert retried["output"] == "POST /items?a=1 [t1] [] fail"  # its record had none
    succeeded = final(c, fixed)
    assert (succeeded["state"], succeeded["retryOf"], succeeded["exitCode"]) == (
        "succeeded",
        first,
        0,
    )


def test_faas_retry_prints_the_new_call_and_takes_a_body(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy_asked(c)
    with c.gateway.client() as http:
        first = http.post("/async-function/asked", content=b"fail").headers["x-call-id"]
    wait_record(c.gateway, first, lambda r: r["state"] == "failed")
    done = faas("retry", first, "--body", "from the cli", "--gateway", c.gateway.url)
    assert done.returncode == 0, done.stderr
    new = done.stdout.decode().strip()
    record = wait_record(c.gateway, new, lambda r: r["state"] == "succeeded")
    assert (record["retryOf"], record["output"]) == (first, "POST /? [] [] from the cli")
    shown = faas("call", new, "--gateway", c.gateway.url)
    assert f"Retry of:          {first}" in shown.stdout.decode()


def test_what_cannot_be_retried_is_refused_saying_why(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    big = b"x" * (64 * 1024 + 1)
    with c.gateway.client() as http:
        unknown = http.post("/system/calls/no-such-call/retry")
        assert (unknown.status_code, unknown.text) == (404, "call 'no-such-call' not found\n")

        large = http.post("/async-function/echo", content=big).headers["x-call-id"]
        wait_record(c.gateway, large, lambda r: r["state"] == "succeeded")
        refused = http.post(f"/system/calls/{large}/retry")
        assert refused.status_code == 409
        assert "65537 bytes" in refused.text and "was not kept" in refused.text
        given = http.post(f"/system/calls/{large}/retry", json={"bodyBase64": "eA=="})
        assert given.status_code == 202, given.text
        bad = http.post(f"/system/calls/{large}/retry", content=b"{not json")
        assert (bad.status_code, bad.text.startswith("the body is not JSON")) == (400, True)
        both = http.post(f"/system/calls/{large}/retry", json={"body": "a", "bodyBase64": "eA=="})
        assert (both.status_code, both.text) == (400, "give body or bodyBase64, not both\n")

        job = http.post("/system/jobs", json={"image": "faas/base-busybox:latest"}).json()
        wait_record(c.gateway, job["callId"], lambda r: r["state"] == "succeeded")
        once = http.post(f"/system/calls/{job['callId']}/retry")
        assert once.status_code == 409 and "one-shot job" in once.text

        http.request("DELETE", "/system/functions", content=json.dumps({"functionName": "echo"}))
        gone = http.post(f"/system/calls/{large}/retry")
        assert (gone.status_code, gone.text) == (404, "function 'echo' not found\n")
