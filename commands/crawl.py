"""``jinglian crawl`` (site → WARC + crawl log), ``jinglian extract`` (WARC/WET/JSONL → documents)
and ``jinglian sample-site`` (serve the bundled demo site)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import (
    console,
    default_workers,
    fail,
    finish_run,
    save_books,
    task_progress,
    user_errors,
)
from jinglian.runs import OVERWRITE_HELP, claim

TEN_MB = 10 * 1024 * 1024

CRAWL_EXAMPLE = """
Example:

    jinglian sample-site --port 8000 &
    jinglian crawl http://127.0.0.1:8000/ --out site --allow-private --delay 0

Writes `OUT/warc/*.warc.gz` (request + response records of every HTML page) and
`OUT/crawl_log.jsonl` (one line per discovered URL: url, outcome fetched|skipped|failed, reason,
status, depth, referer, bytes). Interrupted? Run the same command with --resume.
"""

EXTRACT_EXAMPLE = """
Example:

    jinglian extract site/warc --out docs
    jinglian extract CC-MAIN-*.warc.gz --out docs --workers 8

Inputs: WARC/WARC.gz (ours or Common Crawl), WET, JSONL with an `html` field, .html files (files or
folders). Writes `OUT/documents/` (text = main text; metadata: url, fetch_time, charset,
charset_source, title, date, author), `OUT/rejected/<step>/`, `OUT/stats.json`, `OUT/logs/`.
"""


def crawl(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    urls: Annotated[
        list[str] | None, typer.Argument(help="Seed URLs (none: the --sitemap URLs only).", show_default=False)
    ] = None,
    allow_domain: Annotated[
        list[str], typer.Option(help="Domain to stay within (repeatable; default: the seeds' hosts).")
    ] = [],  # noqa: B006
    sitemap: Annotated[list[str], typer.Option(help="Sitemap URL to read seeds from (repeatable).")] = [],  # noqa: B006
    max_pages: Annotated[int, typer.Option(help="At most this many page requests.")] = 1000,
    max_depth: Annotated[int, typer.Option(help="Links followed from a seed (seeds are depth 0).")] = 8,
    delay: Annotated[
        float,
        typer.Option(
            help="Seconds at least between two requests to one host; a robots.txt Crawl-delay raises "
            "it for its host, AutoThrottle lengthens it for a slow server."
        ),
    ] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight per domain.")] = 2,
    max_bytes: Annotated[int, typer.Option(help="Largest response body stored, in bytes.")] = TEN_MB,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 30.0,
    retries: Annotated[
        int, typer.Option(help="Retries of a failed request (with backoff 1, 2, 4... s).")
    ] = 2,
    robots: Annotated[bool, typer.Option("--robots/--ignore-robots", help="Obey robots.txt.")] = True,
    allow_private: Annotated[
        bool, typer.Option(help="Allow private and loopback addresses (intranets, tests).")
    ] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted crawl in OUT.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
) -> None:
    """Crawl websites politely into WARC files, logging every discovered URL once."""
    from jinglian.corpus.crawl.run import run_crawl

    urls = urls or []
    if not urls and not sitemap:
        fail("give at least one seed URL or --sitemap URL")
    bad = [u for u in urls + sitemap if not u.startswith(("http://", "https://"))]
    if bad:
        fail(f"{bad[0]}: not an http(s) URL")
    counts = {"fetched": 0, "skipped": 0, "failed": 0}
    with user_errors():  # the same crawl continues only with --resume (it contacts the sites again)
        settings = {"allow_domain": allow_domain, "max_pages": max_pages, "max_depth": max_depth, "delay": delay,
                    "concurrency": concurrency, "max_bytes": max_bytes, "timeout": timeout, "retries": retries,
                    "robots": robots, "allow_private": allow_private}
        claim(out, "crawl", [*urls, *sitemap], settings, overwrite, say=lambda _: None)
    with user_errors(), task_progress("crawl (URLs with an outcome)") as update:

        def on_outcome(row: dict) -> None:
            counts[row["outcome"]] += 1
            update(sum(counts.values()), None)

        try:
            summary = run_crawl(
                urls,
                out,
                allow_domains=allow_domain or None,
                sitemaps=sitemap or None,
                max_pages=max_pages,
                max_depth=max_depth,
                resume=resume,
                on_outcome=on_outcome,
                delay=delay,
                concurrency=concurrency,
                max_bytes=max_bytes,
                timeout=timeout,
                retries=retries,
                obey_robots=robots,
                allow_private=allow_private,
            )
        except FileExistsError as err:
            fail(str(err))
    from rich.table import Table

    table = Table(title=f"jinglian crawl: {summary.urls} URLs discovered")
    for column in ("outcome", "reason", "URLs"):
        table.add_column(column, justify="right" if column == "URLs" else "left")
    for (outcome, reason), n in sorted(summary.outcomes.items()):
        table.add_row(outcome, reason or "-", str(n))
    console.print(table)
    console.print(
        f"WARC: {out / 'warc'} ({len(summary.warc_files)} file(s), {summary.fetched_bytes:,} bytes of pages)"
    )
    console.print(f"log: {out / 'crawl_log.jsonl'}   wall time: {summary.wall_seconds:.1f} s")
    if summary.callback_errors:
        fail(f"{summary.callback_errors} error(s) inside the spider (printed above): some URLs may lack "
             "their outcome in the crawl log; please report it", code=1)  # fmt: skip


def extract(
    inputs: Annotated[
        list[str], typer.Argument(help="WARC/WET/JSONL/HTML files or folders.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    workers: Annotated[
        int, typer.Option(min=1, help="Tasks run at once (default: number of cores).")
    ] = default_workers(),
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    max_bytes: Annotated[
        int, typer.Option(help="Pages larger than this (bytes) are rejected as too_large.")
    ] = TEN_MB,
    time_limit: Annotated[
        float, typer.Option(help="Seconds of extraction per page before it is rejected as timeout.")
    ] = 10.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
    comments: Annotated[
        bool,
        typer.Option("--comments", help="Keep the comments under articles (thread replies are always kept)."),
    ] = False,
) -> None:
    """Extract the main text of web pages (charset-aware, trafilatura) into documents."""
    from jinglian.corpus.curate import document_writer
    from jinglian.corpus.executors import run_pipeline
    from jinglian.corpus.extract import expand_web_inputs, extract_steps

    with user_errors():
        files = expand_web_inputs(inputs)
        claim(out, "extract", files, {"format": fmt, "max_bytes": max_bytes, "time_limit": time_limit,
                                     "comments": comments}, overwrite, say=console.print)
        pipeline = extract_steps(
            files, str(out / "rejected"), max_bytes=max_bytes, time_limit_s=time_limit, comments=comments
        )
        pipeline.append(document_writer(out / "documents", fmt))
        n = min(workers, len(files))
        with task_progress(f"extract ({n} workers)") as update:
            result = run_pipeline(pipeline, out, tasks=len(files), workers=n, on_progress=update)
    save_books(result.books, out, f"jinglian extract: {len(files)} file(s)")
    finish_run(result.books, out, result.wall_seconds)


def sample_site(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: a free one).")] = 8000,
) -> None:
    """Serve jinglian's sample Chinese website on 127.0.0.1 until Ctrl-C (for the demo and crawl tests).

    Example:

        jinglian sample-site --port 8000 &  jinglian crawl http://127.0.0.1:8000/ --out site --allow-private
    """
    from jinglian.corpus.crawl.sample_site import serve_sample_site

    with serve_sample_site(port=port) as site:
        console.print(f"sample site at {site.url}/  (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def register(app: typer.Typer) -> None:
    app.command(help=(crawl.__doc__ or "") + "\n\n" + CRAWL_EXAMPLE)(crawl)
    app.command(help=(extract.__doc__ or "") + "\n\n" + EXTRACT_EXAMPLE)(extract)
    app.command("sample-site")(sample_site)
