"""Unit tests of bot.web.session_tokens: mint and verify widget session tokens."""
from __future__ import annotations

import dataclasses
import time

import jwt
import pytest

from bot.config import ConfigurationError, Settings
from bot.web import session_tokens
from bot.web.session_tokens import LEEWAY_SECONDS, InvalidSessionToken

from .conftest import OTHER_SECRET, SECRET, b64url

SETTINGS = Settings(widget_token_secret=SECRET)
NOW = 1_750_000_000


def _claims(**overrides):
    claims = {
        "iss": SETTINGS.widget_token_issuer,
        "aud": SETTINGS.widget_token_audience,
        "sub": "alice.hughes",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
        "jti": "0" * 32,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims, secret=SECRET, algorithm="HS256"):
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_round_trip_gives_back_the_subject_and_the_contract_claims():
    token = session_tokens.mint(SETTINGS, "alice.hughes", now=NOW)
    claims = session_tokens.verify(SETTINGS, token, now=NOW + 10)
    assert claims.subject == "alice.hughes"
    assert claims.issuer == "helpdesk-intranet"
    assert claims.audience == "helpdesk-widget"
    assert claims.issued_at == claims.not_before == NOW
    assert claims.expires_at == NOW + SETTINGS.widget_token_ttl_seconds
    assert claims.token_id is not None and len(claims.token_id) == 32
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"


def test_each_token_has_its_own_id():
    first = session_tokens.verify(SETTINGS, session_tokens.mint(SETTINGS, "a.b", now=NOW), now=NOW)
    second = session_tokens.verify(SETTINGS, session_tokens.mint(SETTINGS, "a.b", now=NOW), now=NOW)
    assert first.token_id != second.token_id


def test_default_clock_is_now():
    token = session_tokens.mint(SETTINGS, "alice.hughes")
    claims = session_tokens.verify(SETTINGS, token)
    assert abs(claims.issued_at - time.time()) < 5


def test_ttl_comes_from_settings():
    short = dataclasses.replace(SETTINGS, widget_token_ttl_seconds=120)
    token = session_tokens.mint(short, "alice.hughes", now=NOW)
    assert session_tokens.verify(short, token, now=NOW).expires_at == NOW + 120
    with pytest.raises(InvalidSessionToken):
        session_tokens.verify(short, token, now=NOW + 120 + LEEWAY_SECONDS)


def test_expired_token_is_refused_after_the_leeway_only():
    token = session_tokens.mint(SETTINGS, "alice.hughes", now=NOW)
    expiry = NOW + SETTINGS.widget_token_ttl_seconds
    session_tokens.verify(SETTINGS, token, now=expiry + LEEWAY_SECONDS - 1)
    with pytest.raises(InvalidSessionToken, match="expired"):
        session_tokens.verify(SETTINGS, token, now=expiry + LEEWAY_SECONDS)


def test_leeway_is_at_most_thirty_seconds():
    assert 0 <= LEEWAY_SECONDS <= 30


def test_token_from_the_future_is_refused():
    token = _sign(_claims(iat=NOW + 3600, nbf=NOW + 3600, exp=NOW + 7200))
    with pytest.raises(InvalidSessionToken, match="not valid yet"):
        session_tokens.verify(SETTINGS, token, now=NOW)


def test_issued_in_the_future_is_refused_even_with_an_old_nbf():
    token = _sign(_claims(iat=NOW + 3600))
    with pytest.raises(InvalidSessionToken, match="iat"):
        session_tokens.verify(SETTINGS, token, now=NOW)


def test_wrong_audience_is_refused():
    token = _sign(_claims(aud="someone-else"))
    with pytest.raises(InvalidSessionToken, match="InvalidAudience"):
        session_tokens.verify(SETTINGS, token, now=NOW)


def test_wrong_issuer_is_refused():
    token = _sign(_claims(iss="evil-intranet"))
    with pytest.raises(InvalidSessionToken, match="InvalidIssuer"):
        session_tokens.verify(SETTINGS, token, now=NOW)


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "sub", "iss", "aud"])
def test_every_required_claim_must_be_present(missing):
    claims = _claims()
    del claims[missing]
    with pytest.raises(InvalidSessionToken, match=missing):
        session_tokens.verify(SETTINGS, _sign(claims), now=NOW)


def test_jti_is_optional():
    claims = _claims()
    del claims["jti"]
    assert session_tokens.verify(SETTINGS, _sign(claims), now=NOW).token_id is None


@pytest.mark.parametrize("subject", ["", 42, ["alice.hughes"], "x" * 201])
def test_unusable_subject_is_refused(subject):
    with pytest.raises(InvalidSessionToken):
        session_tokens.verify(SETTINGS, _sign(_claims(sub=subject)), now=NOW)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_non_numeric_times_are_refused(claim):
    with pytest.raises(InvalidSessionToken):
        session_tokens.verify(SETTINGS, _sign(_claims(**{claim: "soon"})), now=NOW)


