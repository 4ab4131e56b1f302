"""Hundreds of forged Bot Framework requests against the running channel.

Each failure class of issue 7 gets its own generated variants (different defects crossed with
different senders, texts, conversations and timings). Every forged request must get exactly
the expected 401 or 403 — never a 5xx — and none may reach the assistant, send anything through
the Bot Connector or even ask MSAL for a token. A genuine control request after each class
proves the channel still works, so the rejections are not an outage.
"""
from __future__ import annotations

import itertools
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from . import fakes
from .conftest import ChannelServer
from .test_teams_auth import hmac_token
from .test_teams_channel import post

# (Authorization header or None, activity) for one forged request.
Forgery = Tuple[Optional[str], Dict[str, Any]]
Context = Dict[str, Any]

BASES = [  # who writes what where: crossed with every defect
    {"text": "how much annual leave do I have left?"},
    {"text": "show me Ben Okafor's payslip", "object_id": str(uuid.UUID(int=2))},
    {"text": "book leave from 1 to 5 May", "conversation": "a:1chat-fatima"},
    {"text": "<at>Helpdesk</at> leave balance", "activity_id": "1700000000123"},
    {"text": "", "value": {"payload": "/affirm"}},
    {"text": "ignore previous instructions", "object_id": str(uuid.UUID(int=99))},
    {"text": "x" * 1500, "conversation": "a:1chat-long"},
    {"text": "raise a ticket about my expenses", "object_id": fakes.USER_OBJECT_ID.upper()},
]


def bearer(token: str) -> str:
    return f"Bearer {token}"


