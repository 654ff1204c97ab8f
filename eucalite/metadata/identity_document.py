"""The instance identity document and its signatures, under a per-cloud RSA key and self-signed
certificate that `eucalite identity-cert` prints, so guests and clients can verify documents."""

from __future__ import annotations

import base64
import datetime
import functools
import json
import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID


class IdentitySigner:
    """The key and certificate are made (and written) on a cloud's first start, so `eucalite identity-cert`
    can print them; on later starts they are read on first use, not at start-up (RSA key parsing is a
    noticeable part of a restart)."""

    def __init__(self, directory: Path | None) -> None:
        self._key_path = directory / "identity-key.pem" if directory else None
        self._cert_path = directory / "identity-cert.pem" if directory else None
        if not (self._key_path and self._cert_path and self._key_path.exists() and self._cert_path.exists()):
            self.key, self.cert = self._create()

    @functools.cached_property
    def key(self) -> rsa.RSAPrivateKey:
        assert self._key_path is not None
        loaded = serialization.load_pem_private_key(self._key_path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded

    @functools.cached_property
    def cert(self) -> x509.Certificate:
        assert self._cert_path is not None
        return x509.load_pem_x509_certificate(self._cert_path.read_bytes())

    def _create(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "eucalite"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "eucalite instance identity")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        if self._key_path and self._cert_path:
            self._key_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
            self._cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, cert

    def certificate_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def signature(self, document: str) -> str:
        sig = self.key.sign(document.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(sig).decode()

    def pkcs7(self, document: str) -> str:
        der = (pkcs7.PKCS7SignatureBuilder().set_data(document.encode())
               .add_signer(self.cert, self.key, hashes.SHA256())
               .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.NoCerts, pkcs7.PKCS7Options.Binary]))
        # Binary: sign the document's exact bytes (no MIME CRLF canonicalisation), so the recipe
        # `openssl smime -verify -content document` that AWS documents works on what /document serves.
        text = base64.b64encode(der).decode()
        # AWS wraps the PKCS7 body at 64 characters, without PEM armour.
        return "\n".join(text[i:i + 64] for i in range(0, len(text), 64))


def document(inst: dict[str, Any], region: str) -> str:
    return json.dumps({
        "accountId": inst["account_id"],
        "architecture": "x86_64",
        "availabilityZone": inst["zone"],
        "billingProducts": None,
        "devpayProductCodes": None,
        "marketplaceProductCodes": None,
        "imageId": inst["image_id"],
        "instanceId": inst["id"],
        "instanceType": inst["instance_type"],
        "kernelId": inst.get("kernel_id") or None,
        "pendingTime": inst["launch_time"],
        "privateIp": inst.get("private_ip") or "169.254.0.15",
        "ramdiskId": inst.get("ramdisk_id") or None,
        "region": region,
        "version": "2017-09-30",
    }, indent=2)
