"""The Prometheus listeners of the four services processes answer any request below 500, with
no stack trace in the answer or in the process's log.

`make run` gives them ports 9101 (web app), 9102 (action server), 9103 (ticket worker) and
9104 (insight consumer); docker-compose.yml and kubernetes/ the same. Here the real processes
are started with the commands `scripts/stack.py` runs (Rasa is not needed for their metrics),
each with its own metrics port, over a migrated demo database. Hypothesis generates raw HTTP
requests, each sent to all four: methods, paths and query strings (prometheus_client's
`name[]` filter among them), Accept headers of any media type with any `version`, `escaping`
and other parameters, Accept-Encoding, other headers of any characters, and bodies.

What it found: `Accept: text/plain; version=abc` (or any version with a part that is not a
number, also for application/openmetrics-text) made prometheus_client 0.26 compare a string
with an int: 500 and a traceback in the process's output. `bot.metrics.metrics_app` now
answers 406 (tests below). `HELPDESK_FUZZ_SCALE` multiplies the count.
"""
from __future__ import annotations

import datetime as dt
import http.client
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.demo.organisation import seed_organisation
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from scripts.stack_process import free_port

from .strategies import ASCII_TEXT, HEADER_TEXT, bodies, query_string

ROOT = Path(__file__).resolve().parents[2]
SCALE = float(os.environ.get("HELPDESK_FUZZ_SCALE", "1"))
EXAMPLES = int(400 * SCALE)  # each sent to the four listeners: 1,600 requests
READY_SECONDS = 300.0  # importing spaCy and the services on a busy 2-core machine
SENT: Counter[str] = Counter()


@dataclass
class Listener:
    name: str
    port: int
    process: subprocess.Popen
    log: Path


def commands(env: dict[str, str]) -> dict[str, list[str]]:
    """The four services processes as scripts/stack.py starts them (children())."""
    python = sys.executable
    return {
        "web app": [python, "-m", "bot.web"],
        "action server": [python, str(ROOT / "scripts" / "action_server.py"), "--actions",
                          "actions", "--port", env["ACTION_SERVER_PORT"]],
        "ticket worker": [python, "-m", "bot.ticket_worker", "--interval", "5"],
        "insight consumer": [python, "-m", "bot.insight.consumer"],
    }


def scrape(port: int, timeout: float = 5.0) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()


@pytest.fixture(scope="module")
def listeners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Listener]]:
    tmp = tmp_path_factory.mktemp("fuzz-metrics")
    url = f"sqlite:///{tmp / 'helpdesk.db'}"
    upgrade(url)
    db = Database(url)
    with db.unit_of_work() as session:
        seed_organisation(session, dt.date.today())
    db.dispose()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HELPDESK_DATABASE_URL": url,
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "EVENT_BROKER_URL": f"sqlite:///{tmp / 'events.db'}",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody: no Rasa is needed here
        "WEB_HOST": "127.0.0.1", "WEB_PORT": str(free_port()),
        "SANIC_HOST": "127.0.0.1", "ACTION_SERVER_PORT": str(free_port()),
        "METRICS_HOST": "127.0.0.1",
        "HELPDESK_RETENTION_INTERVAL_HOURS": "0",
        **{name: secrets.token_urlsafe(40) for name in (
            "WIDGET_TOKEN_SECRET", "ACTION_SERVER_TOKEN", "HELPDESK_PRINCIPAL_KEY",
            "RELAY_CONSOLE_KEY", "RELAY_TICKETS_KEY", "RELAY_RECORDS_KEY")},
    }
    started: list[Listener] = []
    try:
        for name, command in commands(env).items():
            port = free_port()
            log = tmp / f"{name.replace(' ', '-')}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(command, cwd=ROOT, env={**env, "METRICS_PORT": str(port)},
                                           stdout=output, stderr=subprocess.STDOUT)
            started.append(Listener(name, port, process, log))
        deadline = time.monotonic() + READY_SECONDS
        for listener in started:
            while scrape(listener.port) != 200:
                assert listener.process.poll() is None, (
                    f"{listener.name} exited: {listener.log.read_text()[-2000:]}")
                assert time.monotonic() < deadline, f"{listener.name}: no metrics listener"
                time.sleep(0.5)  # polling a readiness probe, not synchronising a test
        yield started
    finally:
        for listener in started:
            listener.process.terminate()
        for listener in started:
            listener.process.wait(timeout=30)


MEDIA_TYPES = ("text/plain", "application/openmetrics-text", "*/*", "text/html",
               "application/json", "text/*", "")
VERSIONS = ("1.0.0", "0.0.4", "0.0.1", "1.0", "2", "abc", "1.x", "1..0", "", ".", "-1", "١",
            "1.0.0.0.0", "99999999999999999999", "1e3", "0x10", "1.0.0-rc1", " 1.0.0")
ESCAPINGS = ("allow-utf-8", "underscores", "dots", "values", "bogus", "")