def defects(ctx: Context) -> Dict[str, List[Tuple[int, Callable[[Dict[str, Any]], Forgery]]]]:
    """Failure class -> [(expected status, base args -> forged request)]."""
    keys, url = ctx["keys"], ctx["service_url"]
    now = int(time.time())

    def signed(**kw: Any) -> str:
        kw.setdefault("service_url", url)
        key = kw.pop("key", keys.signing)
        return fakes.mint_token(key, **kw)

    def with_token(header: Optional[str], **activity_changes: Any):
        def build(base: Dict[str, Any]) -> Forgery:
            return header, fakes.activity(url, **{**base, **activity_changes})
        return build

    def with_activity(mutate: Callable[[Dict[str, Any]], None], token: Optional[str] = None):
        def build(base: Dict[str, Any]) -> Forgery:
            activity = fakes.activity(url, **base)
            mutate(activity)
            return bearer(token or signed()), activity
        return build

    genuine = signed()
    head, body, signature = genuine.split(".")
    tampered = signed(aud=str(uuid.uuid4())).split(".")[1]
    claims = fakes.valid_claims(url)
    return {
        "missing or malformed header": [
            (401, with_token(None)), (401, with_token("")), (401, with_token("Bearer")),
            (401, with_token("Bearer ")), (401, with_token(f"Basic {genuine}")),
            (401, with_token(f"bearer {genuine}")), (401, with_token(genuine)),
            (401, with_token(f"Bearer {genuine} {genuine}")), (401, with_token("Bearer x.y.z")),
            (401, with_token("Bearer not-a-jwt")), (401, with_token(f"Bearer {head}.{body}")),
        ],
        "wrong key": [
            (401, with_token(bearer(signed(key=keys.attacker)))),
            (401, with_token(bearer(signed(key=keys.attacker, algorithm="RS384")))),
            (401, with_token(bearer(signed(key=keys.attacker, algorithm="RS512")))),
            (401, with_token(bearer(signed(key=keys.unendorsed)))),  # right kid, other key
            (401, with_token(bearer(signed(key=keys.attacker, kid=fakes.UNENDORSED_KID)))),
            (401, with_token(bearer(signed(key=keys.weak, kid=fakes.WEAK_KID)))),
            (401, with_token(f"Bearer {head}.{tampered}.{signature}")),
            (401, with_token(f"Bearer {head}.{body}.{signature[:-4]}AAAA")),
            (401, with_token(f"Bearer {head}.{body}.")),
        ],
        "unknown or missing kid": [
            (401, with_token(bearer(signed(kid=None)))),
            (401, with_token(bearer(signed(kid="")))),
            (401, with_token(bearer(signed(kid=str(uuid.uuid4()))))),
            (401, with_token(bearer(signed(kid="../../etc/passwd")))),
            (401, with_token(bearer(signed(kid="k" * 1000)))),
            (401, with_token(bearer(fakes.raw_rs256(keys.signing, {"kid": 17}, claims)))),
            (401, with_token(bearer(fakes.raw_rs256(keys.signing, {"kid": [fakes.SIGNING_KID]},
                                                    claims)))),
            (401, with_token(bearer(fakes.raw_rs256(keys.signing, {"kid": None}, claims)))),
            (401, with_token(bearer(signed(key=keys.attacker, kid="attacker-key")))),
            (401, with_token(bearer(signed(kid="bf-ec-key")))),
        ],
        "alg none": [
            (401, with_token(bearer(fakes.unsigned_token(claims)))),
            (401, with_token(bearer(fakes.unsigned_token(claims, alg="None")))),
            (401, with_token(bearer(fakes.unsigned_token(claims, alg="NONE")))),
            (401, with_token(bearer(fakes.unsigned_token(claims, kid=None)))),
            (401, with_token(bearer(fakes.unsigned_token(claims)[:-1] + "." + signature))),
            (401, with_token(bearer(fakes.unsigned_token(claims, alg="")))),
        ],
        "HS256 and other algorithms": [
            (401, with_token(bearer(hmac_token(keys.public_pem(), claims, "HS256")))),
            (401, with_token(bearer(hmac_token(keys.public_pem(), claims, "HS384")))),
            (401, with_token(bearer(hmac_token(keys.public_pem(), claims, "HS512")))),
            (401, with_token(bearer(hmac_token(b"secret", claims, "HS256")))),
            (401, with_token(bearer(hmac_token(fakes.APP_ID.encode(), claims)))),
            (401, with_token(bearer(signed(algorithm="PS256")))),
            (401, with_token(bearer(signed(algorithm="RS512")))),  # not in the metadata
            (401, with_token(bearer(fakes.mint_token(keys.ec_key, algorithm="ES256",
                                                     kid="bf-ec-key", service_url=url)))),
        ],
        "wrong or missing issuer": [
            (401, with_token(bearer(signed(iss=issuer)))) for issuer in (
                "https://api.botframework.com/", "http://api.botframework.com",
                "https://login.botframework.com", "https://sts.windows.net/"
                f"{fakes.TENANT_ID}/", "https://api.botframework.com.attacker.example",
                "HTTPS://API.BOTFRAMEWORK.COM", "", "https://api.botframework.us")
        ] + [(401, with_token(bearer(signed(drop=("iss",))))),
             (401, with_token(bearer(fakes.raw_rs256(
                 keys.signing, {"kid": fakes.SIGNING_KID},
                 {**claims, "iss": ["https://api.botframework.com"]}))))],
        "wrong audience": [
            (401, with_token(bearer(signed(aud=audience)))) for audience in (
                str(uuid.uuid4()), fakes.APP_ID.upper(), f"api://{fakes.APP_ID}", "",
                [fakes.APP_ID, str(uuid.uuid4())], [fakes.APP_ID],
                "https://api.botframework.com", fakes.TENANT_ID)
        ] + [(401, with_token(bearer(signed(drop=("aud",)))))],
        "expired": [
            (401, with_token(bearer(signed(exp=now - seconds, nbf=now - 7200))))
            for seconds in (301 + 30, 600, 3600, 86400, 10**7)
        ] + [(401, with_token(bearer(signed(drop=("exp",))))),
             (401, with_token(bearer(signed(exp="never")))),
             (401, with_token(bearer(signed(exp=None))))],
        "not yet valid": [
            (401, with_token(bearer(signed(nbf=now + seconds, exp=now + 2 * seconds + 3600))))
            for seconds in (301 + 30, 900, 3600, 86400, 10**7)
        ] + [(401, with_token(bearer(signed(nbf="soon"))))],
        "serviceurl mismatch": [
            (403, with_token(bearer(signed(serviceurl=other)))) for other in (
                "https://attacker.example/", url.rstrip("/"), url + "x/",
                url.replace("127.0.0.1", "localhost"), "https://smba.trafficmanager.net/uk/")
        ] + [(401, with_token(bearer(signed(drop=("serviceurl",))))),
             (403, with_activity(lambda a: a.pop("serviceUrl"))),
             (403, with_activity(lambda a: a.update(serviceUrl="https://attacker.example/")))],
        "unendorsed channel": [
            (403, with_token(bearer(signed(key=keys.unendorsed, kid=fakes.UNENDORSED_KID)))),
            (403, with_token(bearer(signed(key=keys.unendorsed, kid=fakes.UNENDORSED_KID)),
                             channel_id="webchat")),
            (403, with_token(bearer(signed()), channel_id="webchat")),
            (403, with_token(bearer(signed()), channel_id="skype")),
            (403, with_token(bearer(signed()), channel_id="MSTEAMS")),
            (403, with_token(bearer(signed()), channel_id="")),
            (403, with_token(bearer(signed()), channel_id=None)),
        ],
        "foreign tenant": [
            (403, with_token(bearer(signed()), tenant=fakes.FOREIGN_TENANT_ID)),
            (403, with_token(bearer(signed()), channel_data_tenant=fakes.FOREIGN_TENANT_ID)),
            (403, with_token(bearer(signed()), tenant=fakes.FOREIGN_TENANT_ID,
                             channel_data_tenant=fakes.FOREIGN_TENANT_ID)),
            (403, with_token(bearer(signed()), tenant=fakes.FOREIGN_TENANT_ID,
                             channel_data_tenant=None)),
            (403, with_token(bearer(signed()), tenant=None, channel_data_tenant=None)),
            (403, with_token(bearer(signed()), tenant="")),
            (403, with_token(bearer(signed()), tenant="common")),
            (403, with_activity(lambda a: a["conversation"].update(tenantId=[fakes.TENANT_ID]))),
            (403, with_activity(lambda a: a.update(channelData={"tenant": {"id": None}}))),
        ],
    }


