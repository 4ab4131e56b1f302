"""Prometheus metrics for rasa-sdk's action server (a Sanic app): requests by route and status,
and each custom action's runs and time, served on the internal METRICS_PORT.

Kept apart from authentication and from the actions: two Sanic middlewares and a listener.
The action's name is a label only when the server knows it (`executor.actions`), so a caller
cannot grow the label set with invented names.
"""
from __future__ import annotations

import time
from typing import Any

from bot import metrics
from bot.config import Settings

PROCESS = "action_server"
KNOWN_ROUTES = {"/webhook": "webhook", "/health": "health", "/actions": "actions"}


def _action_name(request: Any, known: set[str]) -> str:
    try:
        name = (request.json or {}).get("next_action")
    except Exception:  # an unreadable body: rasa-sdk answers it with a 400 itself
        return "unreadable"
    return name if isinstance(name, str) and name in known else "unknown"


def instrument_action_server(app: Any, executor: Any) -> Any:
    """Add the metrics middleware and listener to rasa-sdk's Sanic app; return it."""
    settings = Settings.from_env()

    @app.on_request
    async def _started(request: Any) -> None:
        request.ctx.metrics_started = time.perf_counter()

    @app.on_response
    async def _finished(request: Any, response: Any) -> None:
        started = getattr(request.ctx, "metrics_started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        route = KNOWN_ROUTES.get(request.path, "other")
        status = str(getattr(response, "status", 0))
        metrics.HTTP_REQUESTS.labels(PROCESS, route, request.method, status).inc()
        metrics.HTTP_LATENCY.labels(PROCESS, route, request.method).observe(elapsed)
        if route == "webhook":
            known = set(getattr(executor, "actions", {}) or {})
            action = _action_name(request, known)
            outcome = "ok" if status == "200" else f"status_{status}"
            metrics.ACTION_RUNS.labels(action, outcome).inc()
            metrics.ACTION_LATENCY.labels(action).observe(elapsed)

    if settings.metrics_port:
        @app.before_server_start
        async def _serve_metrics(_app: Any, _loop: Any = None) -> None:
            metrics.serve(settings.metrics_host, settings.metrics_port,
                          metrics.HelpdeskCollector(_database_gauges(settings)))
    return app


def _database_gauges(settings: Settings) -> Any:
    from bot.insight.runtime_gauges import reader
    return reader(settings)
