"""Shared by the Entra ID sign-in tests: a fake Entra ID on the test's event loop, settings that
point the web app at it, the demo employees linked to Entra users as Teams links them, and the
sign-in driven over HTTP the way a browser follows it."""
from __future__ import annotations

import dataclasses
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Employee
from tests.entra_fake import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeEntra, write_certificates

REDIRECT_URI = "https://helpdesk.test/auth/callback"
# Demo employees (bot/demo/description.py) and the Entra object ids they sign in with.
ALICE_OID = "11111111-aaaa-4bbb-8ccc-000000000001"
BEN_OID = "22222222-aaaa-4bbb-8ccc-000000000002"
STRANGER_OID = "33333333-aaaa-4bbb-8ccc-000000000003"  # in our tenant, no employee record


@pytest.fixture(scope="session")
def entra_certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return write_certificates(tmp_path_factory.mktemp("entra-tls"))


@pytest_asyncio.fixture
async def entra(entra_certificates) -> AsyncIterator[FakeEntra]:  # noqa: ANN001
    fake = FakeEntra()
    fake.add_user("alice", ALICE_OID, "Alice Hughes")
    fake.add_user("ben", BEN_OID, "Ben Okafor")
    fake.add_user("stranger", STRANGER_OID, "Sam Stranger")
    await fake.start(entra_certificates)
    yield fake
    await fake.stop()


def entra_settings(base: Settings, fake: FakeEntra, ca: Path) -> Settings:
    return dataclasses.replace(
        base, entra_tenant_id=TENANT_ID, entra_client_id=CLIENT_ID,
        entra_client_secret=CLIENT_SECRET, entra_authority_host=fake.base_url,
        entra_redirect_uri=REDIRECT_URI, entra_ca_bundle=str(ca))


def link_entra_users(database: Database) -> None:
    """(msteams, tenant, object id) rows, exactly as Teams users are linked."""
    with database.unit_of_work() as session:
        for widget_subject, oid in (("alice.hughes", ALICE_OID), ("ben.okafor", BEN_OID)):
            employee_id = session.scalar(
                select(Employee.id).join(ChannelIdentity,
                                         ChannelIdentity.employee_id == Employee.id)
                .where(ChannelIdentity.channel == "widget",
                       ChannelIdentity.subject == widget_subject))
            exists = session.scalar(select(ChannelIdentity.id).where(
                ChannelIdentity.channel == "msteams", ChannelIdentity.subject == oid))
            if exists is None:
                session.add(ChannelIdentity(channel="msteams", tenant=TENANT_ID, subject=oid,
                                            employee_id=employee_id))


@dataclass
class Flow:
    """A sign-in as far as Entra ID's answer: the callback the browser would be sent to."""

    auth_uri: str
    callback_query: str

    @property
    def parameters(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.callback_query).items()}


def tls_to(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def start_flow(client: TestClient, ca: Path, user: str = "alice",
                     start_path: str = "/auth/signin") -> Flow:
    """Start a sign-in in `client` (a browser) and let the fake sign `user` in."""
    started = await client.get(start_path, allow_redirects=False)
    assert started.status == 303, await started.text()
    auth_uri = started.headers["Location"]
    async with aiohttp.ClientSession() as browser:
        async with browser.get(auth_uri, params={"login_hint": user}, ssl=tls_to(ca),
                               allow_redirects=False) as answer:
            assert answer.status == 302, await answer.text()
            location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return Flow(auth_uri, urlsplit(location).query)


async def finish(client: TestClient, flow: Flow, query: str | None = None):  # noqa: ANN201
    return await client.get(f"/auth/callback?{flow.callback_query if query is None else query}",
                            allow_redirects=False)
