"""Sign-in: OpenID Connect against Entra ID, employees' web sessions and their revocation.

No Rasa import. `entra.py` is the protocol (MSAL for the authorisation code flow with PKCE,
every ID-token rule checked here, each with its source); `transactions.py` keeps a sign-in
between the redirect and the callback; `sessions.py` records and revokes the sessions the web
app mints. The web handlers are in `bot/web/entra_pages.py`.
"""
