"""Settings read from the environment, once, at process start.

Every process of the services runtime (action server, web app, CLI) builds one `Settings`
from `os.environ`; nothing else in `bot/` reads the environment. Defaults are the embedded,
zero-set-up configuration; production overrides them with environment variables alone.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'helpdesk.db'}"


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed."""


def _seconds(value: str | None, default: float, maximum: float) -> float:
    """A number of seconds from 0 to `maximum`; ConfigurationError for anything else."""
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigurationError(f"{value!r} is not a number of seconds") from None
    if not 0 <= seconds <= maximum:
        raise ConfigurationError(f"{value!r}: give 0 to {maximum:g} seconds")
    return seconds


def _proxies(text: str) -> frozenset[str]:
    """WEB_TRUSTED_PROXIES: comma-separated addresses or CIDR networks, each checked here so
    that a typo stops the web app at start instead of trusting nobody (or everybody)."""
    entries = set()
    for entry in (item.strip() for item in text.split(",")):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"WEB_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
        entries.add(str(network) if "/" in entry else str(network.network_address))
    return frozenset(entries)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


BACKOFFICE_ADAPTERS = {
    "people": ("sql", "oracle_hcm", "successfactors"),
    "absence": ("sql", "oracle_hcm", "successfactors"),
    # Oracle HCM serves payslips (the rest of payroll from the SQL fallback); SuccessFactors'
    # OData API has no payslips (docs/backoffice.md)
    "payroll": ("sql", "oracle_hcm"),
    "finance": ("sql", "oracle_erp"),
}


