"""Which watchdogs are connected, from their heartbeats."""

from __future__ import annotations

import logging
import time
from operator import attrgetter

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from faas import bus
from faas.errors import WireError
from faas.wire import Heartbeat, WatchdogState, unpack

log = logging.getLogger(__name__)

PING_TIMEOUT = 0.5


class Presence:
    def __init__(self, nc: Client, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout
        self.seen: dict[str, tuple[float, Heartbeat]] = {}

    async def start(self) -> None:
        await self.nc.subscribe(bus.HEARTBEAT_SUBJECT, cb=self._on_heartbeat)

    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            beat = unpack(msg.data, Heartbeat)
        except WireError as exc:
            log.warning("bad heartbeat: %s", exc)
            return
        if beat.state is WatchdogState.GONE:
            self.seen.pop(beat.watchdog, None)
        else:
            self.seen[beat.watchdog] = (time.monotonic(), beat)

    def live(self) -> list[Heartbeat]:
        """Watchdogs heard of lately that take new calls."""
        horizon = time.monotonic() - self.timeout
        return [
            beat
            for at, beat in self.seen.values()
            if at >= horizon and beat.state is WatchdogState.READY
        ]

    def heard(self) -> list[Heartbeat]:
        """Watchdogs heard of lately, draining ones too, by name."""
        horizon = time.monotonic() - self.timeout
        return sorted(
            (beat for at, beat in self.seen.values() if at >= horizon), key=attrgetter("watchdog")
        )

    def alive(self, watchdog: str) -> bool:
        """Heard of lately, even if draining: its running calls will still report."""
        at, _ = self.seen.get(watchdog, (0.0, None))
        return at >= time.monotonic() - self.timeout

    async def any_connected(self) -> bool:
        """True if a watchdog is heard of; asks the bus when none is (e.g. just after start)."""
        if self.live():
            return True
        try:
            reply = await self.nc.request(bus.PING_SUBJECT, b"", timeout=PING_TIMEOUT)
        except (NoRespondersError, NatsTimeoutError, TimeoutError):
            return False
        await self._on_heartbeat(reply)
        return True
