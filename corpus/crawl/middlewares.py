"""Downloader middlewares: the private-address guard and retries with exponential backoff.

The guard runs on every request the engine downloads, including the targets of redirects (the
spider turns each redirect into a new request), robots.txt and sitemaps, so a public page cannot
steer the crawler into an intranet. It refuses a request whose host is, or resolves to, a refused
address (rules in :mod:`.addresses`) before anything is sent, and installs the
:class:`~.addresses.CheckedResolver`, so the connection goes to the very answer that was checked.

``JINGLIAN_ALLOW_PRIVATE`` lifts the check for private (RFC 1918, ULA) and loopback addresses only.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from jinglian.corpus.crawl.addresses import address_refused, host_refused, install_checked_resolver


class PrivateAddressBlocked(IgnoreRequest):
    """The request's host is, or resolves to, an address the crawl may not visit."""


class PrivateAddressGuard:
    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getbool("JINGLIAN_ALLOW_PRIVATE"))

    def process_request(self, request: Request, spider=None):
        from twisted.internet import reactor

        # at the first request, not earlier: CrawlerProcess installs scrapy's resolver when it
        # starts, after the middlewares exist; this also covers `scrapy runspider`
        install_checked_resolver(reactor, self.allow_private)
        host = urlsplit(request.url).hostname or ""
        if host_refused(host, self.allow_private):
            raise PrivateAddressBlocked(f"refused private/reserved address: {host}")
        return None

    def process_response(self, request: Request, response: Response, spider=None):
        # cannot differ from the checked answer with the resolver pinned; kept as a second lock
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
