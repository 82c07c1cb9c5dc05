"""What every request handler of a gateway shares, built in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from faas.bus import ENVELOPE_ROOM
from faas.records import RecordStore
from faas.secretstore import SecretStore
from faas.settings import GatewaySettings
from gateway.counters import Counters
from gateway.instruments import GatewayMetrics
from gateway.invoker import Invoker
from gateway.presence import Presence
from gateway.registry import Registry

if TYPE_CHECKING:
    from gateway.scheduler import Scheduler


@dataclass
class Gateway:
    settings: GatewaySettings
    nc: Client
    registry: Registry
    counters: Counters
    presence: Presence
    invoker: Invoker
    js: JetStreamContext
    records: RecordStore
    idempotency: KeyValue
    metrics: GatewayMetrics
    secrets: SecretStore | None = None  # None: no secrets key, secrets are off
    scheduler: Scheduler | None = None  # set once the gateway is built

    @property
    def max_body(self) -> int:
        """The configured limit, lowered to what the NATS server carries."""
        return min(self.settings.max_body, self.nc.max_payload - ENVELOPE_ROOM)
