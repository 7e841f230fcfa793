"""The crawl's books and its resumable state: ``crawl_log.jsonl`` and ``crawl_state/frontier.jsonl``.

Every URL the crawler discovers gets exactly one line in ``crawl_log.jsonl``, written when its
fate is final: ``fetched`` (stored in the WARC), ``skipped`` (a rule said no: ``robots``,
``offsite``, ``max_depth``, ``max_pages``, ``content_type``, ``too_large``, ``duplicate``,
``private_address``, ``redirect``, ``meta_refresh``, ``sitemap``, ``bad_url``: no request
can be made of it) or ``failed`` (``http_404``, ``timeout``, ``dns``,
``redirect_loop``, ...). A URL that is scheduled for download is first appended to the frontier
journal. Both files are appended line by line and flushed, so after a SIGKILL the URLs in the
frontier without a log line are exactly the work left.

Both files, and the WARC's ``WARC-Target-URI``, spell a URL one way, :func:`request_url` (what
scrapy sends: UTF-8 percent-encoded, lower-case host, no fragment): a URL discovered as raw
Chinese, with an upper-case host or a space is the same entry as its request, so a resume
finds its outcome and never fetches it again. A link that differs only by its ``#fragment`` is
the same URL (the fragment never reaches the server) and gets no line of its own.

Why not scrapy's JOBDIR alone: its request queue survives a kill, but the duplicate filter's file
and the spider state are written on a clean close (or are buffered), so a SIGKILLed crawl resumed
from JOBDIR refetches pages or forgets them. Our journal is the source of truth instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string, url_query_cleaner

FETCHED, SKIPPED, FAILED = "fetched", "skipped", "failed"
# Query keys that only track the visitor, matched exactly (a prefix match folded away ``from=20``
# pagination and ``fromDate=``): Google Analytics' utm_* (support.google.com/analytics/answer/10917952),
# Google/Microsoft/Facebook click ids, Alibaba's ``spm``, share links' ``share_token``. Every other
# parameter (``from``, ``page``, ``p``, ``start``, ``offset``, ...) can change the page and stays.
TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
    "gclid", "fbclid", "msclkid", "spm", "share_token",
)  # fmt: skip
DEFAULT_PORTS = {"http": 80, "https": 443}


def request_url(url: str) -> str:
    """The spelling under which the crawl books ``url``: the URL scrapy requests (w3lib's
    ``safe_url_string``: path UTF-8 percent-encoded, IDNA host, lower-case host), with a lower-case
    scheme, no default port, ``/`` for an empty path and no fragment. Idempotent. Raises
    ValueError for what no request can be made of (a port out of range, a broken IPv6 literal)."""
    url = safe_url_string(url.strip(), encoding="utf-8")
    parts = urlsplit(url)
    port = parts.port
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return url  # file:, ftp:, ...: logged as skipped, never requested
    userinfo, at, hostport = parts.netloc.rpartition("@")
    hostport = hostport.lower()
    if port == DEFAULT_PORTS[scheme]:
        hostport = hostport.rsplit(":", 1)[0]
    return urlunsplit((scheme, userinfo + at + hostport, parts.path or "/", parts.query, ""))


def booking_key(url: str) -> str:
    """:func:`request_url`, or the string as it is when it is not a URL (logged ``bad_url``)."""
    try:
        return request_url(url)
    except ValueError:
        return url


def location_url(base: str, location: bytes) -> str:
    """A ``Location`` header's target: its bytes read as UTF-8 (percent-encoding what is not), as
    scrapy's RedirectMiddleware does, not as latin-1."""
    try:
        return urljoin(base, safe_url_string(location))
    except ValueError:  # no request can be made of it: the caller logs it as bad_url
        text = location.decode("utf-8", "replace")
        try:
            return urljoin(base, text)
        except ValueError:
            return text


