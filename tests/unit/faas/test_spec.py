"""Unit tests of faas.spec: names, units, and the deployment body of a function."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from faas.durations import parse_duration
from faas.errors import SpecError
from faas.spec import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_MEMORY,
    DEFAULT_PIDS,
    DEFAULT_TIMEOUT,
    NAMESPACE,
    FunctionSpec,
    Resources,
    check_name,
    check_replicas,
    parse_cpu,
    parse_memory,
    split_namespace,
)

MI = 2**20
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

FULL: dict[str, Any] = {
    "service": "hello",
    "image": "docker.io/me/hello:1.0",
    "namespace": NAMESPACE,
    "envProcess": "python3 index.py",
    "envVars": {"exec_timeout": "10s", "content_type": "application/json", "empty": None},
    "constraints": ["node.platform.os == linux"],
    "secrets": ["api-key"],
    "labels": {"com.openfaas.scale.min": "1"},
    "annotations": {"com.faas.pids": "64", "com.faas.network": "none", "topic": "orders"},
    "limits": {"memory": "128Mi", "cpu": "500m"},
    "requests": {"memory": "64Mi"},
    "readOnlyRootFilesystem": True,
}


def deployment(**fields: Any) -> dict[str, Any]:
    """A minimal deployment body with `fields` added or replaced."""
    return {"service": "fn", "image": "img:latest", **fields}


def spec(**fields: Any) -> FunctionSpec:
    """A FunctionSpec built directly, so a run-time property can be tested on its own."""
    return FunctionSpec(name="fn", image="img:latest", **fields)


# check_name


@pytest.mark.parametrize("name", ["a", "0", "hello", "hello-world", "a1-b2", "9lives", "a" * 63])
def test_check_name_accepts_dns_labels(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "Hello", "a_b", "a.b", "a b", "héllo", "a" * 64, "a/b"]
)
def test_check_name_refuses_other_names(name: str) -> None:
    with pytest.raises(SpecError, match=re.escape(repr(name))):
        check_name(name)


@pytest.mark.parametrize("name", [None, 5, ["a"]])
def test_check_name_refuses_non_strings(name: Any) -> None:
    with pytest.raises(SpecError, match="invalid function name"):
        check_name(name)


def test_check_name_refuses_a_trailing_newline() -> None:
    with pytest.raises(SpecError):
        check_name("abc\n")


# split_namespace


@pytest.mark.parametrize("name", ["fn", f"fn.{NAMESPACE}"])
def test_split_namespace_strips_the_only_namespace(name: str) -> None:
    assert split_namespace(name) == "fn"


@pytest.mark.parametrize(("name", "namespace"), [("fn.other", "other"), ("fn.", "")])
def test_split_namespace_refuses_other_namespaces(name: str, namespace: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"unknown namespace {namespace!r}")):
        split_namespace(name)


# parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("1.5", 1.5),
        ("30s", 30.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        (" 10s ", 10.0),
        # Go's grammar, as the schedules' @every reads it too: one grammar everywhere
        ("1.s", 1.0),
        (".5s", 0.5),
        ("1500us", 0.0015),
        ("2h45m0.5s", 9900.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "10x", "s", "-5s", "10 s", "5s later", "1.5.s", "5d"])
def test_parse_duration_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"invalid duration {text!r}")):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0", "0s", "0ms", "-1", "-0.5"])
def test_parse_duration_refuses_zero_and_less(text: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"{text!r}: must be more than zero")):
        parse_duration(text)


def test_parse_duration_refuses_nan() -> None:
    with pytest.raises(SpecError):
        parse_duration("nan")


# parse_memory


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("128Mi", 128 * MI),
        ("128m", 128 * MI),
        ("128MI", 128 * MI),
        ("128mb", 128 * MI),
        ("128MB", 128 * MI),
        ("1Gi", 2**30),
        ("1g", 2**30),
        ("0.5Gi", 2**29),
        ("1G", 10**9),
        ("100M", 10**8),
        ("7000k", 7000 * 2**10),
        ("7000Ki", 7000 * 2**10),
        ("1t", 2**40),
        ("1T", 10**12),
        ("6291456", 6 * MI),
        ("6291456b", 6 * MI),
        ("1 Gi", 2**30),
        (" 64Mi ", 64 * MI),
    ],
)
def test_parse_memory(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "Mi", "lots", "12Q", "-1Mi", "1Mi1", "1e9", "1,5Gi"])
def test_parse_memory_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"invalid memory {text!r}: write e.g.")):
        parse_memory(text)


@pytest.mark.parametrize("text", ["0", "5Mi", "6291455", "1k"])
def test_parse_memory_refuses_less_than_docker_allows(text: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"invalid memory {text!r}: the least")):
        parse_memory(text)


# parse_cpu


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0.5", 0.5), ("500m", 0.5), ("2", 2.0), ("1500m", 1.5), ("1m", 0.001), (" 1 ", 1.0)],
)
def test_parse_cpu(text: str, cpus: float) -> None:
    assert parse_cpu(text) == pytest.approx(cpus)


@pytest.mark.parametrize("text", ["", "m", "half", "1x", "0.5 cpu", "mm"])
def test_parse_cpu_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"invalid cpu {text!r}: write e.g.")):
        parse_cpu(text)


@pytest.mark.parametrize("text", ["0", "0m", "-1", "-500m"])
def test_parse_cpu_refuses_zero_and_less(text: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"invalid cpu {text!r}: must be more")):
        parse_cpu(text)


@pytest.mark.parametrize("text", ["nan", "inf", "infm"])
def test_parse_cpu_refuses_non_finite_values(text: str) -> None:
    with pytest.raises(SpecError):
        parse_cpu(text)


# FunctionSpec.from_deployment


def test_from_deployment_minimal_body_takes_the_defaults() -> None:
    fn = FunctionSpec.from_deployment(deployment())
    assert fn == FunctionSpec(name="fn", image="img:latest")
    assert fn.namespace == NAMESPACE
    assert (fn.env_process, fn.env_vars, fn.labels, fn.annotations) == ("", {}, {}, {})
    assert (fn.constraints, fn.secrets) == ([], [])
    assert (fn.limits, fn.requests) == (None, None)
    assert fn.read_only_root_filesystem is False
    assert fn.created_at == ""


def test_from_deployment_full_body() -> None:
    fn = FunctionSpec.from_deployment(FULL)
    assert fn.name == "hello"
    assert fn.image == "docker.io/me/hello:1.0"
    assert fn.env_process == "python3 index.py"
    assert fn.env_vars == {"exec_timeout": "10s", "content_type": "application/json", "empty": ""}
    assert fn.constraints == ["node.platform.os == linux"]
    assert fn.secrets == ["api-key"]
    assert fn.labels == {"com.openfaas.scale.min": "1"}
    assert fn.annotations["topic"] == "orders"
    assert fn.limits == Resources(memory="128Mi", cpu="500m")
    assert fn.requests == Resources(memory="64Mi")
    assert fn.read_only_root_filesystem is True


def test_from_deployment_takes_name_when_service_is_missing() -> None:
    body = {"name": "fn", "image": "img"}
    assert FunctionSpec.from_deployment(body).name == "fn"


def test_from_deployment_makes_map_values_strings() -> None:
    fn = FunctionSpec.from_deployment(deployment(envVars={"n": 1, "ratio": 0.5}, labels={"k": 2}))
    assert fn.env_vars == {"n": "1", "ratio": "0.5"}
    assert fn.labels == {"k": "2"}


@pytest.mark.parametrize("body", [None, [], "fn", 3])
def test_from_deployment_refuses_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(SpecError, match="must be a JSON object"):
        FunctionSpec.from_deployment(body)


@pytest.mark.parametrize("body", [{"image": "img"}, {"service": "", "image": "img"}])
def test_from_deployment_refuses_a_missing_service(body: dict[str, Any]) -> None:
    with pytest.raises(SpecError, match="missing 'service'"):
        FunctionSpec.from_deployment(body)


@pytest.mark.parametrize("image", [None, "", 5, ["img"]])
def test_from_deployment_refuses_a_missing_image(image: Any) -> None:
    body = {"service": "fn"} if image is None else {"service": "fn", "image": image}
    with pytest.raises(SpecError, match="missing 'image'"):
        FunctionSpec.from_deployment(body)


def test_from_deployment_refuses_an_invalid_name() -> None:
    with pytest.raises(SpecError, match=re.escape("'Bad_Name'")):
        FunctionSpec.from_deployment(deployment(service="Bad_Name"))


def test_from_deployment_refuses_another_namespace() -> None:
    with pytest.raises(SpecError, match="unknown namespace 'kube-system'"):
        FunctionSpec.from_deployment(deployment(namespace="kube-system"))


def test_from_deployment_takes_an_empty_namespace_as_the_default() -> None:
    assert FunctionSpec.from_deployment(deployment(namespace="")).namespace == NAMESPACE


@pytest.mark.parametrize("field", ["envVars", "labels", "annotations"])
@pytest.mark.parametrize("value", [["a=b"], "a=b", 1])
def test_from_deployment_refuses_maps_that_are_not_objects(field: str, value: Any) -> None:
    with pytest.raises(SpecError, match=f"{field} must be an object of strings"):
        FunctionSpec.from_deployment(deployment(**{field: value}))


@pytest.mark.parametrize("field", ["constraints", "secrets"])
def test_from_deployment_refuses_lists_that_are_not_lists(field: str) -> None:
    with pytest.raises(SpecError, match=f"{field} must be a list of strings"):
        FunctionSpec.from_deployment(deployment(**{field: "api-key"}))


@pytest.mark.parametrize("field", ["limits", "requests"])
def test_from_deployment_parses_resources(field: str) -> None:
    fn = FunctionSpec.from_deployment(deployment(**{field: {"memory": "1Gi", "cpu": "2"}}))
    assert getattr(fn, field) == Resources(memory="1Gi", cpu="2")


def test_from_deployment_keeps_only_the_resources_given() -> None:
    fn = FunctionSpec.from_deployment(deployment(limits={"memory": "", "cpu": "250m"}))
    assert fn.limits == Resources(memory=None, cpu="250m")
    assert fn.limits is not None
    assert fn.limits.to_json() == {"cpu": "250m"}


@pytest.mark.parametrize("field", ["limits", "requests"])
def test_from_deployment_refuses_resources_that_are_not_objects(field: str) -> None:
    with pytest.raises(SpecError, match=f"{field} must be an object with memory and cpu"):
        FunctionSpec.from_deployment(deployment(**{field: "128Mi"}))


@pytest.mark.parametrize(
    ("limits", "message"),
    [({"memory": "lots"}, "invalid memory 'lots'"), ({"cpu": "half"}, "invalid cpu 'half'")],
)
def test_from_deployment_refuses_bad_limits(limits: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        FunctionSpec.from_deployment(deployment(limits=limits))


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), (None, False)])
def test_from_deployment_read_only_root_filesystem(value: bool | None, expected: bool) -> None:
    fn = FunctionSpec.from_deployment(deployment(readOnlyRootFilesystem=value))
    assert fn.read_only_root_filesystem is expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"envVars": {"exec_timeout": "soon"}}, "invalid duration 'soon'"),
        ({"annotations": {"com.faas.pids": "many"}}, "invalid com.faas.pids 'many'"),
        ({"annotations": {"com.faas.network": "host"}}, "invalid com.faas.network 'host'"),
    ],
)
def test_from_deployment_checks_the_run_time_settings(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        FunctionSpec.from_deployment(deployment(**fields))


# run-time properties


def test_timeout_defaults() -> None:
    assert spec().timeout == DEFAULT_TIMEOUT
    assert spec(env_vars={"exec_timeout": ""}).timeout == DEFAULT_TIMEOUT


@pytest.mark.parametrize(("raw", "seconds"), [("10s", 10.0), ("2m", 120.0), ("1.5", 1.5)])
def test_timeout_comes_from_exec_timeout(raw: str, seconds: float) -> None:
    assert spec(env_vars={"exec_timeout": raw}).timeout == pytest.approx(seconds)


def test_timeout_refuses_a_bad_exec_timeout() -> None:
    with pytest.raises(SpecError, match="invalid duration 'later'"):
        _ = spec(env_vars={"exec_timeout": "later"}).timeout


def test_content_type() -> None:
    assert spec().content_type == DEFAULT_CONTENT_TYPE
    assert spec(env_vars={"content_type": ""}).content_type == DEFAULT_CONTENT_TYPE
    assert spec(env_vars={"content_type": "text/html"}).content_type == "text/html"


def test_memory() -> None:
    assert spec().memory == DEFAULT_MEMORY
    assert spec(limits=Resources(cpu="1")).memory == DEFAULT_MEMORY
    assert spec(limits=Resources(memory="512Mi")).memory == 512 * MI
    assert spec(requests=Resources(memory="512Mi")).memory == DEFAULT_MEMORY


def test_cpus() -> None:
    assert spec().cpus is None
    assert spec(limits=Resources(memory="512Mi")).cpus is None
    assert spec(limits=Resources(cpu="250m")).cpus == pytest.approx(0.25)
    assert spec(limits=Resources(cpu="2")).cpus == 2.0


@pytest.mark.parametrize(("raw", "pids"), [(None, DEFAULT_PIDS), ("1", 1), ("64", 64)])
def test_pids(raw: str | None, pids: int) -> None:
    annotations = {} if raw is None else {"com.faas.pids": raw}
    assert spec(annotations=annotations).pids == pids


@pytest.mark.parametrize("raw", ["", "0", "-1", "1.5", "many", " 8"])
def test_pids_refuses_what_is_not_a_whole_number_above_zero(raw: str) -> None:
    fn = spec(annotations={"com.faas.pids": raw})
    with pytest.raises(SpecError, match=re.escape(f"invalid com.faas.pids {raw!r}")):
        _ = fn.pids


def test_pids_refuses_a_superscript_digit() -> None:
    with pytest.raises(SpecError):
        FunctionSpec.from_deployment(deployment(annotations={"com.faas.pids": "²"}))


@pytest.mark.parametrize(
    ("annotations", "network"),
    [
        ({}, "bridge"),
        ({"com.faas.network": "bridge"}, "bridge"),
        ({"com.faas.network": "none"}, "none"),
    ],
)
def test_network(annotations: dict[str, str], network: str) -> None:
    assert spec(annotations=annotations).network == network


@pytest.mark.parametrize("raw", ["host", "", "container:x", "Bridge"])
def test_network_refuses_others(raw: str) -> None:
    fn = spec(annotations={"com.faas.network": raw})
    with pytest.raises(SpecError, match=re.escape(f"invalid com.faas.network {raw!r}")):
        _ = fn.network


# stored form


def test_to_json_from_json_round_trip_keeps_created_at() -> None:
    fn = FunctionSpec.from_deployment(FULL).with_created_at("2024-05-01T12:00:00Z")
    stored = json.loads(json.dumps(fn.to_json()))
    assert stored["createdAt"] == "2024-05-01T12:00:00Z"
    assert FunctionSpec.from_json(stored) == fn


def test_to_json_round_trip_of_a_minimal_spec() -> None:
    fn = FunctionSpec.from_deployment(deployment()).with_created_at("2024-05-01T12:00:00Z")
    body = fn.to_json()
    assert "limits" not in body
    assert "requests" not in body
    assert FunctionSpec.from_json(body) == fn


def test_to_json_is_a_deployment_body() -> None:
    fn = FunctionSpec.from_deployment(FULL)
    assert FunctionSpec.from_deployment(fn.to_json()) == fn


def test_from_json_stamps_a_spec_stored_without_created_at() -> None:
    body = FunctionSpec.from_deployment(deployment()).to_json()
    assert body["createdAt"] == ""
    assert STAMP.match(FunctionSpec.from_json(body).created_at)


def test_with_created_at_returns_a_new_spec() -> None:
    fn = FunctionSpec.from_deployment(FULL)
    stamped = fn.with_created_at("2024-05-01T12:00:00Z")
    assert stamped.created_at == "2024-05-01T12:00:00Z"
    assert fn.created_at == ""
    assert stamped == replace(fn, created_at="2024-05-01T12:00:00Z")


@pytest.mark.parametrize("created_at", [None, ""])
def test_with_created_at_stamps_now_in_utc(created_at: str | None) -> None:
    assert STAMP.match(spec().with_created_at(created_at).created_at)


def test_status_shape() -> None:
    fn = FunctionSpec.from_deployment(FULL).with_created_at("2024-05-01T12:00:00Z")
    status = fn.status(invocation_count=7, available_replicas=2)
    assert {
        "name",
        "image",
        "namespace",
        "envProcess",
        "envVars",
        "labels",
        "annotations",
        "invocationCount",
        "replicas",
        "availableReplicas",
        "createdAt",
    } <= status.keys()
    assert "service" not in status
    assert status["name"] == "hello"
    assert status["image"] == "docker.io/me/hello:1.0"
    assert status["namespace"] == NAMESPACE
    assert status["envProcess"] == "python3 index.py"
    assert status["envVars"] == fn.env_vars
    assert status["labels"] == {"com.openfaas.scale.min": "1"}
    assert status["annotations"] == fn.annotations
    assert status["limits"] == {"memory": "128Mi", "cpu": "500m"}
    assert status["readOnlyRootFilesystem"] is True
    assert (status["invocationCount"], status["replicas"], status["availableReplicas"]) == (7, 1, 2)
    assert status["createdAt"] == "2024-05-01T12:00:00Z"
    json.dumps(status)


def test_replicas_default_to_one_and_a_deployment_body_cannot_set_them() -> None:
    assert spec().replicas == 1
    assert FunctionSpec.from_deployment(deployment(replicas=5)).replicas == 1


@pytest.mark.parametrize("replicas", [0, 1, 3, 2**63 - 1])
def test_replicas_round_trip_through_the_stored_form(replicas: int) -> None:
    fn = spec(replicas=replicas).with_created_at("2024-05-01T12:00:00Z")
    stored = json.loads(json.dumps(fn.to_json()))
    assert stored["replicas"] == replicas
    assert FunctionSpec.from_json(stored) == fn
    assert fn.status(invocation_count=0, available_replicas=1)["replicas"] == replicas


def test_a_spec_stored_without_replicas_has_one() -> None:
    body = spec().with_created_at("2024-05-01T12:00:00Z").to_json()
    del body["replicas"]
    assert FunctionSpec.from_json(body).replicas == 1


@pytest.mark.parametrize("value", [-1, 1.5, 2.0, "2", None, True, [1], 2**63])
def test_check_replicas_refuses_all_but_whole_numbers_from_zero(value: object) -> None:
    with pytest.raises(SpecError, match="invalid replicas"):
        check_replicas(value)
    with pytest.raises(SpecError, match="invalid replicas"):
        FunctionSpec.from_json({**deployment(), "replicas": value})


def test_status_without_a_watchdog() -> None:
    status = spec().status(invocation_count=0, available_replicas=0)
    assert (status["invocationCount"], status["replicas"], status["availableReplicas"]) == (0, 1, 0)


def test_a_deployed_spec_parses_its_settings_once() -> None:
    annotations = {"topic": "cron-function", "schedule": "*/5 * * * *"}
    fn = FunctionSpec.from_deployment(deployment(annotations=annotations))
    assert fn.schedule is not None
    assert fn.schedule is fn.schedule  # kept, not parsed again
    assert {"schedule", "timeout", "pids", "network", "retry"} <= fn.__dict__.keys()
    assert fn.retry is fn.retry
