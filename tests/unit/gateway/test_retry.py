"""The body of `POST /system/calls/{call_id}/retry`: what to send instead of the first body."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest
from gateway.routes.retry import retry_body


def test_no_body_field_sends_the_first_call_s_body() -> None:
    assert retry_body({}) is None


def test_a_text_body_is_sent_as_utf_8_and_base64_as_its_bytes() -> None:
    assert retry_body({"body": "héllo"}) == "héllo".encode()
    assert retry_body({"body": ""}) == b""
    assert retry_body({"bodyBase64": "AP8="}) == b"\x00\xff"


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (["body"], "must be a JSON object"),
        ({"bdy": "x"}, "unknown field 'bdy'"),
        ({"body": "x", "bodyBase64": "eA=="}, "not both"),
        ({"body": 3}, "'body' must be a string"),
        ({"body": "\ud800"}, "not valid Unicode"),
        ({"bodyBase64": "not base64!"}, "not valid base64"),
        ({"bodyBase64": None}, "must be a base64 string"),
    ],
)
def test_a_body_that_says_nothing_usable_is_refused_saying_why(given: object, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        retry_body(given)