@dataclass(frozen=True)
class BackOfficeSettings:
    """Which adapter serves each business area, and how to reach each system of record.

    See docs/backoffice.md. Secrets (client secrets, the SuccessFactors private key) come from
    the environment only and are never logged.
    """

    people: str = "sql"
    absence: str = "sql"
    payroll: str = "sql"
    finance: str = "sql"
    # Oracle HCM Cloud: REST base URL and an OAuth client (client credentials grant).
    oracle_hcm_url: str = ""
    oracle_hcm_token_url: str = ""
    oracle_hcm_client_id: str = ""
    oracle_hcm_client_secret: str = ""
    oracle_hcm_scope: str = ""
    # SAP SuccessFactors: API server, company, an OAuth client, the technical user, its key.
    sf_api_url: str = ""
    sf_company_id: str = ""
    sf_client_id: str = ""
    sf_user_id: str = ""
    sf_private_key: str = ""
    # Oracle Fusion ERP (finance): REST base URL and an OAuth client.
    oracle_erp_url: str = ""
    oracle_erp_token_url: str = ""
    oracle_erp_client_id: str = ""
    oracle_erp_client_secret: str = ""
    oracle_erp_scope: str = ""
    # Resilience: one HTTP attempt's timeout, and the whole answer's budget (< 3 s).
    attempt_timeout_seconds: float = 1.0
    answer_budget_seconds: float = 2.4

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "BackOfficeSettings":
        chosen = {}
        for area, allowed in BACKOFFICE_ADAPTERS.items():
            name = (env.get(f"BACKOFFICE_{area.upper()}") or "sql").strip().lower()
            if name not in allowed:
                raise ConfigurationError(
                    f"BACKOFFICE_{area.upper()}={name!r}: choose one of {', '.join(allowed)}"
                )
            chosen[area] = name
        texts = {
            name: env.get(name.upper(), "")
            for name in cls.__dataclass_fields__
            if name.startswith(("oracle_", "sf_"))
        }
        return cls(
            **chosen,
            **texts,
            attempt_timeout_seconds=float(env.get("BACKOFFICE_ATTEMPT_TIMEOUT") or 1.0),
            answer_budget_seconds=float(env.get("BACKOFFICE_ANSWER_BUDGET") or 2.4),
        )


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
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: IP addresses, or
    # networks (CIDR) where the proxy's address changes, as an ingress controller's pods' do.
    trusted_proxies: frozenset[str] = frozenset()
    # This process's key for Rasa's relay channel (bot/relay.py, connectors/relay.py): the web
    # app holds the console's, the ticket worker the tickets', the action server the records'.
    relay_console_key: str = ""
    relay_tickets_key: str = ""
    relay_records_key: str = ""
    # Rasa's credential on every action call (endpoints.yml sends it), and the key the
    # connectors sign each message's principal with (bot/principal_proof.py): action server.
    action_server_token: str = ""
    principal_key: str = ""
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
    # Data protection (bot/privacy/retention.py): the retention schedule, "key=days,..." over
    # its defaults, and how often the ticket worker applies it (0: never; cron the CLI instead).
    retention_schedule: str = ""
    retention_interval_hours: float = 24.0
    # Knowledge base (bot/knowledge): how often each process checks the library for changes,
    # and the web app's address as employees reach it (absolute links to articles in Teams and
    # Slack answers; empty: links are paths on the web app, fine for the chat page).
    kb_refresh_seconds: float = 10.0
    public_base_url: str = ""
    # Systems of record (bot/backoffice): the embedded SQL adapter unless configured.
    backoffice: BackOfficeSettings = BackOfficeSettings()
    # Service insight (bot/insight): where Rasa's event broker puts conversation events
    # ("off", an SQL URL for Rasa's SQL event broker, or amqp://... for RabbitMQ), the queue and
    # exchange the consumer reads on RabbitMQ, and how long a quiet conversation may wait
    # before an unfinished request counts as abandoned.
    event_broker_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa_events.db'}"
    event_broker_queue: str = "helpdesk-insight"
    event_broker_exchange: str = "rasa-exchange"
    abandon_after_minutes: int = 30
    # Prometheus metrics of this process on an internal port ("" = none); never the public one.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Sign-in with Entra ID (bot/signin, docs/security.md): one app registration in our tenant.
    # The three identifiers are all set (sign-in on) or all empty (off); the redirect URI is
    # ENTRA_REDIRECT_URI or HELPDESK_PUBLIC_URL + /auth/callback, exactly as registered.
    entra_tenant_id: str = ""
    entra_client_id: str = ""
    entra_client_secret: str = ""
    entra_authority_host: str = "https://login.microsoftonline.com"
    entra_redirect_uri: str = ""
    entra_ca_bundle: str = ""  # a private CA (or a test fake's); empty: the system's
    # Entra app role values → console roles (bot/roles.py), "Value=role,..." over the defaults.
    entra_role_map: str = ""
    # Console accounts with local passwords: a development fallback. From the environment:
    # CONSOLE_LOCAL_SIGNIN=1/0, else on with the dev sign-in or without Entra ID
    # (docker-compose: 0).
    console_password_signin: bool = True
    # The embeddable widget (bot/web/widget.py): the intranet origins whose pages may frame the
    # chat (CSP frame-ancestors; WIDGET_ALLOWED_ORIGINS, comma-separated); empty: none may.
    widget_allowed_origins: frozenset[str] = frozenset()
    # E-mail through GOV.UK Notify (bot/email_notices): the API key ("" = no e-mail), where
    # Notify is, its template id per kind, and how long a notice waits to be seen in chat.
    notify_api_key: str = ""
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_templates: tuple[tuple[str, str], ...] = ()
    email_after_minutes: float = 30.0

    @property
    def entra_enabled(self) -> bool:
        return bool(self.entra_tenant_id)

    @property
    def entra_callback_url(self) -> str:
        if self.entra_redirect_uri:
            return self.entra_redirect_uri
        return f"{self.public_base_url}/auth/callback" if self.public_base_url else ""

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
            trusted_proxies=_proxies(env.get("WEB_TRUSTED_PROXIES") or ""),
            relay_console_key=env.get("RELAY_CONSOLE_KEY", ""),
            relay_tickets_key=env.get("RELAY_TICKETS_KEY", ""),
            relay_records_key=env.get("RELAY_RECORDS_KEY", ""),
            action_server_token=env.get("ACTION_SERVER_TOKEN", ""),
            principal_key=env.get("HELPDESK_PRINCIPAL_KEY", ""),
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
            retention_schedule=env.get("HELPDESK_RETENTION", ""),
            retention_interval_hours=float(env.get("HELPDESK_RETENTION_INTERVAL_HOURS")
                                           or cls.retention_interval_hours),
            kb_refresh_seconds=_seconds(env.get("HELPDESK_KB_REFRESH_SECONDS"),
                                        cls.kb_refresh_seconds, maximum=30.0),
            public_base_url=(env.get("HELPDESK_PUBLIC_URL") or "").strip().rstrip("/"),
            backoffice=BackOfficeSettings.from_env(env),
            event_broker_url=env.get("EVENT_BROKER_URL") or cls.event_broker_url,
            event_broker_queue=env.get("EVENT_BROKER_QUEUE") or cls.event_broker_queue,
            event_broker_exchange=env.get("EVENT_BROKER_EXCHANGE") or cls.event_broker_exchange,
            abandon_after_minutes=int(env.get("INSIGHT_ABANDON_AFTER_MINUTES")
                                      or cls.abandon_after_minutes),
            metrics_host=env.get("METRICS_HOST") or cls.metrics_host,
            metrics_port=int(env.get("METRICS_PORT") or 0),
            **_entra_settings(env),
            entra_role_map=env.get("ENTRA_ROLE_MAP", ""),
            console_password_signin=_console_passwords(env),
            widget_allowed_origins=allowed_origins(env.get("WIDGET_ALLOWED_ORIGINS", "")),
            **_notify_settings(env),
        )

    def require_widget_secret(self) -> str:
        """The HMAC secret for widget session tokens; refuses to run with a weak one."""
        if len(self.widget_token_secret) < 32:
            raise ConfigurationError(
                "WIDGET_TOKEN_SECRET must be set to at least 32 characters "
                "(make run generates one into var/secrets.env)."
            )
        return self.widget_token_secret

    def relay_key(self, caller: str) -> str:
        """This process's key for the relay's `caller` ("" when it holds none)."""
        return {"console": self.relay_console_key, "tickets": self.relay_tickets_key,
                "records": self.relay_records_key}[caller]

    def require_relay_key(self, caller: str) -> str:
        """The relay key of `caller` (console, tickets or records); refuses a weak one."""
        return _required(f"RELAY_{caller.upper()}_KEY", self.relay_key(caller))

    def require_action_server_token(self) -> str:
        """The bearer token Rasa presents on every action call (endpoints.yml)."""
        return _required("ACTION_SERVER_TOKEN", self.action_server_token)

    def require_principal_key(self) -> str:
        """The HMAC key the connectors sign each message's principal with."""
        return _required("HELPDESK_PRINCIPAL_KEY", self.principal_key)


