"""Which addresses the crawler may connect to, and a resolver that connects only to checked ones.

A host is resolved once per crawl (:func:`pinned_addresses`); every address of that one answer is
checked, and the connection goes to that same answer, because :class:`CheckedResolver` replaces
Twisted's name resolver and hands the download handler only the pinned, checked addresses. A
second DNS answer (DNS rebinding: public first, intranet second) is never asked for.

Refused: private (RFC 1918, ULA), loopback, link-local (169.254.0.0/16 with the cloud metadata
endpoint, fe80::/10), multicast, unspecified, reserved, and anything not global. IPv6 forms that
carry an IPv4 address (IPv4-mapped ``::ffff:0:0/96``, NAT64 ``64:ff9b::/96`` RFC 6052, 6to4
``2002::/16`` RFC 3056, Teredo ``2001::/32`` RFC 4380) are judged by the IPv4 address inside.
``allow_private`` lifts private and loopback only (intranet crawls, tests).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver, IHostResolution
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def system_lookup(host: str) -> tuple[str, ...]:
    """All addresses the system resolver gives for ``host`` (empty when it does not resolve)."""
    try:
        return tuple(
            dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM))
        )
    except (OSError, UnicodeError):
        return ()  # unresolvable: the download fails as a DNS error and is logged as such


lookup: Callable[[str], tuple[str, ...]] = system_lookup  # tests swap in a stub DNS here
_pinned: dict[str, tuple[str, ...]] = {}


def pinned_addresses(host: str) -> tuple[str, ...]:
    """The one answer for ``host`` in this crawl: looked up on first use, then kept."""
    if host not in _pinned:
        _pinned.setdefault(host, lookup(host))  # two racing lookups: the first stored one wins
    return _pinned[host]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 transition form carries (empty for a plain IPv6 address)."""
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip in NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)  # (server, client): both must be acceptable
    return []


def address_refused(address: str, allow_private: bool) -> bool:
    """True when the crawler must not connect to ``address`` (an IP literal; not one: refused)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and (inner := embedded_ipv4(ip)):
        return any(address_refused(str(v4), allow_private) for v4 in inner)
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return True
    if ip.is_loopback:  # before "reserved": Python counts ::1 in the reserved ::/8
        return not allow_private
    if ip.is_reserved:  # before "private": Python counts 240.0.0.0/4 as private too
        return True
    if ip.is_private:
        return not allow_private
    return not ip.is_global


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        return None


def host_refused(host: str, allow_private: bool) -> bool:
    """True when ``host`` is empty, or is or resolves to any refused address (or to none:
    that one fails later as a DNS error)."""
    host = host.strip("[]").lower()
    if not host:
        return True
    if (literal := _literal(host)) is not None:
        return address_refused(literal, allow_private)
    if (host == "localhost" or host.endswith(".localhost")) and not allow_private:
        return True
    return any(address_refused(a, allow_private) for a in pinned_addresses(host))


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:  # lookups are not cancellable; the answer is simply not used
        pass


@implementer(IHostnameResolver)
class CheckedResolver:
    """Twisted name resolver that answers with the pinned addresses of a host, and with none when
    any of them is refused (the download then fails with a DNS error that the spider logs as
    ``private_address``)."""

    def __init__(self, reactor, allow_private: bool):
        self.reactor, self.allow_private = reactor, allow_private

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):
        resolution = _Resolution(hostName)
        receiver.resolutionBegan(resolution)
        host = hostName.strip("[]").lower()

        def deliver(addresses: tuple[str, ...]) -> None:
            if not host_refused(host, self.allow_private):
                for address in addresses:
                    kind = IPv6Address if ":" in address else IPv4Address
                    if addressTypes is None or kind in addressTypes:
                        receiver.addressResolved(kind("TCP", address, portNumber))
            receiver.resolutionComplete()

        literal = _literal(host)
        if literal is not None:
            deliver((literal,))
        else:
            deferred = deferToThreadPool(self.reactor, self.reactor.getThreadPool(), pinned_addresses, host)
            deferred.addCallbacks(deliver, lambda _failure: receiver.resolutionComplete())
        return resolution


def install_checked_resolver(reactor, allow_private: bool) -> None:
    """Make every hostname connection of this process go through :class:`CheckedResolver`."""
    if not isinstance(reactor.nameResolver, CheckedResolver):
        reactor.installNameResolver(CheckedResolver(reactor, allow_private))
