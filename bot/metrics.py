"""Prometheus metrics of the services processes (web app, action server, ticket worker, insight
consumer), served on an internal port only.

Each process calls `serve(host, port)` with its own METRICS_PORT: a separate listener, bound
to loopback by default (an internal network in docker-compose, never published), so the
public web app's port never answers /metrics. The metric objects live here so that every
process names them alike; a process exports only those it updates, plus the gauges that
`HelpdeskCollector` reads from the database at scrape time.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger("bot.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "helpdesk_http_requests_total", "HTTP requests answered, by route and status.",
    ["process", "route", "method", "status"])
HTTP_LATENCY = Histogram(
    "helpdesk_http_request_seconds", "Time to answer an HTTP request, by route.",
    ["process", "route", "method"], buckets=LATENCY_BUCKETS)
ACTION_RUNS = Counter(
    "helpdesk_action_runs_total", "Custom actions run by the action server, by outcome.",
    ["action", "outcome"])
ACTION_LATENCY = Histogram(
    "helpdesk_action_seconds", "Time a custom action took.", ["action"],
    buckets=LATENCY_BUCKETS)
BACKOFFICE_CALLS = Counter(
    "helpdesk_backoffice_calls_total", "Calls to the back office (records port), by outcome.",
    ["operation", "outcome"])
BACKOFFICE_LATENCY = Histogram(
    "helpdesk_backoffice_call_seconds", "Back-office call latency.", ["operation"],
    buckets=LATENCY_BUCKETS)
WORKER_PASSES = Counter(
    "helpdesk_ticket_worker_passes_total", "Ticket worker passes, by outcome.", ["outcome"])
NOTIFICATIONS = Counter(
    "helpdesk_ticket_notifications_total", "Ticket notifications handled, by result.", ["result"])
SLA_BREACHES_FLAGGED = Counter(
    "helpdesk_sla_breaches_flagged_total", "Tickets newly flagged as having breached an SLA.")
EVENTS_CONSUMED = Counter(
    "helpdesk_insight_events_consumed_total", "Broker events read by the insight consumer.")
CONSUMER_ERRORS = Counter(
    "helpdesk_insight_consumer_errors_total", "Insight consumer passes that failed.")
BROKER_LAG = Gauge(
    "helpdesk_insight_broker_lag_events", "Broker events not yet turned into facts.")


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(*labels).observe(time.perf_counter() - started)


class HelpdeskCollector(Collector):
    """Gauges read from the helpdesk database at scrape time (queues, people waiting)."""

    def __init__(self, read: Callable[[], dict[str, dict[tuple[str, ...], float]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self._read()
        except Exception as error:  # a scrape must not fail because the database is away
            log.warning("metrics.collect_failed error=%s", type(error).__name__)
            return
        for name, (help_text, labels) in GAUGES.items():
            family = GaugeMetricFamily(name, help_text, labels=list(labels))
            for label_values, value in values.get(name, {}).items():
                family.add_metric(list(label_values), value)
            yield family


GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "helpdesk_handoffs_waiting": ("Conversations waiting for a person, by skill.", ("skill",)),
    "helpdesk_agents_online": ("Console agents signed in and seen recently.", ()),
    "helpdesk_ticket_notifications_pending": ("Ticket notifications not yet delivered.", ()),
    "helpdesk_tickets_open": ("Open tickets, by category.", ("category",)),
    "helpdesk_tickets_breached_open": ("Open tickets past an SLA, by category.", ("category",)),
}


_registered: list[Collector] = []

NOT_ACCEPTABLE = (b"406 Not Acceptable: ask for text/plain or application/openmetrics-text, "
                  b"with a numeric version if any (version=1.0.0)\n")


def metrics_app(registry: Collector = REGISTRY) -> Callable[..., Iterable[bytes]]:
    """prometheus_client's WSGI app, refusing with 406 an Accept header it cannot handle.

    prometheus_client 0.26 compares the `version` parameter of an Accept header as a tuple of
    its dot-separated parts, ints where they parse and strings where they do not:
    `Accept: text/plain; version=abc` raised TypeError in `choose_encoder`, which wsgiref
    answered with 500 and a stack trace on stderr (found by tests/fuzz/test_metrics_fuzz.py).
    The header is tried against the library's own `choose_encoder` first; anything else is
    the library's answer, unchanged (GET any path: the exposition; OPTIONS; 405 otherwise).
    """
    app = make_wsgi_app(registry)

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            choose_encoder(environ.get("HTTP_ACCEPT") or "")
        except (TypeError, ValueError):
            start_response("406 Not Acceptable", [("Content-Type", "text/plain; charset=utf-8"),
                                                  ("Content-Length", str(len(NOT_ACCEPTABLE)))])
            return [NOT_ACCEPTABLE]
        return app(environ, start_response)

    return guarded


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape (as prometheus_client's own listener)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the process open


def serve(host: str, port: int, collector: Collector | None = None) -> None:
    """Start the internal metrics listener (a daemon thread) for this process.

    What prometheus_client's `start_http_server` does (a threading WSGI server of the standard
    library, no access log), serving `metrics_app`.
    """
    if collector is not None:
        while _registered:  # one database collector per process
            REGISTRY.unregister(_registered.pop())
        REGISTRY.register(collector)
        _registered.append(collector)
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                flags=socket.AI_PASSIVE)[0][0]
    server_class = type("MetricsServer", (_ThreadingServer,), {"address_family": family})
    server = make_server(host, port, metrics_app(), server_class, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics.listening port=%d", port)
