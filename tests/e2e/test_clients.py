"""The request shapes OpenFaaS's own clients send, as they send them.

The Apache Airflow OpenFaaS provider (`OpenFaasHook`) calls `requests.post(url, body)` and
`requests.put(url, body)` with a dict: form fields, not JSON. It expects 202 from a deploy
or an update, and any 2xx from `GET /system/function/{name}` and the invocations.
"""

from __future__ import annotations

import time

from tests.e2e.parts import Gateway


def test_airflow_provider_deploys_checks_invokes_and_updates(platform: Gateway) -> None:
    with platform.client() as http:
        image = http.get("/system/function/hello").json()["image"]
        assert http.get("/system/function/af-hello").status_code == 404  # does_function_exist
        form = {"service": "af-hello", "image": image}
        deployed = http.post("/system/functions", data=form)  # deploy_function(False, form)
        assert deployed.status_code == 202, deployed.text
        assert http.get("/system/function/af-hello").status_code == 200

        sync = http.post("/function/af-hello", data={"x": "1"})  # invoke_function
        assert (sync.status_code, sync.text) == (200, "Hello, x=1!\n")
        queued = http.post("/async-function/af-hello", data={"x": "2"})  # invoke_async_function
        assert queued.status_code == 202
        call = f"/system/calls/{queued.headers['X-Call-Id']}"
        deadline = time.monotonic() + 60
        while (record := http.get(call).json())["state"] != "succeeded":
            assert time.monotonic() < deadline, record
            time.sleep(0.2)
        assert record["output"] == "Hello, x=2!\n"

        update = {**form, "labels[team]": "data", "secrets": []}  # deploy_function(True, ...)
        assert http.put("/system/functions", data=update).status_code == 202
        assert http.get("/system/function/af-hello").json()["labels"] == {"team": "data"}
        bad = http.post("/system/functions", data={"service": "af-bad"})
        assert (bad.status_code, bad.text) == (400, "missing 'image'\n")
        http.request("DELETE", "/system/functions", json={"functionName": "af-hello"})


def test_faas_cli_request_shapes(platform: Gateway) -> None:
    """As faas-cli sends them: namespace queries, deploy as PUT then POST, JSON without type."""
    fn = "/system/function/hello?namespace=openfaas-fn"
    with platform.client() as http:
        listed = http.get("/system/functions", params={"namespace": "openfaas-fn"})
        assert "hello" in [f["name"] for f in listed.json()]
        assert http.get(fn).json()["name"] == "hello"
        body = b'{"service": "cli-shape", "image": "faas/base-busybox:latest", "envProcess": "cat"}'
        plain = {"Content-Type": ""}
        assert http.put("/system/functions", content=body, headers=plain).status_code == 404
        assert http.post("/system/functions", content=body, headers=plain).status_code == 202
        assert http.put("/system/functions", content=body, headers=plain).status_code == 202
        called = http.post(
            "/function/cli-shape.openfaas-fn?q=1",
            content=b"data",
            headers={"Content-Type": "text/plain", "X-Extra": "1"},
        )
        assert (called.status_code, called.text) == (200, "data")
        logs = http.get(
            "/system/logs",
            params={
                "name": "cli-shape",
                "namespace": "openfaas-fn",
                "tail": "5",
                "follow": "false",
            },
        )
        assert logs.status_code == 200
        gone = {"functionName": "cli-shape", "namespace": "openfaas-fn"}
        assert http.request("DELETE", "/system/functions", json=gone).status_code == 200
        assert http.get("/system/function/cli-shape").status_code == 404


def test_json_deploy_labelled_as_a_form_is_read_as_json(platform: Gateway) -> None:
    """`curl -d '{...}'`, as OpenFaaS's docs deploy: curl labels the JSON body a form."""
    body = b'{"service": "curl-shape", "image": "faas/base-busybox:latest", "envProcess": "cat"}'
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with platform.client() as http:
        deployed = http.post("/system/functions", content=body, headers=form)
        assert deployed.status_code == 202, deployed.text
        assert http.get("/system/function/curl-shape").json()["envProcess"] == "cat"
        gone = {"functionName": "curl-shape"}
        assert http.request("DELETE", "/system/functions", json=gone).status_code == 200