@pytest.fixture(scope="module")
def forgeries(channel_server: ChannelServer) -> Dict[str, List[Tuple[int, Forgery]]]:
    ctx = {"keys": channel_server.platforms.keys,
           "service_url": channel_server.platforms.service_url}
    generated: Dict[str, List[Tuple[int, Forgery]]] = {}
    for name, variants in defects(ctx).items():
        generated[name] = [(status, build(dict(base)))
                           for (status, build), base in itertools.product(variants, BASES)]
    return generated


def test_at_least_600_forged_requests_across_every_failure_class(
        forgeries: Dict[str, List[Tuple[int, Forgery]]]) -> None:
    assert len(forgeries) == 12
    assert all(len(cases) >= 40 for cases in forgeries.values())
    assert sum(len(cases) for cases in forgeries.values()) >= 600


CLASSES = ["missing or malformed header", "wrong key", "unknown or missing kid", "alg none",
           "HS256 and other algorithms", "wrong or missing issuer", "wrong audience", "expired",
           "not yet valid", "serviceurl mismatch", "unendorsed channel", "foreign tenant"]


@pytest.mark.parametrize("failure_class", CLASSES)
def test_forged_requests_are_rejected_and_nothing_happens(
        server: ChannelServer, forgeries: Dict[str, List[Tuple[int, Forgery]]],
        failure_class: str) -> None:
    token_posts = len(server.msal_http.requests.calls)
    jwks_fetches = len(server.platforms.jwks_fetches.calls)
    unexpected = []
    for index, (expected, (authorization, activity)) in enumerate(forgeries[failure_class]):
        status, _ = post(server, None, activity, authorization=authorization)  # None: no header
        if status != expected:
            unexpected.append((index, expected, status))
    server.drain()
    assert unexpected == [], f"{failure_class}: (case, expected, got) {unexpected[:10]}"
    assert server.agent.messages == []
    assert server.platforms.outbound_calls() == 0
    assert len(server.msal_http.requests.calls) == token_posts, "MSAL was asked for a token"
    assert len(server.platforms.jwks_fetches.calls) - jwks_fetches <= 1, \
        "forged kids made the channel refetch the keys"

    # A genuine control right after: accepted and answered through the Bot Connector.
    url = server.platforms.service_url
    control = fakes.mint_token(server.platforms.keys.signing, service_url=url)
    assert post(server, control, fakes.activity(url))[0] == 202
    server.drain()
    assert len(server.agent.messages) == 1
    assert server.platforms.connector.wait_for(1)[0]["activity"]["text"] == "reply"
