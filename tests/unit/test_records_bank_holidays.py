"""The shipped bank-holiday data (gov.uk's format) and its refresh from a local fake server."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot import bank_holidays
from bot.bank_holidays import DEFAULT_PATH, DIVISIONS, BankHolidayDataError, load, refresh
from bot.cli import main as cli_main

OFFICIAL_SAMPLE = {  # the shape of https://www.gov.uk/bank-holidays.json, trimmed
    division: {
        "division": division,
        "events": [
            {"title": "New Year’s Day", "date": "2030-01-01", "notes": "", "bunting": True},
            {"title": "Christmas Day", "date": "2030-12-25", "notes": "", "bunting": True},
        ],
    }
    for division in DIVISIONS
}
OFFICIAL_SAMPLE["scotland"]["events"].append(
    {"title": "2nd January", "date": "2030-01-02", "notes": "", "bunting": True}
)


def test_the_shipped_copy_is_in_govuk_format_and_says_where_it_came_from() -> None:
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert set(DIVISIONS) <= set(data)
    for division in DIVISIONS:
        assert data[division]["division"] == division
        for event in data[division]["events"]:
            assert set(event) == {"title", "date", "notes", "bunting"}
            assert dt.date.fromisoformat(event["date"]).weekday() < 5  # gov.uk lists weekdays
    assert "not downloaded from gov.uk" in data["metadata"]["source"]
    assert data["metadata"]["generated_on"]


def test_the_shipped_copy_knows_the_well_known_dates() -> None:
    calendar = load()
    assert calendar.first_year <= 2025 and calendar.last_year >= 2027
    scotland = {
        h.date: h
        for h in calendar.holidays_in("scotland", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    }
    assert scotland[dt.date(2026, 1, 2)].title == "2nd January"
    assert scotland[dt.date(2026, 11, 30)].title == "St Andrew’s Day"
    england = {
        h.date: h
        for h in calendar.holidays_in(
            "england-and-wales", dt.date(2026, 12, 1), dt.date(2026, 12, 31)
        )
    }
    assert england[dt.date(2026, 12, 28)].notes == "Substitute day"
    assert dt.date(2026, 12, 26) not in england  # Boxing Day 2026 is a Saturday


def test_beyond_the_data_the_rules_still_give_bank_holidays() -> None:
    calendar = load()
    far = calendar.holidays_in("northern-ireland", dt.date(2040, 3, 1), dt.date(2040, 3, 31))
    # St Patrick's Day 2040 is a Saturday: the substitute day is Monday 19 March
    assert [(h.date, h.title, h.notes) for h in far] == [
        (dt.date(2040, 3, 19), "St Patrick’s Day", "Substitute day"),
        (dt.date(2040, 3, 30), "Good Friday", ""),
    ]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        {"england-and-wales": {"events": []}},
        {d: {"division": d, "events": [{"title": "x", "date": "2030-02-30"}]} for d in DIVISIONS},
        {d: {"division": d, "events": [{"date": "2030-01-01"}]} for d in DIVISIONS},
        {
            d: {"division": "scotland", "events": [{"title": "x", "date": "2030-01-01"}]}
            for d in DIVISIONS
        },
    ],
)
def test_anything_but_govuk_format_is_refused(data: object) -> None:
    with pytest.raises(BankHolidayDataError):
        bank_holidays.validate(data)


class _Server:
    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/bank-holidays.json"


@pytest.fixture
def server() -> Iterator[_Server]:
    fake = _Server()
    thread = threading.Thread(
        target=fake.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
        thread.join()


def test_refresh_replaces_the_file_with_the_official_data(server: _Server, tmp_path: Path) -> None:
    server.body = json.dumps(OFFICIAL_SAMPLE).encode()
    target = tmp_path / "bank-holidays.json"
    now = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)
    calendar = refresh(server.url, target, now=now)
    assert server.requests == 1
    stored = json.loads(target.read_text(encoding="utf-8"))
    assert stored["metadata"] == {
        "source": server.url,
        "fetched_at": "2026-11-26T09:00:00+00:00",
        "replace_with": "python -m bot.cli refresh-bank-holidays",
    }
    assert stored["scotland"] == OFFICIAL_SAMPLE["scotland"]
    assert load(target).dates("scotland", dt.date(2030, 1, 1), dt.date(2030, 1, 3)) == {
        dt.date(2030, 1, 1),
        dt.date(2030, 1, 2),
    }
    assert calendar.last_year == 2030


@pytest.mark.parametrize(
    "status, body",
    [
        (200, b"<html>not json</html>"),
        (200, json.dumps({"england-and-wales": OFFICIAL_SAMPLE["england-and-wales"]}).encode()),
        (500, b"{}"),
        (404, b""),
    ],
)
def test_a_bad_answer_leaves_the_file_untouched(
    server: _Server, tmp_path: Path, status: int, body: bytes
) -> None:
    server.status, server.body = status, body
    target = tmp_path / "bank-holidays.json"
    target.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    before = target.read_bytes()
    with pytest.raises(BankHolidayDataError):
        refresh(server.url, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bank-holidays.json"]  # no temporary left


def test_an_unreachable_server_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(BankHolidayDataError):
        refresh("http://127.0.0.1:9/bank-holidays.json", tmp_path / "x.json", timeout=2)
    assert not (tmp_path / "x.json").exists()


def test_the_cli_command_uses_the_configured_url_and_file(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.body = json.dumps(OFFICIAL_SAMPLE).encode()
    target = tmp_path / "copy.json"
    monkeypatch.setenv("HELPDESK_BANK_HOLIDAYS_URL", server.url)
    monkeypatch.setenv("HELPDESK_BANK_HOLIDAYS_FILE", str(target))
    assert cli_main(["refresh-bank-holidays"]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["metadata"]["source"] == server.url
    server.status = 500
    with pytest.raises(SystemExit) as stopped:
        cli_main(["refresh-bank-holidays"])
    assert stopped.value.code == 1
