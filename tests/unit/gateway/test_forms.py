from urllib.parse import urlencode

import pytest

from faas.spec import FunctionSpec
from gateway.errors import BadRequest
from gateway.forms import deployment, is_form


def test_requests_style_dict_body_makes_a_deployment() -> None:
    # what requests.post(url, {"service": ..., "image": ...}) sends
    raw = urlencode({"service": "af-hello", "image": "faas/hello:latest"}).encode()
    spec = FunctionSpec.from_deployment(deployment(raw))
    assert (spec.name, spec.image) == ("af-hello", "faas/hello:latest")


def test_repeated_fields_make_lists_and_bracketed_fields_make_maps() -> None:
    raw = urlencode(
        [
            ("service", "f"),
            ("image", "img"),
            ("secrets", "a"),
            ("secrets", "b"),
            ("envVars[exec_timeout]", "5s"),
            ("annotations[com.faas.network]", "none"),
            ("readOnlyRootFilesystem", "True"),
        ]
    ).encode()
    body = deployment(raw)
    assert body["secrets"] == ["a", "b"]
    assert body["envVars"] == {"exec_timeout": "5s"}
    assert body["annotations"] == {"com.faas.network": "none"}
    assert body["readOnlyRootFilesystem"] is True
    spec = FunctionSpec.from_deployment(body)
    assert spec.timeout == 5.0 and spec.network == "none"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"service=a&service=b", "'service' is given twice"),
        (b"readOnlyRootFilesystem=yes", "must be true or false"),
        (b"service", "does not parse"),
        (b"\xff=1", "does not parse"),
    ],
)
def test_bad_forms_are_refused_saying_why(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        deployment(raw)


def test_form_content_type_is_recognised_with_parameters() -> None:
    assert is_form("application/x-www-form-urlencoded; charset=utf-8")
    assert not is_form("application/json")
    assert not is_form("")
