"""Console sign-in with Entra ID: `GET /console/auth/signin` starts it; the shared callback
(`bot/web/entra_pages.py`) finishes it here. The account is the one linked to the person's
tenant id and object id (`python -m bot.handoff.accounts link`); the roles are what the ID
token's app roles grant (`bot/signin/roles.py`), for this session only, so a role removed in
Entra ID is gone at the next sign-in, and an account without any is refused."""
from __future__ import annotations

import asyncio

from aiohttp import web

from bot.handoff import accounts
from bot.signin import transactions
from bot.signin.entra import VerifiedUser
from bot.signin.roles import granted_roles, role_map

from .. import entra_pages
from ..keys import DATABASE, SETTINGS
from ..rendering import Safe, escape
from . import views
from .auth import set_cookie

REFUSALS = {
    "not linked": ("Your work account is not a console account",
                   "You signed in to Microsoft, but no helpdesk console account is linked to "
                   "your work account. Ask a helpdesk administrator to link it."),
    "inactive": ("Your console account is switched off",
                 "Ask a helpdesk administrator to switch it back on."),
    "no role": ("You do not have a console role",
                "Your work account has no helpdesk role in Entra ID (agent, supervisor, "
                "knowledge editor, data protection, security auditor or administrator). Ask "
                "your Entra ID administrator to assign one."),
}


async def start(request: web.Request) -> web.StreamResponse:
    return await entra_pages.begin(request, "console", "/console")


async def complete(request: web.Request, pending: transactions.PendingSignIn,
                   user: VerifiedUser) -> web.StreamResponse:
    roles = granted_roles(user.roles, role_map(request.app[SETTINGS].entra_role_map))
    try:
        signed = await asyncio.to_thread(accounts.entra_sign_in, request.app[DATABASE],
                                         user.tenant_id, user.object_id, roles)
    except accounts.EntraSignInRefused as refused:
        title, text = REFUSALS[refused.reason]
        return views.page(title, Safe(
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
            '<p><a href="/console/signin">Back to sign-in</a></p>'), None, status=403)
    response = entra_pages.continue_page(views.home(signed.agent))
    set_cookie(request, response, signed.token)
    return response


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/auth/signin", start)
    entra_pages.COMPLETIONS["console"] = complete
