"""The gateway's services, built once in the app's lifespan and shared by every route."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client
from nats.js import JetStreamContext

from faas.images import ImageBank
from faas.records import RecordStore
from faas.secretstore import SecretStore
from faas.settings import GatewaySettings
from gateway.callindex import CallIndex
from gateway.callstats import CallStats
from gateway.counters import Counters
from gateway.instruments import GatewayMetrics
from gateway.presence import Presence
from gateway.registry import Registry
from gateway.scheduler import Scheduler
from gateway.submissions import Submissions
from gateway.synccalls import SyncCalls


@dataclass(frozen=True)
class Gateway:
    settings: GatewaySettings
    nc: Client
    js: JetStreamContext
    max_body: int  # the configured limit, lowered to what the NATS server carries
    registry: Registry
    counters: Counters
    presence: Presence
    sync_calls: SyncCalls
    records: RecordStore
    submissions: Submissions
    scheduler: Scheduler
    metrics: GatewayMetrics
    secrets: SecretStore | None  # None: no secrets key, secrets are off
    images: ImageBank
    index: CallIndex  # every call's summary: listings, the feed of changes
    stats: CallStats  # the overview of functions and watchdogs