def test_other_secret_is_refused():
    with pytest.raises(InvalidSessionToken, match="Signature"):
        session_tokens.verify(SETTINGS, _sign(_claims(), secret=OTHER_SECRET), now=NOW)


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_other_hmac_algorithms_are_refused_even_with_the_right_secret(algorithm):
    token = _sign(_claims(), algorithm=algorithm)
    with pytest.raises(InvalidSessionToken, match="InvalidAlgorithm"):
        session_tokens.verify(SETTINGS, token, now=NOW)


def test_alg_none_is_refused():
    token = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(_claims())}."
    with pytest.raises(InvalidSessionToken):
        session_tokens.verify(SETTINGS, token, now=NOW)


def test_tampered_payload_is_refused():
    header, _payload, signature = session_tokens.mint(SETTINGS, "ben.okafor", now=NOW).split(".")
    forged = f"{header}.{b64url(_claims(sub='alice.hughes'))}.{signature}"
    with pytest.raises(InvalidSessionToken, match="Signature"):
        session_tokens.verify(SETTINGS, forged, now=NOW)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "a.b", None])
def test_garbage_is_refused(token):
    with pytest.raises(InvalidSessionToken):
        session_tokens.verify(SETTINGS, token, now=NOW)


def test_no_secret_no_tokens():
    weak = Settings(widget_token_secret="short")
    with pytest.raises(ConfigurationError):
        session_tokens.mint(weak, "alice.hughes")
    with pytest.raises(ConfigurationError):
        session_tokens.verify(weak, "a.b.c")


def test_mint_refuses_an_empty_subject():
    with pytest.raises(ValueError):
        session_tokens.mint(SETTINGS, "")


# --- the verified-token cache: the signature once per token, the clock at every call -----------

def _counting_decodes(monkeypatch) -> list[str]:
    decoded: list[str] = []
    real_decode = session_tokens.jwt.decode

    def counting_decode(token, *args, **kwargs):
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(session_tokens.jwt, "decode", counting_decode)
    return decoded


def test_a_token_is_decoded_once_however_often_it_is_verified(monkeypatch):
    decoded = _counting_decodes(monkeypatch)
    token = session_tokens.mint(SETTINGS, "alice.hughes", now=NOW)
    other = session_tokens.mint(SETTINGS, "alice.hughes", now=NOW)
    for offset in range(5):
        assert session_tokens.verify(SETTINGS, token, now=NOW + offset).subject == "alice.hughes"
    session_tokens.verify(SETTINGS, other, now=NOW)
    assert decoded == [token, other]


def test_a_kept_token_still_expires():
    token = session_tokens.mint(SETTINGS, "alice.hughes", now=NOW)
    session_tokens.verify(SETTINGS, token, now=NOW)
    with pytest.raises(InvalidSessionToken, match="expired"):
        session_tokens.verify(
            SETTINGS, token, now=NOW + SETTINGS.widget_token_ttl_seconds + LEEWAY_SECONDS)


def test_a_token_refused_as_too_early_is_accepted_once_valid():
    token = _sign(_claims(iat=NOW + 3600, nbf=NOW + 3600, exp=NOW + 7200, jti="early"))
    with pytest.raises(InvalidSessionToken, match="not valid yet"):
        session_tokens.verify(SETTINGS, token, now=NOW)
    assert session_tokens.verify(SETTINGS, token, now=NOW + 3600).subject == "alice.hughes"


def test_a_kept_token_is_checked_again_against_other_settings():
    token = session_tokens.mint(SETTINGS, "alice.hughes", now=NOW)
    session_tokens.verify(SETTINGS, token, now=NOW)
    with pytest.raises(InvalidSessionToken, match="Signature"):
        session_tokens.verify(dataclasses.replace(SETTINGS, widget_token_secret=OTHER_SECRET),
                              token, now=NOW)
    with pytest.raises(InvalidSessionToken, match="InvalidAudience"):
        session_tokens.verify(dataclasses.replace(SETTINGS, widget_token_audience="other-app"),
                              token, now=NOW)
    with pytest.raises(InvalidSessionToken, match="InvalidIssuer"):
        session_tokens.verify(dataclasses.replace(SETTINGS, widget_token_issuer="other-intranet"),
                              token, now=NOW)


def test_refused_tokens_are_not_kept(monkeypatch):
    decoded = _counting_decodes(monkeypatch)
    forged = _sign(_claims(jti="forged"), secret=OTHER_SECRET)
    for _ in range(3):
        with pytest.raises(InvalidSessionToken, match="Signature"):
            session_tokens.verify(SETTINGS, forged, now=NOW)
    assert decoded == [forged] * 3


def test_a_list_audience_comes_back_immutable():
    token = _sign(_claims(aud=[SETTINGS.widget_token_audience, "other-app"], jti="list-aud"))
    claims = session_tokens.verify(SETTINGS, token, now=NOW)
    assert claims.audience == (SETTINGS.widget_token_audience, "other-app")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_non_finite_times_are_refused(claim):
    token = jwt.encode(_claims(**{claim: float("nan")}), SECRET, algorithm="HS256")
    with pytest.raises(InvalidSessionToken, match=claim):
        session_tokens.verify(SETTINGS, token, now=NOW)
