"""The kernel calls the daemonless runtime makes itself: processes by pidfd, the subreaper
attribute, overlay mounts, file descriptors."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from watchdog.exchange import Stop, waiting

PR_SET_CHILD_SUBREAPER = 36


def wait_exit(fd: int, deadline: float, aborted: threading.Event) -> Stop:
    """Until the process exits (EOF), its deadline passes or the call is aborted."""
    while True:
        wait = waiting(deadline, aborted)
        if isinstance(wait, Stop):
            return wait
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            return Stop.EOF


@contextlib.contextmanager
def pidfd(pid: int) -> Iterator[int]:
    fd = os.pidfd_open(pid)
    try:
        yield fd
    finally:
        os.close(fd)


def wait(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """The process's exit code, waited for on its pidfd: Popen.wait with a timeout polls,
    and its sleeps add up to tens of milliseconds to a runc command of forty."""
    with pidfd(proc.pid) as fd:
        ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        proc.kill()
    return proc.wait()


def kill(pid: int) -> None:
    """SIGKILL the container's first process: the kernel then kills all of its pid namespace."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Orphaned processes of this process's children (the containers) become its children."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(errno)}")


def mount(source: str, target: Path, fstype: str, options: str) -> None:
    if _libc.mount(source.encode(), bytes(target), fstype.encode(), 0, options.encode()) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {fstype} on {target}: {os.strerror(errno)}")


def umount(target: Path) -> None:
    if _libc.umount2(bytes(target), 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"umount {target}: {os.strerror(errno)}")
