"""The JWKS reading both runtimes share (signing_keys): which entries become keys."""
from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from signing_keys import rsa_signing_keys


def rsa_jwk(kid: str, bits: int = 2048, **extra: object) -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return {**json.loads(RSAAlgorithm.to_jwk(key)), "kid": kid, **extra}


def test_only_rsa_signing_keys_of_2048_bits_or_more_with_a_kid_are_kept() -> None:
    ec_key = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    document = {"keys": [
        rsa_jwk("good", use="sig", endorsements=["msteams"]),
        rsa_jwk("no-use"),
        rsa_jwk("small", bits=1024),
        rsa_jwk("encryption", use="enc"),
        {**rsa_jwk(""), "kid": ""},
        {**ec_key, "kid": "ec"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not an object",
    ]}
    keys = rsa_signing_keys(document)
    assert set(keys) == {"good", "no-use"}
    public_key, entry = keys["good"]
    assert public_key.key_size == 2048
    assert entry["endorsements"] == ["msteams"]  # provider members are handed back


@pytest.mark.parametrize("document", [{}, {"keys": "x"}, [], None, "keys"])
def test_a_document_without_a_key_list_is_refused(document: object) -> None:
    with pytest.raises(ValueError):
        rsa_signing_keys(document)
