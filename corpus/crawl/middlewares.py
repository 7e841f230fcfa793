"""Downloader middlewares: the private-address guard and retries with exponential backoff.

The guard runs on every request the engine downloads, including the targets of redirects (the
spider turns each redirect into a new request) and robots.txt fetches, so a public page cannot
steer the crawler into an intranet. It resolves the host before the request goes out and checks
the address the response actually came from afterwards (DNS can change between the two).

``JINGLIAN_ALLOW_PRIVATE`` lifts the check for private (RFC 1918, ULA) and loopback addresses,
for intranet crawls and tests. Link-local (169.254.0.0/16, the cloud metadata endpoint, fe80::/10),
multicast, unspecified and reserved addresses stay refused: no crawl has a reason to visit them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response


class PrivateAddressBlocked(IgnoreRequest):
    """The request's host is, or resolves to, an address the crawl may not visit."""


@lru_cache(maxsize=4096)
def _resolve(host: str) -> tuple[str, ...]:
    try:
        return tuple({info[4][0] for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError):
        return ()  # unresolvable: the download fails later as a DNS error and is logged as such


def address_refused(address: str, allow_private: bool) -> bool:
    """True when the crawler must not connect to ``address`` (an IP literal)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return True
    if ip.is_loopback or ip.is_private:
        return not allow_private
    return not (ip.is_global or allow_private)


def host_refused(host: str, allow_private: bool) -> bool:
    """True when ``host`` is, or resolves to any, refused address."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host.split("%")[0])
        return address_refused(host, allow_private)
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return not allow_private
    return any(address_refused(address, allow_private) for address in _resolve(host))


class PrivateAddressGuard:
    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getbool("JINGLIAN_ALLOW_PRIVATE"))

    def process_request(self, request: Request, spider=None):
        host = urlsplit(request.url).hostname or ""
        if host_refused(host, self.allow_private):
            raise PrivateAddressBlocked(f"refused private/reserved address: {host}")
        return None

    def process_response(self, request: Request, response: Response, spider=None):
        if response.ip_address is not None and address_refused(str(response.ip_address), self.allow_private):
            raise PrivateAddressBlocked(f"response came from a refused address: {response.ip_address}")
        return response


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (same codes and exceptions), each one waiting ``base * 2**(n-1)`` seconds
    first: a struggling server gets air instead of an immediate second hit."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("JINGLIAN_RETRY_BACKOFF", 1.0)

    async def _wait(self, result):
        if isinstance(result, Request) and self.backoff_base > 0:
            await asyncio.sleep(self.backoff_base * 2 ** (result.meta.get("retry_times", 1) - 1))
        return result

    async def process_response(self, request, response, spider=None):
        return await self._wait(super().process_response(request, response))

    async def process_exception(self, request, exception, spider=None):
        return await self._wait(super().process_exception(request, exception))
