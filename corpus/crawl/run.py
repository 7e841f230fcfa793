"""Run a crawl in this process (scrapy's ``CrawlerProcess``) and summarise its log.

Scrapy runs on a Twisted reactor that can start once per process: the CLI calls :func:`run_crawl`
once; tests run the CLI in a subprocess.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jinglian.corpus.crawl.settings import crawl_settings


@dataclass
class CrawlSummary:
    outcomes: Counter = field(default_factory=Counter)  # (outcome, reason) -> count
    urls: int = 0
    fetched_bytes: int = 0
    warc_files: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    # exceptions raised in spider callbacks (scrapy logs them and goes on): each one may have cost
    # URLs their outcome, so the CLI fails instead of exiting 0
    callback_errors: int = 0


def summarise(out: Path) -> CrawlSummary:
    """Counts by outcome and reason over the whole ``crawl_log.jsonl`` (all runs of a resumed crawl)."""
    summary = CrawlSummary()
    log = out / "crawl_log.jsonl"
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            summary.urls += 1
            summary.outcomes[(row["outcome"], row["reason"] or "")] += 1
            if row["outcome"] == "fetched":
                summary.fetched_bytes += row.get("bytes") or 0
    summary.warc_files = sorted(str(p) for p in (out / "warc").glob("*.warc.gz"))
    return summary


def run_crawl(
    seeds: list[str],
    out: Path,
    *,
    allow_domains: list[str] | None = None,
    sitemaps: list[str] | None = None,
    max_pages: int = 1000,
    max_depth: int = 8,
    resume: bool = False,
    on_outcome: Callable[[dict], None] | None = None,
    **settings,
) -> CrawlSummary:
    """Crawl ``seeds`` into ``out``; ``settings`` go to :func:`crawl_settings` (delay, max_bytes, ...)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from jinglian.corpus.crawl.spider import JinglianSpider

    out.mkdir(parents=True, exist_ok=True)
    if (out / "crawl_log.jsonl").exists() and not resume:
        raise FileExistsError(
            f"{out} already holds a crawl: add --resume to continue it, or choose another --out"
        )
    started = time.perf_counter()
    chosen = Settings()
    chosen.setdict(crawl_settings(**settings), priority="cmdline")  # above the spider's defaults
    process = CrawlerProcess(chosen)
    crawler = process.create_crawler(JinglianSpider)
    process.crawl(
        crawler,
        seeds=seeds,
        out=str(out),
        allow_domains=allow_domains,
        sitemaps=sitemaps,
        max_pages=max_pages,
        max_depth=max_depth,
        resume=resume,
        on_outcome=on_outcome,
    )
    process.start()
    summary = summarise(out)
    summary.wall_seconds = time.perf_counter() - started
    stats = crawler.stats.get_stats() if crawler.stats else {}
    summary.callback_errors = stats.get("spider_exceptions/count", 0)
    return summary
