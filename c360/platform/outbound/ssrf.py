"""Where a webhook may be sent: public addresses only, unless the endpoint was
explicitly allowed private ones (a receiver on the same network, a test on
loopback). The check resolves the host and refuses when *any* address it names
is private, loopback, link-local, multicast, reserved or unspecified, and the
sender connects to the address checked (:func:`resolve_target`), so a name that
re-resolves between check and connect cannot reach inside."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """A webhook URL that may not be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: its host, port, and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: str


def check_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a usable webhook URL, else :class:`UnsafeTarget`."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeTarget("url must be an http or https URL")
    if len(url) > 2048:
        raise UnsafeTarget("url is longer than 2048 characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"url scheme must be http or https, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UnsafeTarget("url has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("url must not carry credentials; deliveries are signed instead")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTarget(f"url port is invalid: {exc}") from None
    return parts.scheme, parts.hostname, port


def is_private(address: str) -> bool:
    """Whether ``address`` is anything but a global unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """The address to deliver ``url`` to, refusing private ones unless allowed."""
    scheme, host, port = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"url host {host!r} does not resolve: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeTarget(f"url host {host!r} does not resolve")
    if not allow_private:
        private = [a for a in addresses if is_private(a)]
        if private:
            raise UnsafeTarget(
                f"url host {host!r} resolves to a private or loopback address ({private[0]}); "
                "add the endpoint with --allow-private if that is intended"
            )
    return Target(scheme, host, port, addresses[0])
