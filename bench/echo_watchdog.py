"""A watchdog whose calls run no container: each answers its own body at once.

A benchmark double, to time the gateway and NATS path alone:
`python -m bench.echo_watchdog --nats URL --capacity 64 --id bench-echo-1`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import threading
import time
from collections.abc import Sequence

from faas import serving
from faas.settings import WatchdogSettings
from faas.wire import CallRequest, CallResult, Outcome
from watchdog.exchange import Tap
from watchdog.node import Watchdog


class EchoRunner:
    """Implements watchdog.runner.Runner: every call succeeds with its body as its output.

    It never blocks, so the watchdog calls it on its event loop: the thread a container's
    runner is called in is the runner's cost, not the control path's.
    """

    blocking = False

    def __init__(self, watchdog_id: str = "") -> None:
        self.watchdog_id = watchdog_id

    def run(
        self, call: CallRequest, aborted: threading.Event, tap: Tap | None = None
    ) -> tuple[CallResult, str | None]:
        started = time.monotonic()
        result = CallResult(
            call_id=call.call_id,
            outcome=Outcome.OK,
            exit_code=0,
            body=call.body,
            content_type=call.run.content_type,
            duration=time.monotonic() - started,
            watchdog=self.watchdog_id,
        )
        return result, None

    def remove(self, container_id: str) -> None:
        """Nothing to remove: no container was made."""

    def remove_orphans(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def forget(self, function: str) -> None:
        pass


async def serve(settings: WatchdogSettings) -> None:
    """Run until SIGTERM or SIGINT, then shut down as the real watchdog does."""
    node = Watchdog(settings, EchoRunner(settings.watchdog_id))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.stop)
    await node.run()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.echo_watchdog", description=__doc__)
    p.add_argument("--nats", required=True, help="NATS URL")
    p.add_argument("--capacity", type=int, default=64, help="calls run at once (default 64)")
    p.add_argument("--id", required=True, help="watchdog id")
    p.add_argument("--nats-replicas", type=int, help="copies of each stream and bucket")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    settings = WatchdogSettings(
        nats_url=args.nats,
        watchdog_id=args.id,
        capacity=args.capacity,
        nats_replicas=args.nats_replicas,
    )
    serving.run(serve(settings))  # as `faas watchdog` runs
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
