"""Where a process spends its time under load: py-spy samples, summed by frame.

`Profiler` runs `py-spy record` against live processes for the length of a series and then
names the frames with the most samples of their own (`self`) and in their stack (`total`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.parts import BenchError

RATE = 200  # samples a second


@dataclass(frozen=True)
class Frame:
    name: str  # "function (file:line)" as py-spy prints it
    self_share: float  # of all samples
    total_share: float

    def to_json(self) -> dict[str, object]:
        return {"frame": self.name, "self": self.self_share, "total": self.total_share}


@dataclass
class Recording:
    name: str
    path: Path
    proc: subprocess.Popen[bytes]


def binary() -> str:
    """py-spy beside this Python (a virtual environment's), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise BenchError("py-spy not found: pip install py-spy")
    return found


def start(name: str, pid: int, seconds: float, folder: Path) -> Recording:
    """Sample the process (its idle time left out) for `seconds`."""
    path = folder / f"{name}.pyspy.txt"
    argv = [
        binary(),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(RATE),
        "--format",
        "raw",
        "--output",
        str(path),
        "--nonblocking",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Recording(name, path, proc)


def finish(recording: Recording, top: int = 12) -> list[Frame]:
    """Wait for py-spy; the frames with the most samples of their own, with their totals."""
    _, err = recording.proc.communicate(timeout=120)
    if recording.proc.returncode != 0 or not recording.path.exists():
        raise BenchError(f"py-spy on {recording.name} failed: {err.decode().strip()}")
    return summarize(recording.path.read_text(), top)


def summarize(collapsed: str, top: int) -> list[Frame]:
    """From py-spy's raw output: one `frame;frame;...;frame count` line per distinct stack."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        n = int(count)
        samples += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return []
    return [Frame(name, n / samples, total[name] / samples) for name, n in own.most_common(top)]
