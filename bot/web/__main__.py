"""Run the web app: `python -m bot.web` (settings from the environment, see bot.config).

`WEB_COOKIE_SECURE=1` marks the session cookie Secure; set it whenever browsers reach the app
over HTTPS (directly or through a TLS-terminating proxy).
"""
from __future__ import annotations

import logging
import sys

from aiohttp import web

from ..config import ConfigurationError, Settings
from ..redaction import names
from ..redaction.logs import configure_logging
from ..storage.database import Database
from .app import create_app
from .metrics import instrument

log = logging.getLogger("bot.web")


def main() -> int:
    configure_logging()
    names.warm_up_in_background()  # the agent's transcript is redacted with spaCy
    settings = Settings.from_env()
    try:
        settings.require_widget_secret()
    except ConfigurationError as error:
        log.error("%s", error)
        return 2
    database = Database(settings.database_url)
    try:
        app = create_app(settings, database)
        instrument(app, settings)  # request metrics; /metrics on the internal port only
        web.run_app(
            app,
            host=settings.web_host,
            port=settings.web_port,
            print=lambda _banner: log.info(
                "web app listening on http://%s:%s", settings.web_host, settings.web_port
            ),
        )
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
