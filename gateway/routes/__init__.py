"""The HTTP routes: each module answers one part of the API through the gateway's services."""

from __future__ import annotations

from starlette.routing import Route

from gateway.routes import (
    async_invoke,
    callevents,
    calls,
    docs,
    functions,
    health,
    images,
    invoke,
    jobs,
    logs,
    metrics,
    retry,
    schedules,
    secrets,
    stats,
)

ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def routes() -> list[Route]:
    return [
        Route("/function/{name}", invoke.invoke, methods=ANY),
        Route("/function/{name}/{path:path}", invoke.invoke, methods=ANY),
        Route("/async-function/{name}", async_invoke.invoke_async, methods=["POST"]),
        Route("/async-function/{name}/{path:path}", async_invoke.invoke_async, methods=["POST"]),
        Route("/system/calls", calls.list_calls, methods=["GET"]),
        Route("/system/calls/events", callevents.call_events, methods=["GET"]),
        Route("/system/stats", stats.get_stats, methods=["GET"]),
        Route("/system/schedules", schedules.list_schedules, methods=["GET"]),
        Route("/system/schedules/{name}", schedules.get_schedule, methods=["GET"]),
        Route("/system/schedules/{name}/pause", schedules.pause_schedule, methods=["POST"]),
        Route("/system/schedules/{name}/resume", schedules.resume_schedule, methods=["POST"]),
        Route("/system/schedules/{name}/run", schedules.run_schedule, methods=["POST"]),
        Route("/system/calls/{call_id}", calls.get_call, methods=["GET"]),
        Route("/system/calls/{call_id}", calls.cancel_call, methods=["DELETE"]),
        Route("/system/calls/{call_id}/retry", retry.retry_call, methods=["POST"]),
        Route("/system/functions", functions.list_functions, methods=["GET"]),
        Route("/system/functions", functions.deploy_function, methods=["POST"]),
        Route("/system/functions", functions.update_function, methods=["PUT"]),
        Route("/system/functions", functions.delete_function, methods=["DELETE"]),
        Route("/system/function/{name}", functions.get_function, methods=["GET"]),
        Route("/system/scale-function/{name}", functions.scale_function, methods=["POST"]),
        Route("/system/namespaces", functions.list_namespaces, methods=["GET"]),
        Route("/system/secrets", secrets.list_secrets, methods=["GET"]),
        Route("/system/secrets", secrets.create_secret, methods=["POST"]),
        Route("/system/secrets", secrets.update_secret, methods=["PUT"]),
        Route("/system/secrets", secrets.delete_secret, methods=["DELETE"]),
        Route("/system/logs", logs.get_logs, methods=["GET"]),
        Route("/system/images", images.list_images, methods=["GET"]),
        Route("/system/images/{image_id}", images.get_image, methods=["GET"]),
        Route("/system/images/{image_id}", images.put_image, methods=["PUT"]),
        Route("/system/image-tags/{tag:path}", images.put_tag, methods=["PUT"]),
        Route("/system/jobs", jobs.submit_job, methods=["POST"]),
        Route("/system/info", health.info, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", metrics.scrape, methods=["GET"]),
        Route("/openapi.json", docs.openapi, methods=["GET"]),
    ]
