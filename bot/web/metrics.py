"""Prometheus metrics for the web app: one middleware counting and timing each request by
route (the route's pattern, e.g. /console/tickets/{reference}, never the raw path) and
status, and the internal listener. /metrics is never a route of the published app: it is
served on METRICS_HOST:METRICS_PORT only (loopback by default)."""
from __future__ import annotations

import time
from typing import Awaitable, Callable

from aiohttp import web

from bot import metrics
from bot.config import Settings

PROCESS = "web"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_of(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        route = route_of(request)
        metrics.HTTP_REQUESTS.labels(PROCESS, route, request.method, str(status)).inc()
        metrics.HTTP_LATENCY.labels(PROCESS, route, request.method).observe(
            time.perf_counter() - started)


def instrument(app: web.Application, settings: Settings) -> None:
    """Count the app's requests; serve the metrics on the internal port when one is set."""
    app.middlewares.insert(0, count_requests)
    if settings.metrics_port:
        from bot.insight.runtime_gauges import reader
        metrics.serve(settings.metrics_host, settings.metrics_port,
                      metrics.HelpdeskCollector(reader(settings)))
