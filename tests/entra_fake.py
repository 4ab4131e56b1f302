"""A local Entra ID for tests: OpenID Connect discovery, a JWKS with key rotation, the
authorisation endpoint and the token endpoint, over HTTPS (a throwaway CA), as Microsoft's v2.0
endpoints speak them:

    GET  /{tenant}/v2.0/.well-known/openid-configuration
    GET  /{tenant}/discovery/v2.0/keys
    GET  /{tenant}/oauth2/v2.0/authorize   response_type=code, PKCE S256, nonce, state;
                                           login_hint=<user key> signs that user in at once,
                                           otherwise a page to pick a user (POST back)
    POST /{tenant}/oauth2/v2.0/token       grant_type=authorization_code, client secret in the
                                           body, the PKCE verifier; each code once

ID tokens carry what Entra's v2.0 tokens do (iss, aud, tid, oid, sub, nonce, name,
preferred_username, roles, iat, nbf, exp, ver). `forge` lets a test rewrite the token
endpoint's answer (header, claims, signing key, or the whole body) to make the battery's
forged and tampered responses. Used in-process (`start` on the running event loop) by
tests/web and as a process (`python -m tests.entra_fake`) by the browser tests.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import html
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TENANT_ID = "8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23"
OTHER_TENANT_ID = "0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5"
CLIENT_ID = "5a7e2c14-9b3d-4f6e-8a1c-2d4e6f8a0b1c"
CLIENT_SECRET = "fake-entra-client-secret-" + "x" * 20


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """ca.pem, server.pem, server-key.pem for 127.0.0.1 / localhost, valid for a day."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, server_key = rsa_key(), rsa_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "helpdesk test Entra CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5))
              .not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([
                  x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                  critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return paths


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    """A JWS of any claims (PyJWT's encode refuses some a forger wants, a numeric `iss`)."""
    algorithm = header.get("alg", "RS256")
    signing_input = (f"{b64url(json.dumps(header).encode())}."
                     f"{b64url(json.dumps(claims).encode())}")
    if algorithm == "none" or key is None:
        return signing_input + "."
    implementation = jwt.algorithms.get_default_algorithms()[algorithm]
    signature = implementation.sign(signing_input.encode("ascii"),
                                    implementation.prepare_key(key))
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class User:
    object_id: str
    name: str
    username: str
    roles: list[str] = field(default_factory=list)
    tenant_id: str = TENANT_ID


@dataclass
class Issued:
    """What the token endpoint is about to sign: a test's `forge` may change any of it."""

    header: dict[str, Any]
    claims: dict[str, Any]
    key: Any  # the private key (or an HMAC secret) to sign with; None: alg none
    body: dict[str, Any]  # the rest of the token response
    raw_id_token: str | None = None  # set to send this text as the id_token instead


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    user: User
    scope: str
    used: bool = False


class FakeEntra:
    def __init__(self, tenant_id: str = TENANT_ID, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.users: dict[str, User] = {}
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = [(f"key-{uuid.uuid4().hex[:8]}",
                                                           rsa_key())]
        self.signing_kid = self.keys[0][0]
        self.grants: dict[str, Grant] = {}
        self.forge: Callable[[Issued], None] | None = None
        self.token_requests = 0
        self.refused_token_requests = 0
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    # --- keys -------------------------------------------------------------------------------
    def signing_key(self) -> rsa.RSAPrivateKey:
        return dict(self.keys)[self.signing_kid]

    def rotate(self, *, retire_old: bool = False) -> str:
        """Publish a new key and sign with it from now on (Entra rolls keys over like this);
        `retire_old` also withdraws every older key from the JWKS."""
        kid = f"key-{uuid.uuid4().hex[:8]}"
        if retire_old:
            self.keys = []
        self.keys.append((kid, rsa_key()))
        self.signing_kid = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, private in self.keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
            jwk.update({"kid": kid, "use": "sig", "x5t": kid})
            keys.append(jwk)
        return {"keys": keys}

    # --- endpoints --------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return f"{self.base_url}/{self.tenant_id}/v2.0"

    def add_user(self, key: str, object_id: str | None = None, name: str = "Test User",
                 roles: list[str] | None = None, tenant_id: str | None = None) -> User:
        user = User(object_id or str(uuid.uuid4()), name, f"{key}@example.gov.uk",
                    list(roles or []), tenant_id or self.tenant_id)
        self.users[key] = user
        return user

    def _tenant(self, request: web.Request) -> None:
        if request.match_info["tenant"] != self.tenant_id:
            raise web.HTTPNotFound(text="unknown tenant")

    async def discovery(self, request: web.Request) -> web.Response:
        self._tenant(request)
        base = f"{self.base_url}/{self.tenant_id}"
        return web.json_response({
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "response_types_supported": ["code", "id_token", "code id_token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "private_key_jwt",
                                                      "client_secret_basic"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "tid",
                                 "oid", "preferred_username", "roles"],
            "tenant_region_scope": "EU",
        })

    async def keys_document(self, request: web.Request) -> web.Response:
        self._tenant(request)
        return web.json_response(self.jwks())

    def _authorize_error(self, text: str) -> web.Response:
        return web.Response(status=400, text=f"AADSTS-fake: {text}")

    def _check_authorize(self, params: Any) -> str | None:
        if params.get("client_id") != self.client_id:
            return "unknown client_id"
        if params.get("response_type") != "code":
            return "response_type must be code"
        if "openid" not in (params.get("scope") or "").split():
            return "scope must include openid"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE S256 required"
        if not (params.get("redirect_uri") or "").startswith(("https://", "http://127.0.0.1",
                                                              "http://localhost")):
            return "redirect_uri not registered"
        return None

    def _redirect_with_code(self, params: Any, user: User) -> web.Response:
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(params["client_id"], params["redirect_uri"],
                                  params.get("nonce"), params["code_challenge"], user,
                                  params.get("scope", ""))
        query = {"code": code, "session_state": str(uuid.uuid4())}
        if params.get("state") is not None:
            query["state"] = params["state"]
        return web.Response(status=302, headers={
            "Location": f"{params['redirect_uri']}?{urlencode(query)}"})

    async def authorize(self, request: web.Request) -> web.Response:
        self._tenant(request)
        params = request.query if request.method == "GET" else await request.post()
        problem = self._check_authorize(params)
        if problem:
            return self._authorize_error(problem)
        chosen = params.get("login_hint") or params.get("user")
        if chosen in self.users:
            return self._redirect_with_code(params, self.users[chosen])
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items() if k not in ("user", "login_hint"))
        choices = "".join(
            f'<li><button type="submit" name="user" value="{html.escape(key)}">'
            f'{html.escape(user.name)} ({html.escape(user.username)})</button></li>'
            for key, user in self.users.items())
        page = ("<!doctype html><html lang='en'><head><title>Sign in to your account</title>"
                "</head><body><main><h1>Pick an account</h1>"
                f"<form method='post'>{hidden}<ul>{choices}</ul></form></main></body></html>")
        return web.Response(text=page, content_type="text/html")

    def _token_error(self, error: str, description: str, status: int = 400) -> web.Response:
        self.refused_token_requests += 1
        return web.json_response({"error": error, "error_description": description,
                                  "error_codes": [70000]}, status=status)

    async def token(self, request: web.Request) -> web.Response:
        self._tenant(request)
        self.token_requests += 1
        form = await request.post()
        if form.get("grant_type") != "authorization_code":
            return self._token_error("unsupported_grant_type", "only authorization_code")
        if form.get("client_id") != self.client_id \
                or form.get("client_secret") != self.client_secret:
            return self._token_error("invalid_client", "AADSTS7000215: invalid client secret",
                                     401)
        grant = self.grants.get(str(form.get("code")))
        if grant is None or grant.used:
            return self._token_error("invalid_grant",
                                     "AADSTS54005: OAuth2 Authorization code was already "
                                     "redeemed" if grant else "AADSTS70008: unknown code")
        grant.used = True
        if grant.redirect_uri != form.get("redirect_uri"):
            return self._token_error("invalid_grant", "redirect_uri does not match")
        verifier = str(form.get("code_verifier") or "")
        if b64url(hashlib.sha256(verifier.encode("ascii")).digest()) != grant.challenge:
            return self._token_error("invalid_grant", "AADSTS50148: PKCE verifier mismatch")
        return web.json_response(self.token_response(grant))

    def token_response(self, grant: Grant) -> dict[str, Any]:
        now = int(time.time())
        user = grant.user
        claims: dict[str, Any] = {
            "aud": self.client_id, "iss": f"{self.base_url}/{user.tenant_id}/v2.0",
            "iat": now, "nbf": now, "exp": now + 3600, "name": user.name,
            "oid": user.object_id, "preferred_username": user.username,
            "sub": b64url(hashlib.sha256(f"{user.object_id}{self.client_id}".encode()).digest()),
            "tid": user.tenant_id, "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if user.roles:
            claims["roles"] = list(user.roles)
        client_info = b64url(json.dumps({"uid": user.object_id,
                                         "utid": user.tenant_id}).encode())
        issued = Issued(header={"kid": self.signing_kid, "alg": "RS256", "typ": "JWT"},
                        claims=claims, key=self.signing_key(),
                        body={"token_type": "Bearer", "scope": grant.scope,
                              "expires_in": 3600, "ext_expires_in": 3600,
                              "access_token": secrets.token_urlsafe(32),
                              "client_info": client_info})
        if self.forge is not None:
            self.forge(issued)
        body = dict(issued.body)
        if issued.raw_id_token is not None:
            body["id_token"] = issued.raw_id_token
        elif "id_token" not in body:
            body["id_token"] = sign(issued.header, issued.claims, issued.key)
        return body

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self.keys_document)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", self.authorize)
        app.router.add_post("/{tenant}/oauth2/v2.0/authorize", self.authorize)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        return app

    async def start(self, certificates: tuple[Path, Path, Path], host: str = "127.0.0.1",
                    port: int = 0) -> str:
        """Serve on https://host:port (0: a free port) on the running loop; the base URL."""
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificates[1], certificates[2])
        sock = socket.socket()
        sock.bind((host, port))
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=tls).start()
        self.base_url = f"https://{host}:{sock.getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeEntra()
    for spec in json.loads(Path(args.users).read_text()):
        fake.add_user(spec["key"], spec["object_id"], spec["name"], spec.get("roles"))
    certificates = write_certificates(Path(args.directory))
    url = await fake.start(certificates, port=args.port)
    print(json.dumps({"url": url, "ca": str(certificates[0])}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.entra_fake")
    parser.add_argument("directory", help="where the throwaway CA and certificate go")
    parser.add_argument("users", help="JSON file: [{key, object_id, name, roles}]")
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(_serve(parser.parse_args()))
