"""The jinglian spider: follows links within allowed domains and writes WARC + one log line per URL.

The spider, not scrapy's middlewares, decides what to schedule (offsite, depth, page budget,
duplicates, redirects), because scrapy's OffsiteMiddleware, DepthMiddleware, duplicate filter and
RedirectMiddleware drop requests with a log message only, and the crawl log must give every
discovered URL its final outcome. A ``<meta http-equiv="refresh">`` to another URL within
``METAREFRESH_MAXDELAY`` seconds (scrapy's setting, 100) is a redirect too: the stub is logged as
``meta_refresh``, not stored, and its target discovered. Every URL is booked under
:func:`~.state.request_url`, the spelling scrapy requests. Scrapy still does the downloading, politeness (AutoThrottle,
per-domain concurrency, delay), robots.txt, retries and size limits; their refusals reach
:meth:`failed` and are logged there.

Users who know scrapy can run it directly, with jinglian's settings as defaults:
``scrapy runspider corpus/crawl/spider.py -a seeds=https://example.com/ -a out=site -s DOWNLOAD_DELAY=2``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from scrapy.utils.response import get_meta_refresh
from scrapy.utils.sitemap import Sitemap
from twisted.internet.error import DNSLookupError

from jinglian.corpus.crawl.addresses import host_refused
from jinglian.corpus.crawl.middlewares import PrivateAddressBlocked
from jinglian.corpus.crawl.settings import crawl_settings
from jinglian.corpus.crawl.state import (
    FAILED,
    FETCHED,
    SKIPPED,
    CrawlState,
    Pending,
    booking_key,
    canonical_url,
    location_url,
    request_url,
)
from jinglian.corpus.crawl.warc import CrawlWarcWriter, iter_warc

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
MAX_REDIRECTS = 10  # hops per chain before "too_many_redirects" (Chrome and Firefox allow 20)
SITEMAP_MAX_LEVEL = 2  # index nesting: the protocol allows none; 2 tolerates one index of indexes


def _content_type(headers) -> bytes:
    return (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()


def failure_reason(exc: BaseException) -> tuple[str, str]:
    """(outcome, reason) for a download that raised ``exc``."""
    name = type(exc).__name__
    if isinstance(exc, PrivateAddressBlocked):
        return SKIPPED, "private_address"
    if isinstance(exc, IgnoreRequest):
        return SKIPPED, "robots" if "robots" in str(exc).lower() else "ignored"
    if "Timeout" in name:
        return FAILED, "timeout"
    if "Cancelled" in name:  # DOWNLOAD_MAXSIZE exceeded (declared or while receiving)
        return SKIPPED, "too_large"
    if "DNS" in name or "Resolve" in name:
        return FAILED, "dns"
    if "Refused" in name:
        return FAILED, "connection_refused"
    return FAILED, "".join("_" + c.lower() if c.isupper() else c for c in name).strip("_")


class JinglianSpider(scrapy.Spider):
    name = "jinglian"
    # jinglian's polite, safe defaults for ``scrapy runspider``; ``-s KEY=VALUE`` overrides them,
    # and the jinglian CLI passes its flags at the same command-line priority.
    custom_settings = crawl_settings()

    def __init__(
        self,
        seeds: list[str],
        out: str,
        allow_domains: list[str] | None = None,
        sitemaps: list[str] | None = None,
        max_pages: int = 1000,
        max_depth: int = 8,
        resume: bool = False,
        on_outcome: Callable[[dict], None] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # ``scrapy runspider ... -a seeds=URL1,URL2 -a max_pages=50``: arguments arrive as strings
        seeds, allow_domains, sitemaps = (
            v.split(",") if isinstance(v, str) else v for v in (seeds, allow_domains, sitemaps)
        )
        max_pages, max_depth = int(max_pages), int(max_depth)
        resume = resume if isinstance(resume, bool) else str(resume).lower() in ("1", "true", "yes")
        self.seeds, self.sitemaps = [booking_key(u) for u in seeds], [booking_key(u) for u in sitemaps or []]
        self.domains_given = bool(allow_domains)
        given = [
            urlsplit(request_url("http://" + d.strip().lstrip("."))).hostname for d in allow_domains or []
        ]
        self.allow_domains = [d for d in given if d] or sorted(
            {(urlsplit(u).hostname or "").lower() for u in self.seeds + self.sitemaps}
        )
        self.max_pages, self.max_depth = max_pages, max_depth
        self.out, self.resume = Path(out), resume
        self.on_outcome = on_outcome
        self.links = LinkExtractor(deny_extensions=[], unique=True)
        self.state = CrawlState(self.out, resume=resume)
        self.warc: CrawlWarcWriter | None = None
        self.https_hosts: set[str] = set()  # host:port pairs seen redirecting http -> https
        if not self.domains_given:  # hosts that seeds moved to in the run being resumed
            moved = {
                p.url
                for p in self.state.frontier.values()
                if p.chain and booking_key(p.chain[0]) in self.seeds
            }
            self.allow_domains += sorted({(urlsplit(u).hostname or "").lower() for u in moved} - {""})

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._headers_received, signal=signals.headers_received)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # -- bookkeeping ---------------------------------------------------------------------------

    def _finish(self, url: str, outcome: str, reason: str | None, **fields) -> None:
        row = self.state.finish(url, outcome, reason, **fields)
        if self.on_outcome:
            self.on_outcome(row)

    def allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allow_domains)

    def discover(
        self,
        url: str,
        depth: int,
        referer: str | None,
        chain: list[str] | None = None,
        *,
        sitemap_level: int | None = None,
    ) -> scrapy.Request | None:
        """Account for a discovered URL (a page, or a sitemap when ``sitemap_level`` is given): log
        it as skipped, or schedule it (journal + request)."""
        chain = chain or []
        try:
            url, bad = request_url(url), False
        except ValueError:  # a port out of range, a broken IPv6 literal: no request can be made
            bad = True
        seen = self.state.see(url)
        if seen == "known":
            return None
        if bad:
            self._finish(url, SKIPPED, "bad_url", depth=depth, referer=referer)
            return None
        parts = urlsplit(url)
        if seen is None and parts.scheme == "http" and parts.netloc in self.https_hosts:
            # the host moves http to https: ask for https directly, one request instead of two
            self._finish(url, SKIPPED, "https_upgrade", depth=depth, referer=referer)
            https = urlunsplit(("https", *parts[1:]))
            return self.discover(https, depth, referer, chain + [url], sitemap_level=sitemap_level)
        if seen == "duplicate" and chain and canonical_url(url) == canonical_url(chain[-1]):
            seen = None  # http -> https (or a tracking parameter dropped): the page is still to fetch
        common = {"depth": depth, "referer": referer}
        if urlsplit(url).scheme not in ("http", "https"):
            self._finish(url, SKIPPED, "scheme", **common)  # file://, ftp://, ...: never read
        elif seen == "duplicate":
            self._finish(url, SKIPPED, "duplicate", **common)
        elif not self.allowed(url):
            self._finish(url, SKIPPED, "offsite", **common)
        elif depth > self.max_depth:
            self._finish(url, SKIPPED, "max_depth", **common)
        elif sitemap_level is not None and sitemap_level > SITEMAP_MAX_LEVEL:
            self._finish(url, SKIPPED, "sitemap_nesting", **common)
        elif len(chain) >= MAX_REDIRECTS:
            self._finish(url, FAILED, "too_many_redirects", **common)
        elif self.state.scheduled >= self.max_pages:
            self._finish(url, SKIPPED, "max_pages", **common)
        else:
            is_sitemap = sitemap_level is not None
            pending = Pending(url, depth, referer, chain, sitemap=is_sitemap, level=sitemap_level or 0)
            self.state.schedule(pending)
            return self._request(pending)
        return None

    def _request(self, p: Pending) -> scrapy.Request:
        headers = {"Referer": p.referer} if p.referer else {}
        return scrapy.Request(
            p.url,
            callback=self.parse_sitemap if p.sitemap else self.parse,
            errback=self.failed,
            dont_filter=True,
            headers=headers,
            meta={
                "jl_url": p.url,  # the key the page is booked under, whatever scrapy does to .url
                "jl_depth": p.depth,
                "jl_referer": p.referer,
                "jl_chain": p.chain,
                "jl_page": not p.sitemap,
                "jl_level": p.level if p.sitemap else None,
                "dont_redirect": True,
            },
        )

    # -- start ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.warc = CrawlWarcWriter(self.out / "warc")
        if self.resume:
            waiting = self.state.pending()  # before the replay, which schedules the links it finds
            for request in self._replay_stored():
                yield request
            for pending in waiting:
                if pending.url not in self.state.logged:  # replayed pages have their outcome now
                    yield self._request(pending)
        for url in self.seeds:
            request = self.discover(url, 0, None)
            if request is not None:
                yield request
        for url in self.sitemaps:
            request = self.discover(url, 0, None, sitemap_level=0)
            if request is not None:
                yield request

    def robots_read(self, sitemaps: list[str], robots_url: str) -> list[scrapy.Request]:
        """robots.txt's ``Sitemap:`` lines are read when no ``--sitemap`` was given."""
        if self.sitemaps:
            return []
        requests = [self.discover(url, 0, robots_url, sitemap_level=0) for url in sitemaps]
        return [r for r in requests if r is not None]

    def _replay_stored(self) -> list[scrapy.Request]:
        """Pages a killed run stored in the WARC but did not log: log them and follow their links
        from the stored copy, instead of fetching them a second time."""
        pending = {p.url: p for p in self.state.pending()}
        requests = []
        for path in sorted((self.out / "warc").glob("*.warc.gz")):
            for page in iter_warc(path, max_bytes=1 << 62):
                url = booking_key(page.url) if getattr(page, "url", None) else None
                if url not in pending or page.status is None or pending[url].sitemap:
                    continue
                p = pending.pop(url)
                response = HtmlResponse(url, status=page.status, body=page.body)
                requests += self._follow(response, p.depth, url)
                self._finish(
                    p.url,
                    FETCHED,
                    None,
                    status=page.status,
                    depth=p.depth,
                    referer=p.referer,
                    nbytes=len(page.body),
                )
        return requests

    # -- responses -----------------------------------------------------------------------------

    def _headers_received(self, headers, body_length, request, spider) -> None:
        """Stop downloading non-HTML bodies at the headers: they are logged, not stored."""
        if (
            request.meta.get("jl_page")
            and _content_type(headers) not in HTML_TYPES
            and _content_type(headers)
        ):
            raise StopDownload(fail=False)

    def _follow(self, response: Response, depth: int, url: str) -> list[scrapy.Request]:
        requests = []
        for link in self.links.extract_links(response):
            request = self.discover(link.url, depth + 1, url)
            if request is not None:
                requests.append(request)
        return requests

    def _redirect(self, response: Response, common: dict, target: str, reason: str) -> list[scrapy.Request]:
        """Log a 3xx or meta refresh as ``reason`` (or ``redirect_loop``) and discover its target."""
        meta, url = response.meta, response.meta["jl_url"]
        depth, chain = meta["jl_depth"], meta["jl_chain"]
        exact = canonical_url(target, any_scheme=False)
        loop = exact in {canonical_url(u, any_scheme=False) for u in chain + [url]}
        self._finish(url, FAILED if loop else SKIPPED, "redirect_loop" if loop else reason, **common)
        if loop:
            return []
        if exact == canonical_url(url, any_scheme=False).replace("http://", "https://", 1):
            self.https_hosts.add(urlsplit(target).netloc)  # the same page, moved to https
        try:
            host = (urlsplit(target).hostname or "").lower()
        except ValueError:  # not a URL: discover logs it as bad_url
            host = ""
        from_seed = (chain + [url])[0] in self.seeds
        if from_seed and not self.domains_given and host and not self.allowed(target):
            # a seed moved (example.com → www.example.cn): its new host is the site to crawl
            self.allow_domains.append(host)
        request = self.discover(target, depth, url, chain + [url], sitemap_level=meta.get("jl_level"))
        return [request] if request is not None else []

    def _meta_refresh(self, response: HtmlResponse, url: str) -> str | None:
        """The target of a meta refresh to another page within METAREFRESH_MAXDELAY, else None (a
        page that reloads itself, or refreshes after minutes, is a page)."""
        ignore = self.settings.getlist("METAREFRESH_IGNORE_TAGS")
        interval, target = get_meta_refresh(response, ignore_tags=ignore)
        if target is None or interval > self.settings.getfloat("METAREFRESH_MAXDELAY"):
            return None
        return target if booking_key(target) != url else None

    def parse(self, response: Response):
        meta = response.meta
        depth, referer = meta["jl_depth"], meta["jl_referer"]
        url = meta["jl_url"]
        common = {"status": response.status, "depth": depth, "referer": referer, "nbytes": len(response.body)}
        if 300 <= response.status < 400 and b"Location" in response.headers:
            target = location_url(url, response.headers[b"Location"])
            return self._redirect(response, common, target, "redirect")
        if response.status >= 400 or response.status < 200:
            self._finish(url, FAILED, f"http_{response.status}", **common)
            return []
        ctype = _content_type(response.headers)
        if ctype and ctype not in HTML_TYPES or not isinstance(response, HtmlResponse):
            self._finish(url, SKIPPED, "content_type", **common)
            return []
        if target := self._meta_refresh(response, url):
            return self._redirect(response, common, target, "meta_refresh")
        self.warc.write(
            url,
            response.request.method,
            [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, vs in response.request.headers.items()
                for v in vs
            ],
            response.status,
            "",
            [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs],
            response.body,
            ip=str(response.ip_address) if response.ip_address else None,
        )
        requests = self._follow(response, depth, url)
        self._finish(url, FETCHED, None, **common)
        return requests

    def parse_sitemap(self, response: Response):
        """A sitemap's URLs are pages at depth 0; a sitemap index's entries are further sitemaps,
        one nesting level deeper. Both go through :meth:`discover` (scheme, offsite, budget)."""
        meta, url = response.meta, response.meta["jl_url"]
        common = {
            "status": response.status,
            "depth": 0,
            "referer": meta["jl_referer"],
            "nbytes": len(response.body),
        }
        if 300 <= response.status < 400 and b"Location" in response.headers:
            target = location_url(url, response.headers[b"Location"])
            return self._redirect(response, common, target, "redirect")
        kind, entries, reason = None, [], None
        body = response.body
        try:
            if body[:2] == b"\x1f\x8b":  # sitemap.xml.gz: inflated within the same byte limit
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            sitemap = Sitemap(body)
            kind, entries = sitemap.type, [entry["loc"] for entry in sitemap if "loc" in entry]
        except Exception as err:  # not a sitemap: lxml raises several types on garbage
            reason = "too_large" if "MaxSize" in type(err).__name__ else None
        if response.status >= 400:
            reason = f"http_{response.status}"
        level = meta["jl_level"]
        requests = []
        for loc in entries if reason is None else []:
            if kind == "sitemapindex":
                request = self.discover(loc, 0, url, sitemap_level=level + 1)
            else:
                request = self.discover(loc, 0, url)
            if request is not None:
                requests.append(request)
        if reason is None and not entries:
            reason = "not_a_sitemap"
        outcome = SKIPPED if reason in (None, "too_large") else FAILED
        self._finish(url, outcome, reason or "sitemap", **common)
        return requests

    def failed(self, failure):
        request = failure.request
        outcome, reason = failure_reason(failure.value)
        allow_private = self.settings.getbool("JINGLIAN_ALLOW_PRIVATE")
        if isinstance(failure.value, DNSLookupError) and host_refused(
            urlsplit(request.url).hostname or "", allow_private
        ):
            outcome, reason = SKIPPED, "private_address"  # the checked resolver gave no address
        self._finish(
            request.meta.get("jl_url", request.url),
            outcome,
            reason,
            depth=request.meta.get("jl_depth"),
            referer=request.meta.get("jl_referer"),
        )

    def _closed(self, spider, reason):
        if self.warc:
            self.warc.close()
        self.state.close()
