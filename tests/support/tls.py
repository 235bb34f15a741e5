"""Self-signed certificates for the TLS tests, made with cryptography (already a dependency)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> x509.CertificateBuilder:
    """A certificate for ``subject`` valid 30 days from ``now``, with its key's public half."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
    )


def _server_names(name: str) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])


def _write(directory: Path, name: str, pem: bytes, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    certificate_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    certificate_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


def self_signed(directory: Path, name: str = "neocuma.centre.example", expired: bool = False) -> tuple[Path, Path]:
    """A certificate for ``name`` (and 127.0.0.1) and its key, as PEM files in ``directory``;
    ``expired``: one whose validity ended yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC) - (dt.timedelta(days=31) if expired else dt.timedelta(0))
    certificate = (
        _builder(name, _name(name), key, now)
        .add_extension(_server_names(name), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write(directory, name, certificate.public_bytes(serialization.Encoding.PEM), key)


def authority_and_leaves(directory: Path, *names: str) -> list[tuple[Path, Path]]:
    """An authority and, for each of ``names`` (each also valid for 127.0.0.1), a certificate
    it signed and its key: each ``<name>.crt`` holds the leaf then the authority, as a
    centre's file with its chain does."""
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = _name("Autorité du centre")
    now = dt.datetime.now(dt.UTC)
    authority = (
        _builder("Autorité du centre", authority_name, authority_key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .sign(authority_key, hashes.SHA256())
    )
    made = []
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            _builder(name, authority_name, key, now)
            .add_extension(_server_names(name), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(authority_key, hashes.SHA256())
        )
        chain = leaf.public_bytes(serialization.Encoding.PEM) + authority.public_bytes(serialization.Encoding.PEM)
        made.append(_write(directory, name, chain, key))
    return made
