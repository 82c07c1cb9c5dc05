"""Build the Starlette application: its routes, its auth, and one lifespan that starts the
services in order and stops them in reverse (a part that fails to start stops the rest)."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from starlette.applications import Starlette

from faas import bus, layout
from faas.images import ImageBank
from faas.layout import Layout
from faas.records import RecordStore
from faas.secretstore import SecretStore
from faas.settings import GatewaySettings
from gateway import openapi, ui
from gateway.auth import RequireBasicAuth
from gateway.callindex import CallIndex
from gateway.callstats import CallStats
from gateway.counters import Counters
from gateway.errors import HANDLERS
from gateway.instruments import GatewayMetrics
from gateway.kvcache import BucketCache
from gateway.presence import Presence
from gateway.registry import Registry
from gateway.routes import routes
from gateway.scheduler import Scheduler
from gateway.state import Gateway
from gateway.submissions import Submissions
from gateway.synccalls import SyncCalls

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings, gw: Gateway | None = None) -> Starlette:
    """The app; its lifespan starts the services, unless they are given (started already)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as running:
            app.state.gateway = gw or await running.enter_async_context(services(settings))
            yield

    openapi.document()  # a broken description fails the start, not the first request

    app = Starlette(
        routes=[*routes(), *ui.routes()], lifespan=lifespan, exception_handlers=HANDLERS
    )
    _guard(app, settings)
    return app


def _guard(app: Starlette, settings: GatewaySettings) -> None:
    """Require Basic auth when credentials are set (as OpenFaaS); say whether it is on."""
    auth = settings.basic_auth()
    if auth is None:
        log.warning("auth is off: no credentials are set, so /system/ is open to every caller")
        return
    app.add_middleware(RequireBasicAuth, auth=auth, invoke_auth=settings.invoke_auth)
    guarded = "/system/ and invocations" if settings.invoke_auth else "/system/"
    log.info("auth is on: HTTP Basic as %s on %s", auth.user, guarded)


@contextlib.asynccontextmanager
async def services(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    """The gateway's services, running until the block ends."""
    async with contextlib.AsyncExitStack() as running:
        restore = functools.partial(layout.restore_for, settings)
        nc = await bus.connect(settings.nats_url, f"gateway {settings.gateway_id}", restore)
        running.push_async_callback(bus.close, nc)
        js = nc.jetstream()
        await layout.ensure(js, Layout.of(settings, nc.max_payload))
        max_body = min(settings.max_body, nc.max_payload - bus.ENVELOPE_ROOM)
        records = await RecordStore.open(nc, settings.retention)
        secrets = await _secret_store(js, settings)
        functions = await _watched(running, js, bus.FUNCTIONS_BUCKET)
        counts = await _watched(running, js, bus.COUNTERS_BUCKET)
        registry = Registry(functions)
        presence = Presence(nc, settings.heartbeat_timeout)
        await presence.start()
        metrics = GatewayMetrics()
        sync_calls = SyncCalls(nc, js, presence, bus.reply_prefix(settings.gateway_id), metrics)
        await sync_calls.start()
        counters = Counters(counts, settings.gateway_id)
        counters.start()
        running.push_async_callback(counters.stop)
        idempotency = await layout.bucket(js, bus.IDEMPOTENCY_BUCKET, settings.dedup_window)
        submissions = Submissions(nc, js, records, idempotency, registry, max_body)
        running.push_async_callback(submissions.all_settled)
        scheduler = Scheduler(
            registry,
            submissions,
            records,
            await layout.bucket(js, bus.SCHEDULES_BUCKET),
            settings.dedup_window,
            max_body,
        )
        scheduler.start()
        running.push_async_callback(scheduler.stop)
        index = CallIndex(records)  # starts on its first use
        running.push_async_callback(index.stop)
        log.info("gateway %s: bodies up to %d bytes", settings.gateway_id, max_body)
        yield Gateway(
            settings=settings,
            nc=nc,
            js=js,
            max_body=max_body,
            registry=registry,
            counters=counters,
            presence=presence,
            sync_calls=sync_calls,
            records=records,
            submissions=submissions,
            scheduler=scheduler,
            metrics=metrics,
            secrets=secrets,
            images=await ImageBank.open(js),
            index=index,
            stats=CallStats(index, registry, presence, nc),
        )


async def _watched(
    running: contextlib.AsyncExitStack, js: JetStreamContext, name: str
) -> BucketCache:
    """A local copy of the bucket, kept current until the gateway stops."""
    cache = BucketCache(await layout.bucket(js, name), name)
    await cache.start()
    running.push_async_callback(cache.stop)
    return cache


async def _secret_store(js: JetStreamContext, settings: GatewaySettings) -> SecretStore | None:
    if settings.secrets_key_file is None:
        log.info("secrets are off: no secrets key (--secrets-key FILE)")
        return None
    return await SecretStore.open(js, settings.secrets_key_file)
