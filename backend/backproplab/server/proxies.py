"""Reverse proxies this server trusts (``BACKPROPLAB_TRUSTED_PROXIES``): behind one, every client arrives
from the proxy's address, so per-address limits would count a whole site (or a class) as one client. A
request from a trusted proxy is counted by the client its ``X-Forwarded-For`` names (uvicorn's proxy
headers middleware rewrites the request's client for the app), and its connection takes no request turns
of its own (connections.py): the proxy is many clients, and limits them per client itself."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """Addresses and networks ("10.0.0.2", "172.16.0.0/12", "::1"; "*": any peer) of trusted proxies."""

    def __init__(self, entries: tuple[str, ...]):
        self.entries = entries
        self.any = "*" in entries
        self.networks: list[Network] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"BACKPROPLAB_TRUSTED_PROXIES: {entry!r} is not an IP address or network (or *)"
                ) from None

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __contains__(self, host: object) -> bool:
        if self.any:
            return True
        try:
            address = ipaddress.ip_address(str(host))
        except ValueError:
            return False
        return any(address in network for network in self.networks)
