"""Sign-in tables (migration 0010), on the shared declarative `Base`.

- `web_sessions`: one row per employee session token the web app minted (its `jti`), and a
  row for every token signed out, minted here or by an intranet: a row with `revoked_at` set
  refuses that token at the next request, whatever its expiry. Rows go when the token expires.
- `oidc_sign_ins`: a sign-in between the redirect to Entra ID and the callback: the MSAL flow
  (state, nonce, PKCE verifier), bound to the browser by a random cookie whose SHA-256 is kept;
  single use (deleted when the callback claims it), ten minutes at most.

Neither holds a token: sessions are found by the token's id, sign-ins by the SHA-256 of their
state.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base
from bot.storage.times import utcnow


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the token's jti
    channel: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    # How it began: "entra" (OpenID Connect), "development" (the demo page), "intranet" (a
    # token minted elsewhere, recorded only when it is signed out).
    method: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OidcSignIn(Base):
    __tablename__ = "oidc_sign_ins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    binding_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))  # "employee" | "console"
    flow: Mapped[str] = mapped_column(Text)  # MSAL's auth code flow, JSON
    return_to: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
