"""The app factory and the entry point's helpers."""
from __future__ import annotations

import pytest

from bot.config import ConfigurationError, Settings
from bot.storage.database import Database
from bot.web import __main__ as entry
from bot.web.app import create_app
from bot.web.rasa_client import clean_bot_message


def test_create_app_refuses_to_start_without_a_strong_secret(tmp_path):
    for secret in ("", "too-short"):
        with pytest.raises(ConfigurationError, match="WIDGET_TOKEN_SECRET"):
            create_app(Settings(widget_token_secret=secret,
                                database_url=f"sqlite:///{tmp_path}/x.db"))


def test_the_web_app_refuses_entra_sign_in_without_its_secret(tmp_path, settings):
    """The other processes run without ENTRA_CLIENT_SECRET; the web app, which signs people
    in, does not."""
    import dataclasses
    half = dataclasses.replace(settings, entra_tenant_id="8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23",
                               entra_client_id="app", entra_client_secret="",
                               entra_redirect_uri="https://helpdesk.example.gov.uk/auth/callback")
    with pytest.raises(ConfigurationError, match="ENTRA_CLIENT_SECRET"):
        create_app(half)


def test_create_app_connects_to_nothing(tmp_path):
    """SQLite creates its file on the first connection: building the app must not make one."""
    path = tmp_path / "helpdesk.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    try:
        create_app(Settings(widget_token_secret="s" * 40, database_url=url), database)
        create_app(Settings(widget_token_secret="s" * 40, database_url=url))
        assert not path.exists()
        with database.engine.connect():
            pass
        assert path.exists()  # the check above can fail
    finally:
        database.dispose()


@pytest.mark.parametrize("value, expected", [
    (None, False), ("", False), ("0", False), ("no", False),
    ("1", True), ("true", True), ("ON", True), (" yes ", True),
])
def test_cookie_secure_flag_from_environment(value, expected):
    environ = {} if value is None else {"WEB_COOKIE_SECURE": value}
    assert Settings.from_env(environ).cookie_secure is expected


def test_entry_point_exits_with_an_error_without_a_secret(monkeypatch, caplog):
    monkeypatch.setenv("WIDGET_TOKEN_SECRET", "short")
    assert entry.main() == 2
    assert "WIDGET_TOKEN_SECRET" in caplog.text


@pytest.mark.parametrize("raw, cleaned", [
    ({"recipient_id": "a", "text": "hi"}, {"text": "hi"}),
    ({"recipient_id": "a"}, None),
    ({"text": 5, "image": ["x"]}, None),
    ({"custom": None}, None),
    ({"buttons": []}, None),
    ([], None),
])
def test_clean_bot_message(raw, cleaned):
    assert clean_bot_message(raw) == cleaned
