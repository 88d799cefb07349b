"""Which Host and Origin headers this server trusts: the one rule behind the Host check (DNS rebinding),
the cross-site check on state-changing requests and the WebSocket handshake.

A browser tricked by DNS rebinding talks to this server under the attacker's name (``Host: evil.example``),
so the Host header must be one of this server's own names before anything else is believed. Once it is,
"same origin" means the Origin's host and port equal the Host header's, as a browser sends them.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from urllib.parse import urlsplit

from .settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(hostname, port or None)`` of a Host header value (lowercase), or None when it is malformed."""
    try:
        parts = urlsplit(f"//{value}")
        hostname, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if not hostname or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return hostname.lower(), port


@cache
def machine_names() -> frozenset[str]:
    """This machine's own name, and its mDNS form, as students type them to reach a teacher's laptop."""
    name = socket.gethostname().lower()
    return frozenset({name, f"{name}.local"}) if name else frozenset()


def is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def name_allowed(hostname: str, settings: Settings) -> bool:
    """True for this server's own names: an IP literal (never a rebinding: it names no attacker's DNS),
    localhost, the bound host, this machine's name, or one of ``allowed_hosts``."""
    allowed = {item.lower() for item in settings.allowed_hosts}
    if "*" in allowed or is_ip(hostname) or hostname in allowed:
        return True
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    if hostname == settings.host.lower() or hostname in machine_names():
        return True
    return any(item.startswith(".") and hostname.endswith(item) for item in allowed)


def host_allowed(host: str | None, settings: Settings) -> bool:
    """The Host header names this server (no Host at all: not a browser, e.g. an HTTP/1.0 script)."""
    if host is None:
        return True
    parts = split_host(host)
    return parts is not None and name_allowed(parts[0], settings)


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """No Origin (not a browser), an origin listed in ``allowed_origins``, or the same origin: the Origin's
    host and port equal the Host header's (a default port written or not), on one of this server's names."""
    if origin is None:
        return True
    allowed = {item.rstrip("/") for item in settings.allowed_origins}
    if "*" in allowed or origin.rstrip("/") in allowed:
        return True
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or host is None:
        return False
    own = split_host(host)
    if own is None or not name_allowed(own[0], settings):
        return False
    default = DEFAULT_PORTS[parts.scheme]
    return (parts.hostname.lower(), origin_port or default) == (own[0], own[1] or default)
