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
