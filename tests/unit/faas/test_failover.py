"""Unit tests of faas.failover: writes tried again through NATS errors, for a while."""

from __future__ import annotations

import asyncio

import nats.errors
import nats.js.errors
import pytest

from faas.failover import outlast


class Flaky:
    """A write that fails with `errors` in turn, then answers how many tries it took."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.tries = 0

    async def __call__(self) -> int:
        self.tries += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.tries


def test_a_write_is_tried_again_through_nats_errors() -> None:
    write = Flaky(nats.errors.TimeoutError(), nats.js.errors.ServiceUnavailableError())
    assert asyncio.run(outlast(write, patience=5.0, wait=0.0)) == 3


def test_the_last_nats_error_is_raised_once_patience_runs_out() -> None:
    write = Flaky(*[nats.errors.NoRespondersError()] * 100)
    with pytest.raises(nats.errors.NoRespondersError):
        asyncio.run(outlast(write, patience=0.05, wait=0.01))
    assert 2 <= write.tries < 100


@pytest.mark.parametrize("error", [ValueError("a bug"), nats.errors.MaxPayloadError()])
def test_errors_that_do_not_pass_are_not_tried_again(error: Exception) -> None:
    write = Flaky(error)
    with pytest.raises(type(error)):
        asyncio.run(outlast(write, patience=5.0, wait=0.0))
    assert write.tries == 1


def test_each_error_tried_again_is_noted_first() -> None:
    first, second = nats.errors.TimeoutError(), nats.errors.NoRespondersError()
    seen: list[Exception] = []
    assert asyncio.run(outlast(Flaky(first, second), 5.0, 0.0, seen.append)) == 3
    assert seen == [first, second]
