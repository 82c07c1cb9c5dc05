"""Build the Starlette application; its lifespan owns the NATS connection."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from starlette.applications import Starlette
from starlette.routing import Route

from faas import bus
from faas.records import RecordStore
from faas.secretstore import SecretStore
from faas.settings import GatewaySettings
from gateway import (
    asyncinvoke,
    calls,
    instruments,
    invoke,
    jobs,
    logs,
    openapi,
    schedules,
    secrets,
    system,
)
from gateway.auth import RequireBasicAuth
from gateway.counters import Counters
from gateway.errors import HANDLERS
from gateway.instruments import GatewayMetrics
from gateway.invoker import Invoker
from gateway.kvcache import BucketCache
from gateway.presence import Presence
from gateway.registry import Registry
from gateway.scheduler import Scheduler
from gateway.state import Gateway

log = logging.getLogger(__name__)

ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def routes() -> list[Route]:
    return [
        Route("/function/{name}", invoke.invoke, methods=ANY),
        Route("/function/{name}/{path:path}", invoke.invoke, methods=ANY),
        Route("/async-function/{name}", asyncinvoke.invoke_async, methods=["POST"]),
        Route("/async-function/{name}/{path:path}", asyncinvoke.invoke_async, methods=["POST"]),
        Route("/system/calls", calls.list_calls, methods=["GET"]),
        Route("/system/schedules", schedules.list_schedules, methods=["GET"]),
        Route("/system/calls/{call_id}", calls.get_call, methods=["GET"]),
        Route("/system/calls/{call_id}", calls.cancel_call, methods=["DELETE"]),
        Route("/system/functions", system.list_functions, methods=["GET"]),
        Route("/system/functions", system.deploy_function, methods=["POST"]),
        Route("/system/functions", system.update_function, methods=["PUT"]),
        Route("/system/functions", system.delete_function, methods=["DELETE"]),
        Route("/system/function/{name}", system.get_function, methods=["GET"]),
        Route("/system/scale-function/{name}", system.scale_function, methods=["POST"]),
        Route("/system/namespaces", system.list_namespaces, methods=["GET"]),
        Route("/system/secrets", secrets.list_secrets, methods=["GET"]),
        Route("/system/secrets", secrets.create_secret, methods=["POST"]),
        Route("/system/secrets", secrets.update_secret, methods=["PUT"]),
        Route("/system/secrets", secrets.delete_secret, methods=["DELETE"]),
        Route("/system/logs", logs.get_logs, methods=["GET"]),
        Route("/system/jobs", jobs.submit_job, methods=["POST"]),
        Route("/system/info", system.info, methods=["GET"]),
        Route("/healthz", system.healthz, methods=["GET"]),
        Route("/readyz", system.readyz, methods=["GET"]),
        Route("/metrics", instruments.scrape, methods=["GET"]),
        Route("/openapi.json", openapi.openapi, methods=["GET"]),
    ]


def create_app(settings: GatewaySettings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        openapi.document()  # a broken description fails the start, not the first request
        async with gateway_state(settings) as gw:
            app.state.gateway = gw
            log.info("gateway %s: bodies up to %d bytes", settings.gateway_id, gw.max_body)
            yield

    app = Starlette(routes=routes(), lifespan=lifespan, exception_handlers=HANDLERS)
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
async def gateway_state(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    nc = await bus.connect(settings.nats_url, f"gateway {settings.gateway_id}")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js, nc.max_payload, settings.dedup_window, settings.lease)
        functions = BucketCache(await bus.bucket(js, bus.FUNCTIONS_BUCKET))
        counts = BucketCache(await bus.bucket(js, bus.COUNTERS_BUCKET))
        records = await RecordStore.open(nc, settings.retention)
        keys = await bus.bucket(js, bus.IDEMPOTENCY_BUCKET, settings.dedup_window)
        secret_store = await _secret_store(js, settings)
        await functions.start()
        await counts.start()
        presence = Presence(nc, settings.heartbeat_timeout)
        await presence.start()
        metrics = GatewayMetrics()
        invoker = Invoker(nc, js, presence, bus.reply_prefix(settings.gateway_id), metrics)
        await invoker.start()
        counters = Counters(counts, settings.gateway_id)
        counters.start()
        gw = Gateway(
            settings,
            nc,
            Registry(functions),
            counters,
            presence,
            invoker,
            js,
            records,
            keys,
            metrics,
            secrets=secret_store,
        )
        gw.scheduler = Scheduler(gw, await bus.bucket(js, bus.SCHEDULES_BUCKET))
        gw.scheduler.start()
        try:
            yield gw
        finally:
            await gw.scheduler.stop()
            await counters.stop()
            await functions.stop()
            await counts.stop()
    finally:
        await bus.close(nc)


async def _secret_store(js: JetStreamContext, settings: GatewaySettings) -> SecretStore | None:
    if settings.secrets_key_file is None:
        log.info("secrets are off: no secrets key (--secrets-key FILE)")
        return None
    return await SecretStore.open(js, settings.secrets_key_file)
