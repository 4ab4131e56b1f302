"""Reading the verified principal, and settings from the environment."""
from __future__ import annotations

import pytest

from bot.config import DEFAULT_DATABASE_URL, ConfigurationError, Settings
from bot.identity import Principal


def test_a_connector_principal_is_read() -> None:
    metadata = {"principal": {"channel": "msteams", "tenant": "t-1", "subject": "oid-1"}}
    assert Principal.from_metadata(metadata) == Principal("msteams", "t-1", "oid-1")


@pytest.mark.parametrize(
    "metadata",
    [None, {}, {"principal": None}, {"principal": "alice"}, {"principal": []},
     {"principal": {"channel": "widget", "tenant": "t"}},
     {"principal": {"channel": "widget", "tenant": "t", "subject": 7}},
     {"principal": {"channel": "socketio", "tenant": "t", "subject": "alice"}},
     {"principal": {"channel": "", "tenant": "t", "subject": "alice"}}],
)
def test_anything_else_is_no_principal(metadata: object) -> None:
    assert Principal.from_metadata(metadata) is None  # type: ignore[arg-type]


def test_defaults_are_the_embedded_configuration() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL.startswith("sqlite:///")
    assert (settings.web_host, settings.dev_signin_enabled) == ("127.0.0.1", False)


def test_production_is_configured_by_environment_alone() -> None:
    settings = Settings.from_env({
        "HELPDESK_DATABASE_URL": "postgresql+psycopg://helpdesk@db/helpdesk",
        "RASA_URL": "http://rasa:5005/",
        "HELPDESK_DEV_SIGNIN": "0",
        "WIDGET_TOKEN_SECRET": "k" * 40,
    })
    assert settings.database_url == "postgresql+psycopg://helpdesk@db/helpdesk"
    assert settings.rasa_url == "http://rasa:5005"
    assert settings.require_widget_secret() == "k" * 40


@pytest.mark.parametrize("secret", ["", "short"])
def test_a_weak_widget_secret_is_refused(secret: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({"WIDGET_TOKEN_SECRET": secret}).require_widget_secret()


def test_the_knowledge_base_refresh_and_public_address_come_from_the_environment() -> None:
    assert (Settings.from_env({}).kb_refresh_seconds, Settings.from_env({}).public_base_url) \
        == (10.0, "")
    settings = Settings.from_env({"HELPDESK_KB_REFRESH_SECONDS": "2.5",
                                  "HELPDESK_PUBLIC_URL": "https://helpdesk.example.gov.uk/"})
    assert settings.kb_refresh_seconds == 2.5
    assert settings.public_base_url == "https://helpdesk.example.gov.uk"


@pytest.mark.parametrize("value", ["soon", "-1", "31", "nan"])
def test_a_refresh_outside_zero_to_thirty_seconds_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({"HELPDESK_KB_REFRESH_SECONDS": value})


ENTRA = {"ENTRA_TENANT_ID": "8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23", "ENTRA_CLIENT_ID": "app",
         "HELPDESK_PUBLIC_URL": "https://helpdesk.example.gov.uk"}


def test_processes_without_the_entra_secret_still_know_the_tenant() -> None:
    """Only the web app is given ENTRA_CLIENT_SECRET (least privilege); the action server, Rasa
    and the workers still read the tenant, to know whose Entra sessions are employees."""
    settings = Settings.from_env(ENTRA)
    assert settings.entra_enabled and settings.entra_client_secret == ""
    assert Settings.from_env({**ENTRA, "ENTRA_CLIENT_SECRET": "s"}).entra_client_secret == "s"


@pytest.mark.parametrize("env", [
    {"ENTRA_TENANT_ID": ENTRA["ENTRA_TENANT_ID"]},  # half a configuration
    {"ENTRA_CLIENT_ID": "app"},
    {"ENTRA_CLIENT_SECRET": "s"},  # a secret for nothing
])
def test_half_an_entra_configuration_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="ENTRA_"):
        Settings.from_env(env)
