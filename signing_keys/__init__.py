"""RSA signing keys from a JSON Web Key Set (RFC 7517), for both runtimes.

The Teams channel (`connectors/teams_auth.py`, inside Rasa on Python 3.10) and the intranet
sign-in (`bot/signin/entra.py`, the web app on 3.12) both verify Microsoft-issued tokens against
a JWKS. They read it the same way, here: a package of its own because `connectors/` may not
import `bot/` (and `bot/` may not import Rasa); it imports only PyJWT and cryptography, which
both runtimes pin.

Rules (RFC 7517 section 4; RFC 7518 section 6.3; NIST SP 800-131A for the key size): an entry is
kept only when it is an RSA key (`kty` "RSA") for signatures (`use` "sig" or absent) with a
`kid`, that PyJWT can load, of at least 2048 bits. Anything else in the set (EC, symmetric,
encryption keys, broken entries) is skipped rather than failing the whole set: a provider adds
key types over time.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Text, Tuple

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

MIN_RSA_KEY_BITS = 2048


def rsa_signing_keys(document: Any) -> Dict[Text, Tuple[RSAPublicKey, Mapping[Text, Any]]]:
    """Each usable key by its kid, with its JWKS entry (for provider-specific members such as
    the Bot Connector's `endorsements`). `ValueError` when the document has no key list."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("JWKS has no key list")
    keys: Dict[Text, Tuple[RSAPublicKey, Mapping[Text, Any]]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        try:
            public_key = RSAAlgorithm.from_jwk(json.dumps(entry))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        if isinstance(public_key, RSAPublicKey) and public_key.key_size >= MIN_RSA_KEY_BITS:
            keys[kid] = (public_key, entry)
    return keys
