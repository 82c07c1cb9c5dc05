"""Native HTTP load from `wrk` (Debian's package): one series at a fixed concurrency.

Every answer is checked in wrk's own Lua (status, and body when one is expected), so a series
that is fast because it fails shows its failures. wrk reports through a `done()` hook as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.parts import BenchError

_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) wrong = 0 end
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
function response(status, headers, body)
  if status ~= %(status)d or (%(check_body)s and body ~= %(expected)s) then
    wrong = wrong + 1
  end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("wrong") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%.6f, "wrong": %%d, "socket_errors": %%d, ' ..
    '"p50": %%.1f, "p90": %%.1f, "p99": %%.1f, "mean": %%.1f}\\n',
    summary.requests, summary.duration / 1e6, bad,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True)
class Load:
    """What to send, and what every answer must be."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    status: int = 200
    expected: bytes | None = None  # the body every answer must have; None: not checked


@dataclass(frozen=True)
class Result:
    """One wrk run: answers, how many were wrong, latency percentiles in milliseconds."""

    requests: int
    seconds: float
    wrong: int  # wrong status or body
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def good(self) -> int:
        return max(0, self.requests - self.wrong)

    @property
    def rate(self) -> float:
        """Right answers per second."""
        return self.good / self.seconds if self.seconds else 0.0


def binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk not found: apt-get install wrk")
    return found


def run(base_url: str, load: Load, concurrency: int, seconds: float) -> Result:
    """`wrk` with one thread and `concurrency` connections for `seconds`."""
    with tempfile.TemporaryDirectory(prefix="faas-wrk-") as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(_script(load))
        argv = [
            binary(),
            "-t1",
            f"-c{concurrency}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base_url + load.path,
        ]
        done = subprocess.run(argv, capture_output=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.decode().strip()}")
    return _parse(done.stdout.decode())


def _parse(output: str) -> Result:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise BenchError(f"wrk printed no summary:\n{output}")
    data = json.loads(lines[-1])
    return Result(
        requests=data["requests"],
        seconds=data["seconds"],
        wrong=data["wrong"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p99_ms=data["p99"] / 1000,
    )


def _script(load: Load) -> str:
    headers = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in load.headers)
    return _SCRIPT % {
        "method": _lua(load.method),
        "body": _lua(load.body.decode()) if load.body else "nil",
        "headers": headers,
        "status": load.status,
        "check_body": "true" if load.expected is not None else "false",
        "expected": _lua((load.expected or b"").decode()),
    }


def _lua(text: str) -> str:
    """A Lua string literal: JSON's escapes are Lua's, but for \\u, so ASCII text only."""
    if not text.isascii():
        raise BenchError(f"wrk's Lua takes ASCII text only, not {text!r}")
    return json.dumps(text)
