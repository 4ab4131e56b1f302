"""`GET /healthz`: is the database answering, and can Rasa be reached?"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from ..storage.database import Database
from .keys import DATABASE, RASA_CLIENT

log = logging.getLogger(__name__)


def _database_ok(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception as error:  # any failure means "not healthy", whatever the driver raises
        log.warning("health: database check failed: %s", type(error).__name__)
        return False


async def healthz(request: web.Request) -> web.StreamResponse:
    database_ok, rasa_ok = await asyncio.gather(
        asyncio.to_thread(_database_ok, request.app[DATABASE]),
        request.app[RASA_CLIENT].ping(),
    )
    body = {
        "status": "ok" if database_ok and rasa_ok else "degraded",
        "database": "ok" if database_ok else "error",
        "rasa": "ok" if rasa_ok else "unreachable",
    }
    return web.json_response(body, status=200 if database_ok else 503)
