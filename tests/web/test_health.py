"""GET /healthz: database and Rasa reachability."""
from __future__ import annotations

import pytest

from bot.storage.database import Database
from bot.web.app import create_app

pytestmark = pytest.mark.asyncio


async def test_all_ok(client):
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok", "rasa": "ok"}


async def test_rasa_unreachable_is_degraded_but_200(make_client, make_settings, closed_port_url):
    client = await make_client(make_settings(rasa_url=closed_port_url))
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "degraded", "database": "ok",
                                     "rasa": "unreachable"}


async def test_rasa_answering_an_error_is_unreachable(client, fake_rasa):
    fake_rasa.root_status = 503
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["rasa"] == "unreachable"


async def test_database_error_is_503(aiohttp_client, settings, tmp_path):
    broken = Database(f"sqlite:///{tmp_path / 'no-such-folder' / 'helpdesk.db'}")
    try:
        client = await aiohttp_client(create_app(settings, broken))
        response = await client.get("/healthz")
        assert response.status == 503
        body = await response.json()
        # Rasa's part is the other tests' subject (its 2 s ping can lapse on a loaded machine)
        assert (body["status"], body["database"]) == ("degraded", "error")
    finally:
        broken.dispose()


async def test_health_needs_no_session_and_is_not_cached(client):
    response = await client.get("/healthz")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
