"""Unit tests of gateway.errors: the one table from errors to HTTP answers."""

from __future__ import annotations

import asyncio

import nats.errors
import nats.js.errors
import pytest

from gateway.errors import HANDLERS, FunctionNotFound, error_response, error_text, status_for


@pytest.mark.parametrize(
    "exc",
    [
        nats.errors.NoServersError(),
        nats.errors.TimeoutError(),
        nats.js.errors.ServiceUnavailableError(),
    ],
)
def test_every_nats_error_is_503_saying_the_bus_is_unavailable(exc: Exception) -> None:
    assert status_for(exc) == 503
    assert error_text(exc).startswith("the message bus (NATS) is unavailable: ")
    assert any(isinstance(exc, handled) for handled in HANDLERS)


def test_an_answer_carries_the_errors_own_message() -> None:
    answer = asyncio.run(error_response(None, FunctionNotFound("nope")))  # type: ignore[arg-type]
    assert (answer.status_code, answer.body) == (404, b"function 'nope' not found\n")


def test_an_unknown_error_is_500() -> None:
    assert status_for(KeyError("x")) == 500
