"""Unit tests of watchdog.oci.pool: containers made ahead, bounded, each used once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from watchdog.oci.pool import SHIM_PATH, Entry, Limits, Pool, env_prefix, shim_args


class FakeRuntime:
    """Makes entries at once and notes what was removed."""

    def __init__(self, rss: int = 10) -> None:
        self.rss = rss
        self.made: list[str] = []
        self.removed: list[str] = []
        self.fail = False
        self.changed = threading.Condition()

    def make(self, key: str) -> Entry:
        if self.fail:
            raise OSError("disk full")
        with self.changed:
            container_id = f"c{len(self.made)}"
            self.made.append(container_id)
            self.changed.notify_all()
        return Entry(key, key.split("/")[0], container_id, self.rss, time.monotonic())

    def remove(self, container_id: str) -> None:
        with self.changed:
            self.removed.append(container_id)
            self.changed.notify_all()

    def until(self, check: object, timeout: float = 5) -> None:
        with self.changed:
            assert self.changed.wait_for(check, timeout), "the pool did not get there"  # type: ignore[arg-type]


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


def started(runtime: FakeRuntime, limits: Limits) -> Pool:
    pool = Pool(limits, runtime.make, runtime.remove)
    pool.start()
    return pool


@pytest.fixture
def pool(runtime: FakeRuntime) -> Iterator[Pool]:
    made = started(runtime, Limits(per_key=2, total=3, memory=1000, idle=60))
    yield made
    made.stop()


def test_nothing_is_made_before_a_call_asks(pool: Pool, runtime: FakeRuntime) -> None:
    time.sleep(0.1)
    assert runtime.made == []


def test_a_call_gets_none_first_then_the_pool_fills_to_its_share(
    pool: Pool, runtime: FakeRuntime
) -> None:
    assert pool.take("f/1", "f") is None
    runtime.until(lambda: len(runtime.made) == 2)
    time.sleep(0.1)
    assert len(runtime.made) == 2  # per_key
    first = pool.take("f/1", "f")
    second = pool.take("f/1", "f")
    assert first is not None and second is not None
    assert first.container_id != second.container_id  # each used once


def test_the_whole_pool_is_bounded(pool: Pool, runtime: FakeRuntime) -> None:
    for key in ("a/1", "b/1", "c/1"):
        pool.take(key, key[0])
    runtime.until(lambda: len(runtime.made) == 3)
    time.sleep(0.1)
    assert len(pool.waiting()) == 3  # total, though three keys want two each


def test_the_memory_bound_holds(runtime: FakeRuntime) -> None:
    runtime.rss = 600
    pool = started(runtime, Limits(per_key=5, total=5, memory=1000, idle=60))
    try:
        pool.take("f/1", "f")
        runtime.until(lambda: len(runtime.made) == 2)
        time.sleep(0.1)
        assert len(runtime.made) == 2  # 1200 bytes once the second was made: no third
    finally:
        pool.stop()


def test_a_new_spec_of_the_function_removes_the_old_ones(pool: Pool, runtime: FakeRuntime) -> None:
    pool.take("f/1", "f")
    runtime.until(lambda: len(runtime.made) == 2)
    pool.take("f/2", "f")
    runtime.until(lambda: len(runtime.removed) == 2)
    assert sorted(runtime.removed) == ["c0", "c1"]
    assert all(e.key == "f/2" for e in pool.waiting())


def test_forget_drains_and_stops_making(pool: Pool, runtime: FakeRuntime) -> None:
    pool.take("f/1", "f")
    pool.take("g/1", "g")
    runtime.until(lambda: len(runtime.made) == 3)
    gone = pool.forget("f")
    assert gone == len([c for c in runtime.removed])
    time.sleep(0.2)
    assert all(e.function == "g" for e in pool.waiting())
    assert pool.take("f/1", "f") is None


def test_idle_containers_expire(runtime: FakeRuntime) -> None:
    pool = started(runtime, Limits(per_key=1, total=2, memory=1000, idle=0.2))
    try:
        pool.take("f/1", "f")
        runtime.until(lambda: len(runtime.made) == 1)
        runtime.until(lambda: runtime.removed == ["c0"], timeout=3)
        assert pool.waiting() == []
    finally:
        pool.stop()


def test_stop_removes_every_waiting_container(runtime: FakeRuntime) -> None:
    pool = started(runtime, Limits(per_key=2, total=4, memory=1000, idle=60))
    pool.take("f/1", "f")
    runtime.until(lambda: len(runtime.made) == 2)
    pool.stop()
    assert sorted(runtime.removed) == ["c0", "c1"]


def test_a_failure_to_make_one_is_not_retried_in_a_loop(pool: Pool, runtime: FakeRuntime) -> None:
    runtime.fail = True
    pool.take("f/1", "f")
    time.sleep(0.2)
    runtime.fail = False
    time.sleep(0.1)
    assert runtime.made == []  # the next call asks again


def test_env_prefix_is_lines_then_a_blank_line() -> None:
    assert env_prefix({"Http_Method": "POST", "Http_X": "a b=c"}) == (
        b"Http_Method=POST\nHttp_X=a b=c\n\n"
    )
    assert env_prefix({}) == b"\n"


def test_values_that_cannot_be_a_line_are_refused() -> None:
    assert env_prefix({"Http_Path": "/a\nb"}) is None
    assert env_prefix({"Http_Path": "/a\0b"}) is None


def test_the_shim_runs_the_function_command_after_it() -> None:
    args = shim_args(["python3", "/app/handler.py"])
    assert args[0] == SHIM_PATH
    assert args[-2:] == ["python3", "/app/handler.py"]


def test_a_full_pool_makes_room_for_the_function_asked_for_last(runtime: FakeRuntime) -> None:
    pool = started(runtime, Limits(per_key=2, total=2, memory=1000, idle=60))
    try:
        pool.take("a/1", "a")
        runtime.until(lambda: len(runtime.made) == 2)
        pool.take("b/1", "b")
        runtime.until(lambda: len(runtime.made) == 4)
        time.sleep(0.1)
        assert sorted(runtime.removed) == ["c0", "c1"]
        assert [e.key for e in pool.waiting()] == ["b/1", "b/1"]
    finally:
        pool.stop()