def origin_of(value: str) -> str | None:
    """`value` as an origin (scheme://host[:port], lower case, default port dropped), or None
    when it is not one (a path, a query, another scheme, user info)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if not re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", parts.hostname):
        return None  # wildcards and other characters: an origin is exact
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def allowed_origins(setting: str) -> frozenset[str]:
    """WIDGET_ALLOWED_ORIGINS: exact origins, comma-separated; anything else stops the start."""
    origins = set()
    for entry in filter(None, (part.strip() for part in (setting or "").split(","))):
        origin = origin_of(entry)
        if origin is None:
            raise ConfigurationError(f"WIDGET_ALLOWED_ORIGINS: {entry!r} is not an origin "
                                     "(https://intranet.example.gov.uk, no path)")
        origins.add(origin)
    return frozenset(origins)


NOTIFY_TEMPLATE_VARIABLES = {"ticket_status": "NOTIFY_TEMPLATE_TICKET_STATUS",
                             "agent_reply": "NOTIFY_TEMPLATE_AGENT_REPLY",
                             "leave_decision": "NOTIFY_TEMPLATE_LEAVE_DECISION"}


def _notify_settings(env: Mapping[str, str]) -> dict[str, object]:
    """NOTIFY_API_KEY and a template id per kind, all or nothing."""
    key = (env.get("NOTIFY_API_KEY") or "").strip()
    templates = {kind: (env.get(name) or "").strip()
                 for kind, name in NOTIFY_TEMPLATE_VARIABLES.items()}
    if not key:
        if any(templates.values()):
            raise ConfigurationError("NOTIFY_TEMPLATE_* are set but NOTIFY_API_KEY is not")
        return {}
    missing = [NOTIFY_TEMPLATE_VARIABLES[k] for k, v in templates.items() if not v]
    if missing:
        raise ConfigurationError(f"E-mail through GOV.UK Notify: set {', '.join(missing)}")
    return {"notify_api_key": key,
            "notify_base_url": (env.get("NOTIFY_BASE_URL") or Settings.notify_base_url)
            .strip().rstrip("/"),
            "notify_templates": tuple(sorted(templates.items())),
            "email_after_minutes": _seconds(env.get("EMAIL_AFTER_MINUTES"), 30.0,
                                            maximum=7 * 24 * 60)}


def _console_passwords(env: Mapping[str, str]) -> bool:
    """Local console passwords: CONSOLE_LOCAL_SIGNIN=1/0 if given; otherwise on with the
    development sign-in, or when Entra ID is not configured (nothing else could sign in)."""
    given = (env.get("CONSOLE_LOCAL_SIGNIN") or "").strip()
    if given:
        return _flag(given)
    return _flag(env.get("HELPDESK_DEV_SIGNIN")) or not (env.get("ENTRA_TENANT_ID") or "").strip()


def _entra_settings(env: Mapping[str, str]) -> dict[str, str]:
    """ENTRA_TENANT_ID and ENTRA_CLIENT_ID, both or neither: half a configuration refuses to
    start. ENTRA_CLIENT_SECRET is not required here: only the web app holds it (least
    privilege, scripts/stack.py and docker-compose.yml), and the web app refuses to start
    without it (`bot.web.entra_pages.entra_client`); every other process reads the tenant to
    know whose Entra sessions are its employees."""
    values = {name: (env.get(name) or "").strip()
              for name in ("ENTRA_TENANT_ID", "ENTRA_CLIENT_ID")}
    secret = (env.get("ENTRA_CLIENT_SECRET") or "").strip()
    if not any(values.values()):
        if secret:
            raise ConfigurationError("ENTRA_CLIENT_SECRET is set but ENTRA_TENANT_ID and "
                                     "ENTRA_CLIENT_ID are not")
        return {}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigurationError(f"Entra ID sign-in: set {', '.join(missing)} too (or neither "
                                 "of ENTRA_TENANT_ID, ENTRA_CLIENT_ID)")
    host = (env.get("ENTRA_AUTHORITY_HOST") or Settings.entra_authority_host).strip().rstrip("/")
    if not host.startswith("https://"):
        raise ConfigurationError("ENTRA_AUTHORITY_HOST must be an https URL")
    redirect = (env.get("ENTRA_REDIRECT_URI") or "").strip()
    public = (env.get("HELPDESK_PUBLIC_URL") or "").strip().rstrip("/")
    if not redirect and not public:
        raise ConfigurationError("Entra ID sign-in: set ENTRA_REDIRECT_URI (or "
                                 "HELPDESK_PUBLIC_URL) to the callback URL registered in Entra")
    return {"entra_tenant_id": values["ENTRA_TENANT_ID"].lower(),
            "entra_client_id": values["ENTRA_CLIENT_ID"],
            "entra_client_secret": secret,
            "entra_authority_host": host, "entra_redirect_uri": redirect,
            "entra_ca_bundle": (env.get("ENTRA_CA_BUNDLE") or "").strip()}


def _required(name: str, value: str) -> str:
    if len(value) < 32:
        raise ConfigurationError(f"{name} must be set to at least 32 characters "
                                 "(make run generates one into var/secrets.env).")
    return value
