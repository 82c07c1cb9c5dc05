"""Unit tests of watchdog.executor: where a runner is called from, with fake runners."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from faas.wire import CallRequest, CallResult, Outcome, RunSpec
from watchdog.deliver import Written
from watchdog.exchange import Tap
from watchdog.executor import Executor


class ThreadNoting:
    """A runner that answers at once, noting the thread it was called in."""

    def __init__(self, blocking: bool) -> None:
        self.blocking = blocking
        self.threads: list[int] = []
        self.removed: list[str] = []

    def run(
        self, call: CallRequest, aborted: threading.Event, tap: Tap | None = None
    ) -> tuple[CallResult, str | None]:
        self.threads.append(threading.get_ident())
        return CallResult(call.call_id, Outcome.OK, exit_code=0, body=call.body), "container-1"

    def remove(self, container_id: str) -> None:
        self.removed.append(container_id)

    def remove_orphans(self) -> int:
        return 0

    def forget(self, function: str) -> None:
        pass

    def close(self) -> None:
        pass


def run_one(runner: ThreadNoting) -> tuple[CallResult, Executor, int]:
    """Run one call through the executor; its result, the executor and the loop's thread."""

    async def go(pool: ThreadPoolExecutor) -> tuple[CallResult, Executor, int]:
        unused: Any = None  # no NATS, JetStream or records: _run touches none of them
        executor = Executor("w1", unused, unused, unused, runner, pool, 30.0, Written())
        result = await executor._run(CallRequest("c1", "echo", RunSpec("img"), body=b"hi"))
        await executor.wait_cleanups()
        return result, executor, threading.get_ident()

    with ThreadPoolExecutor(2) as pool:
        return asyncio.run(go(pool))


def test_a_blocking_runner_runs_in_a_thread_of_the_pool() -> None:
    runner = ThreadNoting(blocking=True)
    result, executor, loop_thread = run_one(runner)
    assert (result.outcome, result.body) == (Outcome.OK, b"hi")
    assert runner.threads and runner.threads[0] != loop_thread
    assert runner.removed == ["container-1"]
    assert executor.aborts == {}  # the call's abort is dropped once it ends


def test_a_runner_that_never_blocks_runs_on_the_event_loop() -> None:
    runner = ThreadNoting(blocking=False)
    result, executor, loop_thread = run_one(runner)
    assert (result.outcome, result.body) == (Outcome.OK, b"hi")
    assert runner.threads == [loop_thread]
    assert runner.removed == ["container-1"]  # its container is still removed after
    assert executor.aborts == {}
