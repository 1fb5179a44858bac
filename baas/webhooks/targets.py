"""Which network addresses an outgoing request may reach (webhooks, HTTP job targets).

A target URL's host is resolved, and the request is refused if any address is loopback, private,
link-local, multicast, reserved or unspecified (IPv4-mapped, 6to4 and Teredo IPv6 addresses are
judged as the IPv4 address they carry) — unless the operator allows it: per webhook (``allowPrivate: true``), or
server-wide with ``BAAS_WEBHOOKS_ALLOW_PRIVATE`` (``1``: any address; or a comma-separated list
of addresses/networks, e.g. ``127.0.0.1/32``). The request then goes to the address that was
checked (never resolved a second time), so a DNS answer cannot change between check and connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(Exception):
    """The target may not be reached: the message says which address and why."""


@dataclass(frozen=True)
class Target:
    """A checked target: the URL's host and port, and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: IPAddress


def server_allowance() -> bool | tuple[IPNetwork, ...]:
    """``BAAS_WEBHOOKS_ALLOW_PRIVATE``: True (``1``/``true``), a list of networks, or False."""
    raw = os.environ.get("BAAS_WEBHOOKS_ALLOW_PRIVATE", "").strip()
    if not raw or raw.lower() in ("0", "false", "no"):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    nets = []
    for part in raw.split(","):
        if part.strip():
            try:
                nets.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                continue  # an unreadable entry allows nothing
    return tuple(nets)


def carried(addr: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped, 6to4 or Teredo (client) address carries, else ``addr``."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr.teredo is not None:
            return addr.teredo[1]
    return addr


def why_refused(addr: IPAddress) -> str | None:
    """Why ``addr`` is not a public address, or None."""
    addr = carried(addr)
    for label, flag in (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("unspecified", addr.is_unspecified),
        ("private", addr.is_private),
        ("reserved", addr.is_reserved),
    ):
        if flag:
            return label
    if not addr.is_global:
        return "not globally routable"
    return None


def _allowed(addr: IPAddress, allow: bool | tuple[IPNetwork, ...]) -> bool:
    if allow is True:
        return True
    if allow is False:
        return False
    plain = carried(addr)
    return any((a.version == net.version and a in net) for net in allow for a in (addr, plain))


async def resolve(url: str, *, allow_private: bool = False) -> Target:
    """Check ``url``'s host as explained in the module docstring; `TargetRefused` if it fails."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"{url!r} is not an http(s) URL with a host")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused(f"{url!r} has an invalid port") from None
    allow: bool | tuple[IPNetwork, ...] = True if allow_private else server_allowance()
    try:
        addrs: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise TargetRefused(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
        addrs = []
        for info in infos:
            a = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if a not in addrs:
                addrs.append(a)
    if not addrs:
        raise TargetRefused(f"{host!r} has no address")
    for a in addrs:  # every address: a name with one public and one private address is refused
        reason = why_refused(a)
        if reason and not _allowed(a, allow):
            raise TargetRefused(f"{host} resolves to {a}, a {reason} address (allowPrivate is off)")
    return Target(parts.scheme, host, port, addrs[0])