@st.composite
def accept_headers(draw: st.DrawFn) -> str:
    ranges = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        # The two types prometheus_client reads, and their version parameter, most often
        parts = [draw(st.one_of(st.sampled_from(MEDIA_TYPES[:2]), st.sampled_from(MEDIA_TYPES),
                                HEADER_TEXT))]
        for name in draw(st.lists(st.sampled_from(
                ("version", "version", "escaping", "q", "charset", "x")), max_size=3)):
            value = draw(st.one_of(st.sampled_from(VERSIONS), st.sampled_from(ESCAPINGS),
                                   HEADER_TEXT))
            parts.append(f"{name}={value}" if draw(st.integers(0, 9)) else name)
        ranges.append(draw(st.sampled_from([";", "; ", " ;"])).join(parts))
    return ",".join(ranges)


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@st.composite
def raw_requests(draw: st.DrawFn) -> RawRequest:
    # Mostly GET: only a GET reaches the exposition (and the Accept header)
    method = draw(st.one_of(st.just("GET"), st.just("GET"), st.sampled_from((
        "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW", "get"))))
    path = draw(st.sampled_from(("/metrics", "/", "/favicon.ico", "/metrics/", "//metrics",
                                 "/%ff%fe", "/metrics;x", "/../../etc/passwd", "/" + "m" * 3000)))
    query = draw(st.one_of(query_string(), st.lists(
        st.one_of(st.sampled_from(("helpdesk_tickets_open", "python_info", "", "%ff", "*")),
                  ASCII_TEXT), max_size=4).map(
        lambda names: "&".join(f"name[]={quote(name, safe='%*')}" for name in names))))
    headers: dict[str, str] = {}
    if draw(st.integers(0, 9)):
        headers["Accept"] = draw(accept_headers())
    if draw(st.booleans()):
        headers["Accept-Encoding"] = draw(st.one_of(
            st.sampled_from(("gzip", "GZIP;q=0", "deflate, gzip", "snappy", "br", "*", "")),
            HEADER_TEXT))
    for name in draw(st.lists(st.sampled_from(("User-Agent", "X-Prometheus-Scrape-Timeout-Seconds",
                                               "Content-Length", "Connection", "Host", "Range",
                                               "If-None-Match", "Authorization")), max_size=3)):
        headers[name] = draw(HEADER_TEXT)
    body, content_type = draw(bodies(limit=8 * 1024)) if method != "GET" else (b"", None)
    if content_type is not None:
        headers.setdefault("Content-Type", content_type)
    target = path + (f"?{query}" if query else "")
    # Non-ASCII as its UTF-8 bytes, percent-encoded (a request line is ASCII on the wire)
    return RawRequest(method, quote(target, safe="".join(map(chr, range(0x21, 0x7f)))),
                      headers, body)


def send(port: int, request: RawRequest) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(request.method, request.path, skip_host="Host" in request.headers,
                              skip_accept_encoding=True)
        for name, value in request.headers.items():
            if name == "Content-Length":
                continue  # http.client sets it from the body (a wrong one only hangs the read)
            connection.putheader(name, value.encode("utf-8"))
        connection.putheader("Content-Length", str(len(request.body)))
        connection.endheaders(request.body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_every_metrics_listener_answers_any_request_below_500(listeners: list[Listener]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(raw_requests())
    def run(request: RawRequest) -> None:
        for listener in listeners:
            status, body = send(listener.port, request)
            SENT[listener.name] += 1
            assert status < 500, (listener.name, status, request, body[:300])
            assert b"Traceback" not in body, (listener.name, body[:300])

    run()
    assert min(SENT.values()) >= EXAMPLES, SENT
    for listener in listeners:
        assert listener.process.poll() is None, f"{listener.name} stopped"
        logged = listener.log.read_text(errors="replace")
        assert "Traceback" not in logged, (listener.name, logged[-3000:])
    print(f"\nmetrics fuzz: {sum(SENT.values())} requests: {dict(SENT)}")


@pytest.mark.parametrize("accept", [
    "text/plain; version=abc", "application/openmetrics-text; version=abc",
    "application/openmetrics-text; version=1.x", "text/plain;version=1.0.0-rc1"])
def test_an_accept_version_that_is_not_numeric_gets_406_not_500(
        listeners: list[Listener], accept: str) -> None:
    for listener in listeners:
        status, body = send(listener.port, RawRequest("GET", "/metrics", {"Accept": accept}, b""))
        assert (status, body.split(b":")[0]) == (406, b"406 Not Acceptable"), listener.name


def test_the_usual_scrapes_are_unchanged(listeners: list[Listener]) -> None:
    web = listeners[0]
    for accept, content_type in (
            ("", "text/plain; version=0.0.4"),
            ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text"),
            ("text/plain; version=1.0.0", "text/plain; version=1.0.0")):
        connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        connection.request("GET", "/metrics", headers={"Accept": accept} if accept else {})
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        assert response.status == 200 and response.getheader("Content-Type").startswith(
            content_type), (accept, response.getheader("Content-Type"))
        assert "helpdesk_tickets_open" in text
