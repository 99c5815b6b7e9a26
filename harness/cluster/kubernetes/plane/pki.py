"""The local control plane's keys and certificates, made with ``cryptography`` (ECDSA P-256, a day's validity).

One CA signs everything: the API server's serving certificate (SANs 127.0.0.1, localhost and the in-cluster names
``kubernetes.default.svc``, 10.96.0.1), and a client certificate per user (the API server takes the subject's
common name as the user name and each organisation as a group). The service-account key pair signs and checks
the tokens the API server issues (TokenRequest). Every private key is written 0600.

Dapr's own certificates are not made here: sentry makes its CA and stores it in the cluster (Secret
``dapr-trust-bundle``), as it does on a real cluster.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = dt.timedelta(days=1)
SERVING_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
SERVING_IPS = ("127.0.0.1", "10.96.0.1")  # the first address of --service-cluster-ip-range: the kubernetes Service


@dataclass(frozen=True, slots=True)
class User:
    """A client of the API server: its kubeconfig and certificate are named ``file``."""

    file: str
    name: str
    groups: tuple[str, ...] = ()


ADMIN = User("admin", "onceonly-admin", ("system:masters",))
CONTROLLER_MANAGER = User("controller-manager", "system:kube-controller-manager")
SCHEDULER = User("scheduler", "system:kube-scheduler")
KWOK = User("kwok", "kwok", ("system:masters",))  # kwok changes nodes and pods of every namespace
NODE_NAME = "onceonly-node"  # the one real node (`k8s up --node`)
NODE = User("node", f"system:node:{NODE_NAME}", ("system:nodes",))  # its kubelet, as the Node authorizer wants
KUBE_PROXY = User("kube-proxy", "system:kube-proxy")
KUBELET_CLIENT = User("kubelet-client", "kube-apiserver-kubelet-client")  # the API server calling kubelets (logs, exec)


@dataclass(frozen=True, slots=True)
class Pki:
    """Where the plane's keys and certificates are (``<plane dir>/pki``)."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def client_cert(self, user: User) -> Path:
        return self.dir / f"{user.file}.crt"

    def client_key(self, user: User) -> Path:
        return self.dir / f"{user.file}.key"


def generate(pki: Pki, users: tuple[User, ...]) -> None:
    """Write the CA, the API server's serving pair, the service-account pair and one client pair per user."""
    pki.dir.mkdir(parents=True, exist_ok=True)
    ca_key = _key(pki.ca_key)
    ca_name = _name("onceonly-local-ca")
    ca = _builder(ca_name, ca_name, ca_key.public_key()).add_extension(
        x509.BasicConstraints(ca=True, path_length=None), critical=True
    )
    ca = ca.add_extension(_usage(cert_sign=True), critical=True)
    ca_cert = ca.sign(ca_key, hashes.SHA256())
    _write(pki.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)

    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVING_NAMES]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    _leaf(
        pki.serving_cert,
        pki.serving_key,
        _name("kube-apiserver"),
        ca_cert,
        ca_key,
        ExtendedKeyUsageOID.SERVER_AUTH,
        sans,
    )
    for user in users:
        subject = _name(user.name, user.groups)
        _leaf(pki.client_cert(user), pki.client_key(user), subject, ca_cert, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)

    sa_key = _key(pki.sa_key)
    sa_pub = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(pki.sa_pub, sa_pub, private=False)


def serving_pair(pki: Pki, cert: Path, key: Path, common_name: str, ips: tuple[str, ...]) -> None:
    """A serving pair signed by the plane's CA for ``ips`` (a kubelet's: the API server dials it for logs and exec)."""
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.ca_key} is not the EC key this module writes")
    _leaf(cert, key, _name(common_name), ca_cert, ca_key, ExtendedKeyUsageOID.SERVER_AUTH, sans)


def _leaf(
    cert_path: Path,
    key_path: Path,
    subject: x509.Name,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    purpose: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> None:
    key = _key(key_path)
    builder = _builder(subject, ca_cert.subject, key.public_key())
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(_usage(cert_sign=False), critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    _write(cert_path, builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), private=False)


def _builder(subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # a little clock skew between processes is harmless
        .not_valid_after(now + VALID_FOR)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str, organisations: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organisations]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(path, pem, private=True)
    return key


def _write(path: Path, data: bytes, *, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
