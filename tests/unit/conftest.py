"""Fixtures shared by the unit tests."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], None]:
    """Stdin as an empty pipe; call the fixture with a body to pipe that instead."""

    def pipe(body: bytes) -> None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body)))

    pipe(b"")
    return pipe