def canonical_url(url: str, *, any_scheme: bool = True) -> str:
    """The key that decides "same page": lower-case host, no default port or fragment, sorted
    query without :data:`TRACKING_PARAMS`. With ``any_scheme`` (the default) http and https are
    one page, spelled https: a site serving both serves one page twice."""
    try:
        parts = urlsplit(url_query_cleaner(url, TRACKING_PARAMS, remove=True, unique=False))
        port = parts.port
    except ValueError:  # not a URL (logged bad_url): only this very string is this one
        return url
    scheme = parts.scheme.lower()
    netloc = (parts.hostname or "").lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if any_scheme and scheme == "http":
        scheme = "https"
    return canonicalize_url(urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")))


@dataclass
class Pending:
    url: str
    depth: int
    referer: str | None
    chain: list[str]  # URLs that redirected to this one (to detect loops)
    sitemap: bool = False  # a sitemap to read, not a page (it counts against --max-pages too)
    level: int = 0  # sitemap index nesting: 0 for a sitemap given or listed in robots.txt


class CrawlState:
    """Append-only log and frontier of one output folder, reloaded on ``--resume``."""

    def __init__(self, out: str | Path, resume: bool = False):
        out = Path(out)
        self.log_path = out / "crawl_log.jsonl"
        self.frontier_path = out / "crawl_state" / "frontier.jsonl"
        if self.log_path.exists() and not resume:
            raise FileExistsError(
                f"{out} already holds a crawl: add --resume to continue it, or choose another --out"
            )
        self.frontier_path.parent.mkdir(parents=True, exist_ok=True)
        self.logged: set[str] = set()  # URLs with their final outcome (the log itself is on disk)
        self.frontier: dict[str, Pending] = {}
        self.known: set[str] = set()  # raw URLs discovered
        self.seen: set[str] = set()  # their canonical forms
        if resume:
            self._load()
        self._pages_scheduled = len(self.frontier)
        self._log = open(self.log_path, "a", encoding="utf-8")
        self._frontier = open(self.frontier_path, "a", encoding="utf-8")

    @staticmethod
    def _lines(path: Path) -> list[dict]:
        rows = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by the kill: its URL is simply redone
                    continue
        return rows

    def _load(self) -> None:
        # the key again: folders written before it keyed the frontier on the raw spelling
        for row in self._lines(self.frontier_path):
            url = booking_key(row["url"])
            self.frontier[url] = Pending(
                url,
                row["depth"],
                row.get("referer"),
                row.get("chain", []),
                row.get("sitemap", False),
                row.get("level", 0),
            )
        for row in self._lines(self.log_path):
            self.logged.add(booking_key(row["url"]))
        for url in list(self.frontier) + list(self.logged):
            self.known.add(url)
            self.seen.add(canonical_url(url))

    @property
    def scheduled(self) -> int:
        """Requests scheduled so far, pages and sitemaps (the --max-pages budget spent)."""
        return self._pages_scheduled

    def pending(self) -> list[Pending]:
        """Frontier URLs without a final outcome, in discovery order."""
        return [p for url, p in self.frontier.items() if url not in self.logged]

    def see(self, url: str) -> str | None:
        """Mark ``url`` discovered. Returns None if it is new, ``"known"`` if this exact URL was
        discovered before (nothing to log), ``"duplicate"`` if another spelling of it was."""
        url = booking_key(url)
        if url in self.known:
            return "known"
        self.known.add(url)
        canon = canonical_url(url)
        if canon in self.seen:
            return "duplicate"
        self.seen.add(canon)
        return None

    def schedule(self, pending: Pending) -> None:
        if pending.url not in self.frontier:
            self._pages_scheduled += 1
        self.frontier[pending.url] = pending
        self._frontier.write(json.dumps(pending.__dict__, ensure_ascii=False) + "\n")
        self._frontier.flush()

    def finish(
        self,
        url: str,
        outcome: str,
        reason: str | None,
        *,
        status: int | None = None,
        depth: int | None = None,
        referer: str | None = None,
        nbytes: int | None = None,
    ) -> dict:
        """Write the URL's one log line (a second outcome for the same URL is a bug: refused)."""
        url = booking_key(url)
        if url in self.logged:
            raise RuntimeError(f"crawl log: {url} already has an outcome")
        row = {
            "url": url,
            "outcome": outcome,
            "reason": reason,
            "status": status,
            "depth": depth,
            "referer": referer,
            "bytes": nbytes,
        }
        self.logged.add(url)
        self._log.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._log.flush()
        return row

    def close(self) -> None:
        self._log.close()
        self._frontier.close()
