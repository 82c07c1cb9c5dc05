"""Follow a one-shot job from the CLI: its lines as they come, then the code to exit with."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable

from cli.client import Client
from cli.records import LogEntry
from faas.errors import Error
from faas.jobspec import JOB_FUNCTION
from faas.records import CallRecord, CallState

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between looks at the job's record
TIMED_OUT = 124  # as timeout(1) exits
BURST = 1000  # lines shown at once at most

Show = Callable[[list[LogEntry]], None]  # shows lines, in order


def watch(client: Client, call_id: str, show: Show) -> CallRecord:
    """Show the job's lines as they come until its record is final; return that record.

    The lines come from a follow request read in a thread. Once the record is final every
    line is stored, so the stored lines are read once more and the ones not shown yet are
    shown: none is lost, none shown twice.
    """
    came: queue.Queue[LogEntry] = queue.Queue()
    stop = threading.Event()
    pump = threading.Thread(target=_pump, args=(client, call_id, came, stop), daemon=True)
    pump.start()
    shown = 0
    try:
        while not (record := client.call(call_id)).state.final:
            shown += _show_for(came, show, POLL)
    finally:
        stop.set()
    rest = itertools.islice(client.logs(JOB_FUNCTION, instance=call_id), shown, None)
    while burst := list(itertools.islice(rest, BURST)):
        show(burst)
    return record


def outcome(record: CallRecord) -> tuple[int, str]:
    """The code `faas run` exits with, and what it says on stderr first ("" for nothing)."""
    state, code = record.state, record.exitCode
    message = record.message or f"the job ended {state}"
    if state is CallState.SUCCEEDED:
        return 0, ""
    if state is CallState.TIMED_OUT:
        return TIMED_OUT, message
    if state is CallState.FAILED and code is not None:
        return code, message if code >= 128 else ""  # killed by a signal: say why
    return 1, message


def _show_for(came: queue.Queue[LogEntry], show: Show, seconds: float) -> int:
    """Show the lines that come within `seconds`, a burst at a time; return how many."""
    deadline, count = time.monotonic() + seconds, 0
    while (left := deadline - time.monotonic()) > 0:
        try:
            burst = [came.get(timeout=left)]
        except queue.Empty:
            break
        while len(burst) < BURST and not came.empty():  # this thread alone takes from it
            burst.append(came.get_nowait())
        show(burst)
        count += len(burst)
    return count


def _pump(client: Client, call_id: str, came: queue.Queue[LogEntry], stop: threading.Event) -> None:
    """Queue the job's lines as the gateway sends them, until told to stop."""
    try:
        for entry in client.logs(JOB_FUNCTION, follow=True, instance=call_id):
            if stop.is_set():
                return
            came.put(entry)
    except Error as exc:
        log.debug("job %s: following its lines stopped: %s", call_id, exc)  # read again at the end
