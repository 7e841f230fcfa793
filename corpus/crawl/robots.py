"""robots.txt, read once per host with its redirects followed; ``OUT/robots.jsonl`` says how.

Scrapy's RobotsTxtMiddleware downloads ``/robots.txt`` and parses whatever comes back: with
redirects off (the spider follows page redirects itself), a 301 to ``https://`` or to ``www.``
was parsed as an empty file, i.e. "allow everything". Here redirects are followed, at most
:data:`MAX_REDIRECTS`, each hop through the downloader middlewares (so the private-address guard
checks it) and only to hosts the crawl may visit; the status is read as RFC 9309 says:

- 2xx: the rules; 4xx, too many redirects, or a redirect off the allowed hosts: "unavailable",
  everything allowed (RFC 9309 2.3.1.3, 2.3.1.2);
- 5xx or no answer: "unreachable", everything disallowed (RFC 9309 2.3.1.4).

The parsed file's ``Sitemap:`` lines go to the spider (:meth:`JinglianSpider.robots_read`); its
``Crawl-delay`` for jinglian becomes the floor of that host's request spacing
(:func:`~.politeness.apply_crawl_delay`), before any page of the host is requested. A redirect's
``Location`` is read as UTF-8, as for pages. ``robots.jsonl`` records the floor applied
(``crawl_delay``, null when the file sets none).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from jinglian.corpus.crawl.politeness import apply_crawl_delay
from jinglian.corpus.crawl.state import location_url

MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2: "crawlers SHOULD follow at least five consecutive redirects"
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


class RobotsTxtWithRedirects(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request):
        parts = urlparse_cached(request)
        netloc = parts.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = waiting = Deferred()
            spider = self.crawler.spider
            row = await self._read(f"{parts.scheme}://{netloc}/robots.txt", spider)
            parser = build_from_crawler(self._parserimpl, self.crawler, row.pop("body"))
            sitemaps = list(getattr(getattr(parser, "rp", None), "sitemaps", []) or [])
            row["sitemaps"] = sitemaps
            asked = parser.crawl_delay(self._robotstxt_useragent or "jinglian")
            row["crawl_delay"] = None
            if asked is not None and asked > 0:
                row["crawl_delay"] = apply_crawl_delay(self.crawler, parts.hostname or "", asked)
            self._parsers[netloc] = parser
            waiting.callback(parser)
            if hasattr(spider, "robots_read"):
                self._record(spider, row)
                for sitemap_request in spider.robots_read(sitemaps, row["url"]):
                    self.crawler.engine.crawl(sitemap_request)
        parser = self._parsers[netloc]
        return await maybe_deferred_to_future(parser) if isinstance(parser, Deferred) else parser

    async def _read(self, url: str, spider) -> dict:
        """Fetch ``url`` following redirects; the row for robots.jsonl, with the body to parse."""
        row = {"url": url, "final_url": url, "status": None, "redirects": 0}
        allowed = getattr(spider, "allowed", lambda u: True)
        target = url
        while True:
            try:
                response = await self.crawler.engine.download_async(
                    Request(
                        target,
                        priority=self.DOWNLOAD_PRIORITY,
                        meta={"dont_obey_robotstxt": True, "dont_redirect": True},
                        callback=NO_CALLBACK,
                    )
                )
            except Exception as err:  # refused address, DNS, timeout: nothing read
                return {**row, "outcome": "unreachable", "reason": type(err).__name__, "body": DISALLOW_ALL}
            row.update(final_url=target, status=response.status)
            location = response.headers.get(b"Location")
            if 300 <= response.status < 400 and location:
                nxt = location_url(target, location)
                if row["redirects"] >= MAX_REDIRECTS:
                    return {**row, "outcome": "unavailable", "reason": "too_many_redirects", "body": b""}
                if urlsplit(nxt).scheme not in ("http", "https") or not allowed(nxt):
                    return {**row, "outcome": "unavailable", "reason": "redirect_offsite", "body": b""}
                row["redirects"] += 1
                target = nxt
                continue
            if response.status >= 500:
                return {
                    **row,
                    "outcome": "unreachable",
                    "reason": f"http_{response.status}",
                    "body": DISALLOW_ALL,
                }
            if response.status >= 400:
                return {**row, "outcome": "unavailable", "reason": f"http_{response.status}", "body": b""}
            return {**row, "outcome": "parsed", "reason": None, "body": response.body}

    @staticmethod
    def _record(spider, row: dict) -> None:
        with open(spider.out / "robots.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(row, ensure_ascii=False) + "\n")
