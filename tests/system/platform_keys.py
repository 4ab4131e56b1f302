"""Key material for the platform fakes of the channel system test. Runs in the RASA runtime.

The services runtime (where the system tests run) has no `cryptography`; the Rasa runtime, which
the stack under test needs anyway, has it and PyJWT. This script makes, in a fresh directory:

- `ca.pem`: a throwaway certificate authority, and `server.pem` / `server-key.pem`: the fakes'
  TLS certificate for 127.0.0.1 signed by it. The Rasa process trusts that CA through
  SSL_CERT_FILE (aiohttp) and REQUESTS_CA_BUNDLE (MSAL), so the channels' production checks stay
  as they are: an https serviceUrl, an https MSAL authority, no certificate check switched off.
- on stdout, JSON: the Bot Framework JWKS (one RSA key, endorsed for msteams) and two Bot
  Connector tokens for the given serviceUrl and app id: `genuine` (signed with that key) and
  `forged` (same claims and kid, signed with an attacker's key).

Usage: .venv/rasa/bin/python tests/system/platform_keys.py <dir> <service url> <app id>
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import sys
import time
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER = "https://api.botframework.com"
KID = "system-test-signing-key"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificates(directory: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, server_key = rsa_key(), rsa_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "helpdesk system-test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(pem(ca))
    (directory / "server.pem").write_bytes(pem(server))
    (directory / "server-key.pem").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def token(key: rsa.RSAPrivateKey, service_url: str, app_id: str) -> str:
    now = int(time.time())
    claims = {"serviceurl": service_url, "iss": ISSUER, "aud": app_id,
              "nbf": now - 60, "exp": now + 3600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def main(directory: str, service_url: str, app_id: str) -> None:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    certificates(out)
    signing, attacker = rsa_key(), rsa_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    jwk.update({"kid": KID, "use": "sig", "endorsements": ["msteams"]})
    json.dump({"jwks": {"keys": [jwk]},
               "tokens": {"genuine": token(signing, service_url, app_id),
                          "forged": token(attacker, service_url, app_id)}}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:4])
