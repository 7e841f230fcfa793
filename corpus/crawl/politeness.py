"""Politeness per host: ``--delay`` and robots.txt's ``Crawl-delay`` are floors on the time between
two requests to one host.

Scrapy spaces the requests of one download slot (one host name) by the slot's ``delay``.
AutoThrottle moves that delay with the server's latency, never below ``DOWNLOAD_DELAY``; scrapy's
random jitter (±50% by default) would cut it by up to half, so :func:`.crawl_settings` turns it off.
A host's ``Crawl-delay`` raises the floor of that host only: :func:`apply_crawl_delay` writes it
into the downloader's per-slot settings (scrapy's ``DOWNLOAD_SLOTS``, which a new or recreated slot
starts from) and into the live slot, and :class:`PoliteThrottle` keeps AutoThrottle above it.

Scrapy counts the gap from the moment a request leaves its queue, so the server saw gaps shorter
by the previous request's connect time (0.984 s under ``Crawl-delay: 1`` on 127.0.0.1).
:class:`PoliteThrottle` counts it from the end of the previous download instead, as Nutch and
Heritrix do: the server never sees two requests closer than the floor.
"""

from __future__ import annotations

from time import monotonic

from scrapy.extensions.throttle import AutoThrottle

MAX_CRAWL_DELAY = 60.0  # seconds: a robots.txt asking for more would stall the crawl of that host


def slot_floor(downloader, key: str) -> float:
    return float(downloader.per_slot_settings.get(key, {}).get("delay", 0.0))


def apply_crawl_delay(crawler, host: str, seconds: float) -> float:
    """Make ``seconds`` (at most :data:`MAX_CRAWL_DELAY`, at least ``DOWNLOAD_DELAY``) the floor
    of ``host``'s download slot; returns the floor applied."""
    downloader = crawler.engine.downloader
    floor = max(min(seconds, MAX_CRAWL_DELAY), crawler.settings.getfloat("DOWNLOAD_DELAY"))
    slot_settings = downloader.per_slot_settings.setdefault(host, {})
    slot_settings["delay"] = floor = max(floor, float(slot_settings.get("delay", 0.0)))
    if host in downloader.slots:
        downloader.slots[host].delay = max(downloader.slots[host].delay, floor)
    return floor


class PoliteThrottle(AutoThrottle):
    """AutoThrottle that never takes a slot below its host's floor (its ``Crawl-delay``), and that
    starts the slot's next gap when a download ends."""

    def _response_downloaded(self, response, request, spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if slot is not None:
            slot.delay = max(slot.delay, slot_floor(self.crawler.engine.downloader, key))
            slot.lastseen = max(slot.lastseen, monotonic())  # the downloader's clock (time.monotonic)
