"""Settings read from the environment, once, at process start.

Every process of the services runtime (action server, web app, CLI) builds one `Settings`
from `os.environ`; nothing else in `bot/` reads the environment. Defaults are the embedded,
zero-set-up configuration; production overrides them with environment variables alone.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'helpdesk.db'}"


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Configuration of the services runtime."""

    database_url: str = DEFAULT_DATABASE_URL
    widget_token_secret: str = ""
    widget_token_issuer: str = "helpdesk-intranet"
    widget_token_audience: str = "helpdesk-widget"
    widget_token_ttl_seconds: int = 3600
    dev_signin_enabled: bool = False
    rasa_url: str = "http://127.0.0.1:5005"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    cookie_secure: bool = False  # set whenever browsers reach the web app over HTTPS
    # Signs the JWTs the services present to Rasa's HTTP API (proactive ticket messages).
    rasa_jwt_secret: str = ""
    # Helpdesk tickets: business calendar, SLA targets, reopen window (see bot/tickets/sla.py).
    business_timezone: str = "Europe/London"
    business_hours: str = "09:00-17:00"
    bank_holiday_region: str = "england-and-wales"
    sla_targets: str = "urgent=1/8,high=4/16,normal=8/40,low=16/80"
    ticket_reopen_working_days: int = 10
    # Bank holidays (bot/bank_holidays.py): where `refresh-bank-holidays` fetches gov.uk-format
    # JSON from, and the file it replaces ("" = the shipped bot/reference_data copy).
    bank_holidays_url: str = "https://www.gov.uk/bank-holidays.json"
    bank_holidays_file: str = ""
    # Human handoff (bot/handoff): Rasa's tracker store, read for the employee's messages while
    # an agent has the conversation; "business" hours follow the calendar above, "always" is 24/7.
    tracker_store_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa_tracker.db'}"
    handoff_hours: str = "business"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("HELPDESK_DATABASE_URL") or DEFAULT_DATABASE_URL,
            widget_token_secret=env.get("WIDGET_TOKEN_SECRET", ""),
            widget_token_issuer=env.get("WIDGET_TOKEN_ISSUER") or cls.widget_token_issuer,
            widget_token_audience=env.get("WIDGET_TOKEN_AUDIENCE") or cls.widget_token_audience,
            widget_token_ttl_seconds=int(env.get("WIDGET_TOKEN_TTL_SECONDS") or 3600),
            dev_signin_enabled=_flag(env.get("HELPDESK_DEV_SIGNIN")),
            rasa_url=(env.get("RASA_URL") or cls.rasa_url).rstrip("/"),
            web_host=env.get("WEB_HOST") or cls.web_host,
            web_port=int(env.get("WEB_PORT") or cls.web_port),
            cookie_secure=_flag(env.get("WEB_COOKIE_SECURE")),
            rasa_jwt_secret=env.get("RASA_JWT_SECRET", ""),
            business_timezone=env.get("HELPDESK_TIMEZONE") or cls.business_timezone,
            business_hours=env.get("HELPDESK_BUSINESS_HOURS") or cls.business_hours,
            bank_holiday_region=env.get("HELPDESK_BANK_HOLIDAYS") or cls.bank_holiday_region,
            sla_targets=env.get("HELPDESK_SLA_TARGETS") or cls.sla_targets,
            ticket_reopen_working_days=int(
                env.get("HELPDESK_TICKET_REOPEN_DAYS") or cls.ticket_reopen_working_days
            ),
            bank_holidays_url=env.get("HELPDESK_BANK_HOLIDAYS_URL") or cls.bank_holidays_url,
            bank_holidays_file=env.get("HELPDESK_BANK_HOLIDAYS_FILE", ""),
            tracker_store_url=env.get("TRACKER_STORE_URL") or cls.tracker_store_url,
            handoff_hours=(env.get("HANDOFF_HOURS") or cls.handoff_hours).strip().lower(),
        )

    def require_widget_secret(self) -> str:
        """The HMAC secret for widget session tokens; refuses to run with a weak one."""
        if len(self.widget_token_secret) < 32:
            raise ConfigurationError(
                "WIDGET_TOKEN_SECRET must be set to at least 32 characters "
                "(make run generates one into var/secrets.env)."
            )
        return self.widget_token_secret

    def require_rasa_jwt_secret(self) -> str:
        """The HS256 secret Rasa's HTTP API was started with (`--jwt-secret`)."""
        if len(self.rasa_jwt_secret) < 32:
            raise ConfigurationError(
                "RASA_JWT_SECRET must be set to at least 32 characters "
                "(make run generates one into var/secrets.env)."
            )
        return self.rasa_jwt_secret
