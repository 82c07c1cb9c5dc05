"""Unit tests of faas.inflight: a write refused while another writer's is in flight is made
again a moment later; any other refusal is the caller's at once. The bucket and stream are
fakes that refuse as a clustered server does (seen in tests/e2e/test_cluster.py's logs)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.js.errors import APIError, KeyNotFoundError, KeyWrongLastSequenceError

from faas import inflight


class Refusing:
    """Refuses the first writes with the given errors, then stores; counts its writes."""

    def __init__(self, *refusals: Exception) -> None:
        self.refusals = list(refusals)
        self.writes: list[tuple[Any, ...]] = []

    def _write(self, *args: Any) -> int:
        self.writes.append(args)
        if self.refusals:
            raise self.refusals.pop(0)
        return len(self.writes)

    async def create(self, key: str, value: bytes) -> int:
        return self._write(key, value)

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        self._write(subject, data, headers)


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inflight, "WAIT", 0.0)


def in_flight() -> APIError:
    return APIError(code=409, err_code=inflight.IN_FLIGHT, description="in process")


def test_a_create_refused_by_a_write_in_flight_is_made_again() -> None:
    kv = Refusing(KeyNotFoundError(), KeyNotFoundError())
    assert asyncio.run(inflight.create_first(kv, "k", b"v")) == 3  # type: ignore[arg-type]
    assert kv.writes == [("k", b"v")] * 3


def test_a_taken_key_is_reported_at_once() -> None:
    kv = Refusing(KeyWrongLastSequenceError())
    with pytest.raises(KeyWrongLastSequenceError):
        asyncio.run(inflight.create_first(kv, "k", b"v"))  # type: ignore[arg-type]
    assert len(kv.writes) == 1


def test_a_write_still_in_flight_after_every_try_is_reported() -> None:
    kv = Refusing(*(KeyNotFoundError() for _ in range(inflight.TRIES)))
    with pytest.raises(KeyNotFoundError):
        asyncio.run(inflight.create_first(kv, "k", b"v"))  # type: ignore[arg-type]
    assert len(kv.writes) == inflight.TRIES


def test_a_publish_refused_by_a_copy_in_flight_is_made_again_under_its_id() -> None:
    js = Refusing(in_flight())
    asyncio.run(inflight.publish_once(js, "s", b"d", "id-1"))  # type: ignore[arg-type]
    assert js.writes == [("s", b"d", {"Nats-Msg-Id": "id-1"})] * 2


def test_a_publish_refused_otherwise_is_reported_at_once() -> None:
    js = Refusing(APIError(code=503, err_code=10008, description="unavailable"))
    with pytest.raises(APIError):
        asyncio.run(inflight.publish_once(js, "s", b"d", "id-1"))  # type: ignore[arg-type]
    assert len(js.writes) == 1
