"""A local certificate authority (made with ``cryptography``) for stores served over TLS on loopback.

The CA signs server certificates for ``127.0.0.1``, ``::1`` and ``localhost`` (and any other names asked for) and
writes its own certificate as a PEM bundle, which clients are given the way users name a corporate CA:
``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE`` or ``--ca-bundle``. Keys never leave the directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VARIABLES = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")
"""The environment variables through which boto3, requests / azure-core, OpenSSL and Node read a CA bundle."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
"""The names every server certificate is valid for."""
VALID_DAYS = 825
"""How long certificates are valid (days); the CA is reused while its files exist."""


@dataclass(frozen=True)
class ServerCert:
    """A server certificate (``cert`` holds the leaf, then the CA) and its private key, as PEM files."""

    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "divio-storage local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(b"")
    os.chmod(path, 0o600)
    path.write_bytes(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


class LocalCA:
    """A CA whose certificate and key live in ``directory`` (created on first use, reused after)."""

    def __init__(self, directory: Path, *, name: str = "divio-storage local CA") -> None:
        self.directory = directory
        self.bundle = directory / "ca.pem"
        """The CA certificate (PEM): what clients are told to trust."""
        self._key_file = directory / "ca-key.pem"
        directory.mkdir(parents=True, exist_ok=True)
        if self.bundle.is_file() and self._key_file.is_file():
            self._cert = x509.load_pem_x509_certificate(self.bundle.read_bytes())
            loaded = serialization.load_pem_private_key(self._key_file.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{self._key_file} is not an EC key made by this CA")
            self._key = loaded
            return
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        _write_private(self._key_file, _key_pem(self._key))
        self.bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, extra_names: Iterable[str] = ()) -> ServerCert:
        """A server certificate for the loopback names and ``extra_names``, written as ``<name>.pem`` and
        ``<name>-key.pem`` beside the CA (replaced on every call)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        names = [*LOOPBACK_NAMES, *extra_names]
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        files = ServerCert(self.directory / f"{name}.pem", self.directory / f"{name}-key.pem")
        pem = cert.public_bytes(serialization.Encoding.PEM) + self._cert.public_bytes(serialization.Encoding.PEM)
        files.cert.write_bytes(pem)
        _write_private(files.key, _key_pem(key))
        return files

    def environment(self) -> dict[str, str]:
        """Every CA variable of :data:`CA_VARIABLES` naming :attr:`bundle`."""
        return dict.fromkeys(CA_VARIABLES, str(self.bundle))
