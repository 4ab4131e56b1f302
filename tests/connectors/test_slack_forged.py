"""Hundreds of forged Slack requests against the running channel.

Every class the issue names (tampered body, stale and future timestamps, non-numeric
timestamp, missing headers, wrong version prefix) plus a wrong secret and malformed signatures,
crossed with different payloads (DMs, retries, url_verification, button clicks). Each must get
401 — never a 5xx — reach nobody, call no Slack API, and not even use up the event id: the
genuine request sent afterwards with the same ids is handled.

The channel's clock is stopped at one whole second for each test (`pinned_now`) and every case
is dated from that same second, so a case said to be 302 s in the future is 302 s in the
future when the channel checks it. (The cases used to be dated once per module, from the real
clock, while the channel read the real clock later: by the time the "future timestamp" class
ran, the earlier classes had eaten into its 2 s margin over Slack's 300 s window, and on a
loaded machine `now + 302` had become a timestamp within the window, accepted with 200.)
"""
from __future__ import annotations

import json
import time
from typing import Callable, Dict, List, Tuple
from urllib.parse import urlencode

import pytest

from . import fakes
from .conftest import ChannelServer
from .test_slack_channel import post_raw
from .test_slack_events import block_actions

Request = Tuple[bytes, Dict[str, str]]


def payloads(tag: str) -> List[Tuple[bytes, str]]:
    """Ten kinds of body as Slack would sign them, with ids unique to `tag`.

    The first five are the genuine controls replayed after each class (see the test)."""
    def event(name: str, **kwargs: object) -> Dict[str, object]:
        return fakes.slack_event(event_id=f"Ev-{tag}-{name}", client_msg_id=f"cm-{tag}-{name}",
                                 **kwargs)

    def form(payload: Dict[str, object]) -> Tuple[bytes, str]:
        return urlencode({"payload": json.dumps(payload)}).encode(), \
            "application/x-www-form-urlencoded"

    def as_json(payload: Dict[str, object]) -> Tuple[bytes, str]:
        return json.dumps(payload).encode(), "application/json"

    mention = event("mention", event_type="app_mention", channel="C0GENERAL")
    mention["event"].pop("channel_type")
    return [
        as_json(event("dm")),
        as_json(event("thread", thread_ts="1700000000.000100", text="book leave 1-5 May")),
        as_json(event("ben", user="U0BEN", text="show me Alice's payslip")),
        as_json({"token": "x", "challenge": f"challenge-{tag}", "type": "url_verification"}),
        form(block_actions(trigger_id=f"trigger-{tag}")),
        as_json(mention),
        as_json(event("foreign", team="T0OTHERORG")),
        as_json(event("home", event_type="app_home_opened", tab="messages")),
        form(block_actions(trigger_id=f"trigger-{tag}-ch", channel={"id": "C0GENERAL"})),
        as_json(event("unicode", text="faint £ and € signs, ünïcödé ✓")),
    ]


