"""Politeness per host (issue 25 item 5): ``--delay`` is a floor between two requests to one host,
and a robots.txt ``Crawl-delay`` raises that floor for its own host only. Gaps are measured where
the server receives the requests."""

from __future__ import annotations

import json
import statistics

from test_crawl_traps import TrapSite, page, text

SLACK = 0.05  # seconds: the server's clock sees a request a little after the crawler sends it


def gaps(site: TrapSite) -> list[float]:
    times = sorted(t for t, _ in site.log)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_delay_is_a_floor_and_crawl_delay_raises_it_for_its_host(cli, tmp_path):
    slow = {"/robots.txt": text("User-agent: *\nCrawl-delay: 0.6\n"), "/": page(*[f"/s{i}" for i in range(3)]),
            **{f"/s{i}": page() for i in range(3)}}  # fmt: skip
    fast = {"/": page(*[f"/f{i}" for i in range(7)]), **{f"/f{i}": page() for i in range(7)}}
    with TrapSite(slow) as polite, TrapSite(fast, host="127.0.0.2") as plain:
        cli("crawl", polite.base() + "/", plain.base() + "/", "--out", tmp_path / "c", "--allow-private",
            "--delay", "0.3", "--concurrency", "2", "--retries", "0")  # fmt: skip
    assert len(polite.log) == 5 and len(plain.log) == 9  # robots.txt and every page, once
    assert min(gaps(polite)) >= 0.6 - SLACK, gaps(polite)  # Crawl-delay honoured
    assert min(gaps(plain)) >= 0.3 - SLACK, gaps(plain)  # --delay is a floor (no jitter below it)
    assert statistics.median(gaps(plain)) < 0.6, gaps(plain)  # the other host's Crawl-delay is not this one's
    robots = {json.loads(line)["url"]: json.loads(line) for line in (tmp_path / "c" / "robots.jsonl").open()}
    assert robots[polite.base() + "/robots.txt"]["crawl_delay"] == 0.6
    assert robots[plain.base() + "/robots.txt"]["crawl_delay"] is None
