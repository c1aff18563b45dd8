"""Self-signed signing material for the token server, made fresh at test time."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SigningCert:
    """A private key plus the self-signed cert the registry trusts as its root bundle."""

    key_pem: bytes
    cert_pem: bytes
    cert_der: bytes
    #: The key parsed once: PyJWT given the PEM re-parses and checks it for every token
    #: (about 40 ms of CPU each).
    key: rsa.RSAPrivateKey | None = None

    @property
    def x5c(self) -> list[str]:
        """JWT header chain: standard base64 of the DER cert, as docker-registry expects."""
        return [base64.b64encode(self.cert_der).decode("ascii")]

    def write_cert(self, path: Path) -> Path:
        """Write cert.pem for the registry's `rootcertbundle`."""
        path.write_bytes(self.cert_pem)
        return path


def _build_cert(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    """Self-sign a certificate valid from yesterday for a day, tolerant of clock skew."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name)
    builder = builder.public_key(key.public_key()).serial_number(x509.random_serial_number())
    builder = builder.not_valid_before(now - dt.timedelta(days=1))
    builder = builder.not_valid_after(now + dt.timedelta(days=2))
    return builder.sign(key, hashes.SHA256())


def make_signing_cert(common_name: str = "imgsync-test-token-issuer") -> SigningCert:
    """Generate an RSA-2048 key and matching self-signed cert in memory."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _build_cert(key, common_name)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningCert(
        key_pem=key_pem,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        cert_der=cert.public_bytes(serialization.Encoding.DER),
        key=key,
    )