def defects(now: int) -> Dict[str, List[Callable[[bytes, str], Request]]]:
    """Each failure class's forgeries, every timestamp relative to `now` (the channel's clock)."""
    def signed(body: bytes, content_type: str, **kwargs: str) -> Dict[str, str]:
        kwargs.setdefault("timestamp", str(now))
        return fakes.slack_headers(body, content_type=content_type, **kwargs)

    def tamper(change: Callable[[bytes], bytes]) -> Callable[[bytes, str], Request]:
        def build(body: bytes, kind: str) -> Request:
            changed = change(body)
            if changed == body:  # this payload lacks what the change replaces
                changed = body + b"\n"
            return changed, signed(body, kind)
        return build

    def at(timestamp: str) -> Callable[[bytes, str], Request]:
        return lambda body, kind: (body, signed(body, kind, timestamp=timestamp))

    def header(name: str, value: Callable[[bytes, str], str]) -> Callable[[bytes, str], Request]:
        def build(body: bytes, kind: str) -> Request:
            headers = signed(body, kind)
            headers[name] = value(body, headers[name])
            return body, headers
        return build

    def without(*names: str) -> Callable[[bytes, str], Request]:
        def build(body: bytes, kind: str) -> Request:
            headers = signed(body, kind)
            for name in names:
                headers.pop(name)
            return body, headers
        return build

    signature = "X-Slack-Signature"
    stamp = "X-Slack-Request-Timestamp"
    return {
        "tampered body": [
            tamper(lambda b: b + b" "), tamper(lambda b: b" " + b),
            tamper(lambda b: b.replace(b"U0ALICE", b"U0BOSS_")),
            tamper(lambda b: b.replace(b"leave", b"LEAVE")), tamper(lambda b: b[:-1]),
            tamper(lambda b: b + b"\x00"), tamper(lambda b: b"\xff" + b),
            tamper(lambda b: b.replace(b"T0HELPDESK", b"T0HELPDESX")),
            tamper(lambda b: json.dumps(json.loads(b.decode()) if b.startswith(b"{")
                                        else b.decode(), indent=1).encode()),
            tamper(lambda b: b"{}"), tamper(lambda b: b""),
        ],
        "stale timestamp": [at(str(now - seconds))
                            for seconds in (301, 302, 360, 600, 3600, 86400, 10**6, now)],
        "future timestamp": [at(str(now + seconds))
                             for seconds in (302, 360, 600, 3600, 86400, 10**6, 10**11)],
        "non-numeric timestamp": [at(value) for value in (
            "", "abc", "NaN", "inf", "-1", f"{now}.5", f" {now}", f"{now} ", f"+{now}",
            str(now).replace("1", "1_", 1), "0x6553f100", f"{now}\t", "1e9", "¹²³",
            # Arabic-Indic digits, which int() accepts, as the UTF-8 bytes a client would send
            str(now).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
            .encode().decode("latin-1"))],
        "missing headers": [without(signature), without(stamp), without(signature, stamp),
                            header(signature, lambda b, v: ""), header(stamp, lambda b, v: "")],
        "wrong version prefix": [header(signature, lambda b, v, p=p: p + v[3:]) for p in (
            "v1=", "V0=", "v0:", "v=", "", "v00=", "sha256=")],
        "wrong secret or malformed signature": [
            lambda body, kind: (body, signed(body, kind, secret="f" * 32)),
            lambda body, kind: (body, signed(body, kind, secret=fakes.SLACK_SIGNING_SECRET[:-1])),
            lambda body, kind: (body, signed(body, kind, secret=fakes.SLACK_BOT_TOKEN)),
            header(signature, lambda b, v: v.upper().replace("V0=", "v0=")),
            header(signature, lambda b, v: v[:-1]),
            header(signature, lambda b, v: v + "0"),
            header(signature, lambda b, v: "v0=" + "0" * 64),
            header(signature, lambda b, v: f"{v},{v}"),
            header(signature, lambda b, v: v[:-2] + ("00" if v[-2:] != "00" else "11")),
        ],
    }


def forgeries(now: int) -> Dict[str, List[Tuple[Request, Tuple[bytes, Dict[str, str]]]]]:
    """Per class: (forged request, the genuine request it was made from), dated from `now`."""
    generated = {}
    for number, (name, variants) in enumerate(defects(now).items()):
        cases = []
        for index, build in enumerate(variants):
            for body, kind in payloads(f"{number}-{index}"):
                cases.append((build(body, kind), (body, fakes.slack_headers(
                    body, content_type=kind, timestamp=str(now)))))
        generated[name] = cases
    return generated


@pytest.fixture
def pinned_now(server: ChannelServer, monkeypatch: pytest.MonkeyPatch) -> int:
    """The Slack channel's clock, stopped at the current whole second for this test."""
    now = int(time.time())
    monkeypatch.setattr(server.slack.verifier, "clock", fakes.FixedClock(float(now)))
    return now


def test_at_least_500_forged_requests_across_every_failure_class() -> None:
    cases = forgeries(int(time.time()))
    assert len(cases) == 7
    assert all(len(made) >= 50 for made in cases.values())
    assert sum(len(made) for made in cases.values()) >= 500


@pytest.mark.parametrize("failure_class", list(defects(0)))
def test_forged_requests_are_refused_and_leave_no_trace(server: ChannelServer, pinned_now: int,
                                                        failure_class: str) -> None:
    server.platforms.slack_users["U0ALICE"] = {"id": "U0ALICE", "profile": {}}
    cases = forgeries(pinned_now)[failure_class]
    statuses = []
    for (body, headers), _ in cases:
        statuses.append(post_raw(server, body, headers)[0])
    server.drain()
    assert set(statuses) == {401}, f"{failure_class}: {sorted(set(statuses))}"
    assert server.agent.messages == []
    assert server.platforms.outbound_calls() == 0

    # The genuine requests carrying the same event ids, message ids and trigger ids still work:
    # a forged request must not use up an id. (Five per class: one of each payload kind.)
    genuine = [original for _, original in cases[:5]]
    results = [post_raw(server, body, headers) for body, headers in genuine]
    server.drain()
    assert [status for status, _, _ in results] == [200] * 5
    assert results[3][1] == {"challenge": json.loads(genuine[3][0])["challenge"]}
    assert len(server.agent.messages) == 4  # three DMs and one button click
