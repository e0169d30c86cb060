"""The fetcher's address guard (SSRF): which connection targets are refused, and why.

Unless ``FetchConfig.allow_private_addresses``, targets that are loopback, private, link-local,
CGNAT, multicast, reserved, unspecified or cloud-metadata addresses are refused before any
connection. IPv6 addresses that embed an IPv4 address are unpacked first and the embedded address
is checked too, so that a relay or translator cannot be used to reach an internal IPv4 host:

==========================  ===================  ============================================
form                        prefix               embedded IPv4
==========================  ===================  ============================================
IPv4-mapped                 ``::ffff:0:0/96``    low 32 bits (RFC 4291 2.5.5.2)
IPv4-compatible (obsolete)  ``::/96``            low 32 bits (RFC 4291 2.5.5.1)
IPv4-translated (SIIT)      ``::ffff:0:0:0/96``  low 32 bits (RFC 2765 2.1)
6to4                        ``2002::/16``        bits 16-47 (RFC 3056 2)
Teredo                      ``2001::/32``        server bits 32-63, client = ~bits 96-127 (RFC 4380 4)
NAT64 well-known prefix     ``64:ff9b::/96``     low 32 bits (RFC 6052 2.1)
NAT64 local-use prefix      ``64:ff9b:1::/48``   every RFC 6052 2.2 position (/48 ... /96)
==========================  ===================  ============================================

An address whose embedded IPv4 is public is judged as that IPv4 address for the NAT64 forms (a
NAT64 gateway reaches exactly that host); the other forms are then judged as IPv6 addresses too
(Teredo, for one, is not globally routable and stays refused).

A host name is resolved and every address checked; for direct connections the connected socket's
peer address is checked again (closing a DNS-rebinding window). Numeric host names in inet_aton
shorthand (``2130706433``, ``0x7f.1``, ``127.1``) are read as the IPv4 address a resolver or proxy
would make of them.
"""
from __future__ import annotations

import ipaddress
import socket

__all__ = ["BlockedAddressError", "address_refusal", "check_peer", "embedded_ipv4", "host_refusal"]

_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_V4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_NAT64_PREFIX_LENGTHS = (32, 40, 48, 56, 64, 96)  # RFC 6052 2.2


class BlockedAddressError(Exception):
    """A connection target was refused by the address guard."""


def _rfc6052_ipv4(value: int, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address at the RFC 6052 2.2 position for ``prefix_length`` (bits 64-71 are skipped)."""
    octets = value.to_bytes(16, "big")
    start = prefix_length // 8
    if prefix_length == 96:
        return ipaddress.IPv4Address(octets[12:16])
    positions = [i for i in range(start, 16) if i != 8][:4]
    return ipaddress.IPv4Address(bytes(octets[i] for i in positions))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """``(form, IPv4)`` for every IPv4 address ``address`` embeds (empty for a plain IPv6 address)."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    value = int(address)
    if address.ipv4_mapped is not None:
        found.append(("IPv4-mapped", address.ipv4_mapped))
    elif address in _V4_TRANSLATED:
        found.append(("IPv4-translated", ipaddress.IPv4Address(value & 0xFFFFFFFF)))
    elif address in _V4_COMPATIBLE and value > 1:  # :: and ::1 are unspecified / loopback themselves
        found.append(("IPv4-compatible", ipaddress.IPv4Address(value & 0xFFFFFFFF)))
    if address.sixtofour is not None:
        found.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found.append(("Teredo client", client))
        found.append(("Teredo server", server))
    if address in _NAT64_WELL_KNOWN:
        found.append(("NAT64", ipaddress.IPv4Address(value & 0xFFFFFFFF)))
    elif address in _NAT64_LOCAL:
        for length in _NAT64_PREFIX_LENGTHS:
            if length >= 48:
                found.append((f"NAT64 /{length}", _rfc6052_ipv4(value, length)))
    return found


def _plain_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if address in _METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_unspecified:
        return f"{address} is an unspecified address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return f"{address} is a shared (CGNAT) address"
    if address.is_reserved:
        return f"{address} is a reserved address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is not a globally routable address"
    return None


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` must not be connected to, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        for form, ipv4 in embedded:
            reason = _plain_refusal(ipv4)
            if reason:
                if form == "IPv4-mapped":
                    return reason
                return f"{address} embeds {form} {reason}"
        if embedded and (address in _NAT64_WELL_KNOWN or address in _NAT64_LOCAL or address.ipv4_mapped):
            return None  # a translator reaches exactly the (public) embedded IPv4 host
    return _plain_refusal(address)


def _ipv4_shorthand(name: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address of a numeric host in inet_aton forms (decimal, octal, hex, 1-3 parts)."""
    last = name.rsplit(".", 1)[-1]
    if not last or not (last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:]))):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except (OSError, ValueError):
        return None


def host_refusal(host: str, port: int, resolve: bool) -> str | None:
    """Refusal reason for connecting to ``host``; resolves names only when ``resolve``."""
    name = host.strip("[]").rstrip(".").lower()
    if name in _METADATA_HOSTS:
        return f"{name} is a cloud metadata host name"
    try:
        return address_refusal(ipaddress.ip_address(name.split("%", 1)[0]))
    except ValueError:
        pass
    shorthand = _ipv4_shorthand(name)
    if shorthand is not None:  # 2130706433, 0x7f.1, 127.1: a proxy or resolver reads these as IPv4
        return address_refusal(shorthand)
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None  # let the connection fail as unreachable with the resolver's message
    for info in infos:
        reason = address_refusal(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
        if reason:
            return f"{name} resolves to {reason}"
    return None


def check_peer(sock: socket.socket) -> None:
    """Refuse (close and raise) a connected socket whose peer is not a public address."""
    peer = sock.getpeername()[0]
    reason = address_refusal(ipaddress.ip_address(peer.split("%", 1)[0]))
    if reason:
        sock.close()
        raise BlockedAddressError(f"connected peer {reason}")
