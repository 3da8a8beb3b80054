"""Webhook POSTs signed as the Standard Webhooks spec says, to destinations that are safe.

Signing (https://www.standardwebhooks.com, "Signature scheme"): the secret is
``whsec_<base64 key>``; the signature is ``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``
in ``webhook-signature``, with ``webhook-id`` (the delivery id, the receiver's dedup key) and
``webhook-timestamp`` (seconds since the epoch, of this attempt).

Destinations: https only, and the host must resolve to public addresses only, unless the host
is in ``WEBHOOK_ALLOWED_HOSTS``. The connection goes to the very address that was checked (no
second DNS lookup an attacker could answer differently), redirects are never followed, and the
whole attempt has a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
# The spec asks for keys of 24 to 64 bytes.
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64


class DestinationRefused(Exception):
    """The URL may not be called: not https, or a private, loopback or link-local address."""


class DeliveryError(Exception):
    """The attempt failed in a way a later attempt may not (timeout, 5xx, refused connection)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError as exc:
        raise ValueError("must be whsec_ followed by base64") from exc
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(f"the key must be {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def check_url_shape(url: str, allowed_hosts: tuple[str, ...]) -> None:
    """Refuse what can be refused without DNS: schemes, credentials, missing host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationRefused("the URL has no host")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not allowed; use the signature")
    try:
        parts.port  # noqa: B018  (urlsplit checks the port only when asked)
    except ValueError as exc:
        raise DestinationRefused("the URL has an invalid port") from exc
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and host in allowed_hosts:
        return
    raise DestinationRefused(f"only https is allowed for {host} (not in WEBHOOK_ALLOWED_HOSTS)")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url: str, allowed_hosts: tuple[str, ...]) -> Target:
    """Where to connect for ``url``, or DestinationRefused."""
    check_url_shape(url, allowed_hosts)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("the URL has an invalid port") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if host not in allowed_hosts:
        # Every address must be public: a name with one public and one internal address
        # would otherwise let the resolver's order pick the internal one.
        refused = [a for a in addresses if not _public(a)]
        if refused:
            raise DestinationRefused(
                f"{host} resolves to a non-public address ({refused[0]}); refused"
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate verified for the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address
        self._ssl = ssl.create_default_context()

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ssl.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(
    url: str,
    *,
    msg_id: str,
    timestamp: int,
    body: bytes,
    secret: str,
    timeout: float,
    allowed_hosts: tuple[str, ...],
) -> int:
    """POST one signed event; the 2xx status, or DeliveryError / DestinationRefused."""
    target = resolve(url, allowed_hosts)
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, timeout)
    else:
        connection = _PinnedHTTPConnection(target, timeout)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "samverkan-field-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return response.status
    if 300 <= response.status < 400:
        # Following would let a receiver send us anywhere, past the destination checks.
        raise DeliveryError(f"HTTP {response.status} redirect; redirects are not followed")
    raise DeliveryError(f"HTTP {response.status}")
