"""Real crawls of the project's sample site on 127.0.0.1 with the real ``jinglian crawl`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from jinglian.corpus.crawl.middlewares import address_refused, host_refused
from jinglian.corpus.crawl.sample_site import N_ARTICLES, serve_sample_site
from jinglian.corpus.crawl.state import canonical_url
from jinglian.corpus.crawl.warc import iter_warc

FAST = ["--allow-private", "--delay", "0", "--max-bytes", "1000000", "--max-depth", "4", "--retries", "0"]


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "crawl_log.jsonl").read_text(encoding="utf-8").splitlines()]


def warc_urls(out: Path) -> list[str]:
    return [
        page.url for path in sorted((out / "warc").glob("*.warc.gz")) for page in iter_warc(path, 1 << 30)
    ]


def path_of(url: str) -> str:
    return url.split("/", 3)[3] if url.count("/") >= 3 else ""


def crawl_args(url: str) -> list[str]:
    """The full crawl of the sample site: seed, sitemap index, and the metadata address allowed as
    a domain so that only the private-address guard stands between the crawler and it."""
    sitemap = ["--sitemap", url + "/sitemap_index.xml"]
    return [url + "/", *sitemap, "--allow-domain", "127.0.0.1", "--allow-domain", "169.254.169.254", *FAST]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One full crawl of the sample site, shared by the tests below."""
    out = tmp_path_factory.mktemp("crawl") / "site"
    with serve_sample_site() as site:
        proc = subprocess.run(
            [sys.executable, "-m", "jinglian.cli", "crawl", *crawl_args(site.url), "--out", str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert proc.returncode == 0, proc.stderr
        hits = Counter(site.hits)
    rows = read_log(out)
    return out, {path_of(r["url"]): r for r in rows}, rows, hits, proc.stdout


def test_every_discovered_url_has_exactly_one_outcome(crawled):
    out, by_path, rows, hits, _ = crawled
    assert len({r["url"] for r in rows}) == len(rows)
    frontier = (out / "crawl_state" / "frontier.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["url"] for line in frontier} <= {r["url"] for r in rows}  # each has its outcome
    assert {r["outcome"] for r in rows} <= {"fetched", "skipped", "failed"}
    assert set(rows[0]) == {"url", "outcome", "reason", "status", "depth", "referer", "bytes"}
    # every page of the site that a link or the sitemap reaches is accounted for
    for i in range(1, N_ARTICLES + 1):
        assert by_path[f"news/{i}"]["outcome"] == "fetched"
    assert by_path["hidden/1"]["outcome"] == "fetched" and by_path["hidden/1"]["referer"].endswith(
        "/sitemap.xml"
    )


def test_rules_give_the_expected_outcomes(crawled):
    _, by_path, _, hits, _ = crawled
    expect = {
        "private/secret": ("skipped", "robots"),
        "files/report.pdf": ("skipped", "content_type"),
        "big": ("skipped", "too_large"),
        "missing": ("failed", "http_404"),
        "old-news": ("skipped", "redirect"),
        "loop/a": ("skipped", "redirect"),
        "loop/b": ("failed", "redirect_loop"),
        "news/1?utm_source=index&utm_medium=nav": ("skipped", "duplicate"),
        "latest/meta-data/": ("skipped", "private_address"),  # reached by a redirect
        "partner": ("skipped", "offsite"),
        "sitemap_index.xml": ("skipped", "sitemap"),
        "sitemap.xml": ("skipped", "sitemap"),  # listed in the index
    }
    for path, outcome in expect.items():
        assert (by_path[path]["outcome"], by_path[path]["reason"]) == outcome, path
    assert "news/3#comments" not in by_path  # only its #fragment differs: the same URL as news/3
    assert hits["/private/secret"] == 0  # robots.txt obeyed: never requested
    # the endless calendar stops at --max-depth 4 (seed depth 0, calendar page depth 1)
    calendar = [r for p, r in by_path.items() if p.startswith("calendar/")]
    assert max(r["depth"] for r in calendar) == 5
    assert all(r["reason"] == "max_depth" for r in calendar if r["depth"] == 5)
    assert sum(r["outcome"] == "fetched" for r in calendar) == 7  # depths 1..4: 1 + 2 + 2 + 2


def test_each_page_fetched_once_and_stored_once(crawled):
    out, by_path, rows, hits, _ = crawled
    fetched = sorted(r["url"] for r in rows if r["outcome"] == "fetched")
    stored = warc_urls(out)
    assert sorted(stored) == fetched  # the WARC holds exactly the fetched pages, once each
    assert len({canonical_url(u) for u in stored}) == len(stored)
    pages = {k: v for k, v in hits.items() if k not in ("/robots.txt",)}
    assert max(pages.values()) == 1, pages


def test_warc_is_readable_by_datatrove(crawled):
    """Our records carry WARC-Identified-Payload-Type, so datatrove's type filter keeps them all; its
    decoder (UTF-8, else strict cchardet guess) still silently loses the Big5 page, whose nav uses
    HKSCS code points: one reason ``jinglian extract`` reads WARCs itself."""
    from datatrove.pipeline.readers import WarcReader

    out, _, rows, _, _ = crawled
    docs = list(WarcReader(str(out / "warc"), glob_pattern="*.warc.gz").run())
    fetched = {r["url"] for r in rows if r["outcome"] == "fetched"}
    assert {path_of(u) for u in fetched - {d.metadata["url"] for d in docs}} == {"big5"}


def test_extract_the_crawl(crawled, cli, read_docs, tmp_path):
    out, by_path, _, _, _ = crawled
    result = cli("extract", out / "warc", "--out", tmp_path / "ext", "--workers", "1")
    assert "books balance" in result.stdout
    docs = {path_of(d["metadata"]["url"]): d for d in read_docs(tmp_path / "ext" / "documents")}
    assert docs.keys() == {p for p, r in by_path.items() if r["outcome"] == "fetched"}
    gbk, wrong, big5 = docs["gbk"], docs["wrong-charset"], docs["big5"]
    assert (gbk["metadata"]["charset"], gbk["metadata"]["charset_source"]) == ("gb18030", "http")
    assert (wrong["metadata"]["charset"], wrong["metadata"]["charset_source"]) == (
        "gb18030",
        "detected (declared utf-8)",
    )
    assert (
        big5["metadata"]["charset"] == "big5hkscs"
        and "經濟觀察" in big5["text"]
        and "\ufffd" not in big5["text"]
    )
    assert "旅游观察（第4期）" in gbk["text"] and "\ufffd" not in gbk["text"]
    article = docs["news/2"]
    assert article["metadata"]["fetch_time"] and article["metadata"]["title"].startswith("教育观察")
    assert "版权所有" not in article["text"] and "首页" not in article["text"]  # boilerplate gone


def test_private_addresses_refused_by_default(cli, tmp_path):
    with serve_sample_site() as site:
        cli("crawl", site.url + "/", "--out", tmp_path / "c", "--delay", "0")
        hits = sum(site.hits.values())
    rows = read_log(tmp_path / "c")
    assert [(r["outcome"], r["reason"]) for r in rows] == [("skipped", "private_address")]
    assert hits == 0  # not even robots.txt


def test_address_rules():
    assert address_refused("169.254.169.254", allow_private=True)  # metadata endpoint: always refused
    assert address_refused("10.1.2.3", allow_private=False) and not address_refused(
        "10.1.2.3", allow_private=True
    )
    assert address_refused("::ffff:127.0.0.1", allow_private=False)
    assert not address_refused("8.8.8.8", allow_private=False)
    assert host_refused("localhost", allow_private=False) and host_refused("[fe80::1]", allow_private=True)


def test_max_pages_and_refusing_to_overwrite(cli, tmp_path):
    with serve_sample_site() as site:
        cli("crawl", site.url + "/", "--out", tmp_path / "c", *FAST, "--max-pages", "5")
        again = cli("crawl", site.url + "/", "--out", tmp_path / "c", *FAST, "--max-pages", "5", check=False)
        other = cli("crawl", site.url + "/", "--out", tmp_path / "c", *FAST, "--resume", check=False)
    rows = read_log(tmp_path / "c")
    assert sum(r["reason"] == "max_pages" for r in rows) > 0
    assert sum(r["reason"] != "max_pages" and r["reason"] not in ("duplicate", "offsite") for r in rows) == 5
    assert (
        again.returncode == 2 and "--resume" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    )
    # the run contract (jinglian.runs): another budget is another crawl, even with --resume
    assert other.returncode == 2 and "max_pages changed (5 → 1000)" in other.stderr and "--overwrite" in other.stderr
    assert cli("crawl", "ftp://example.com/", "--out", tmp_path / "d", check=False).returncode == 2


def test_resume_after_sigkill_fetches_nothing_twice_and_loses_nothing(crawled, tmp_path):
    """Kill a crawl with SIGKILL mid-way, resume it, and compare with the uninterrupted crawl."""
    expected = {path: (r["outcome"], r["reason"]) for path, r in crawled[1].items()}
    env = {**os.environ, "COLUMNS": "200"}
    with serve_sample_site(delay=0.05) as site:
        out = tmp_path / "killed"
        cmd = [
            sys.executable,
            "-m",
            "jinglian.cli",
            "crawl",
            *crawl_args(site.url),
            "--out",
            str(out),
            "--concurrency",
            "1",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        log = out / "crawl_log.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 15):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done_before = len(read_log(out))
        assert 15 <= done_before < len(expected)  # really killed mid-way
        subprocess.run([*cmd, "--resume"], check=True, capture_output=True, env=env)
        hits = Counter(site.hits)
    rows = read_log(out)
    assert len({r["url"] for r in rows}) == len(rows)  # one outcome per URL across both runs
    assert {path_of(r["url"]): (r["outcome"], r["reason"]) for r in rows} == expected  # nothing lost
    stored = warc_urls(out)
    assert (
        len(stored) == len(set(stored)) == sum(r["outcome"] == "fetched" for r in rows)
    )  # none stored twice
    assert len(list((out / "warc").glob("*.warc.gz"))) == 2
    # at most the one request in flight at the kill (--concurrency 1) reached the server twice
    pages = {k: v for k, v in hits.items() if k != "/robots.txt"}
    assert sum(pages.values()) - len(pages) <= 1, {k: v for k, v in pages.items() if v > 1}


def test_resume_replays_a_stored_but_unlogged_page_without_refetching(cli, tmp_path):
    """The narrow window of a kill: the page is in the WARC but its log line was never written."""
    out = tmp_path / "c"
    with serve_sample_site() as site:
        cli("crawl", site.url + "/", "--out", out, *FAST, "--max-pages", "4")
        rows = read_log(out)
        victim = [r for r in rows if r["outcome"] == "fetched"][-1]
        kept = [
            line
            for line in (out / "crawl_log.jsonl").read_text().splitlines()
            if json.loads(line)["url"] != victim["url"]
        ]
        (out / "crawl_log.jsonl").write_text("\n".join(kept) + "\n")
        before = Counter(site.hits)
        cli("crawl", site.url + "/", "--out", out, *FAST, "--max-pages", "4", "--resume")
        refetched = Counter(site.hits) - before
    again = {r["url"]: r for r in read_log(out)}
    assert again[victim["url"]]["outcome"] == "fetched" and len(again) == len(rows)
    assert sum(refetched.values()) - refetched["/robots.txt"] == 0
    assert warc_urls(out).count(victim["url"]) == 1


def test_timeouts_retries_and_a_moved_seed(cli, tmp_path):
    out = tmp_path / "c"
    with serve_sample_site() as site:
        seeds = [site.url + p for p in ("/slow", "/flaky", "/moved")]
        cli("crawl", *seeds, "--out", out, "--allow-private", "--delay", "0", "--timeout", "0.5", "--retries", "1",
            "--max-depth", "0")  # fmt: skip
        hits = Counter(site.hits)
    rows = read_log(out)
    by_path = {path_of(r["url"]): r for r in rows}
    assert (by_path["slow"]["outcome"], by_path["slow"]["reason"]) == ("failed", "timeout")
    assert (by_path["flaky"]["outcome"], by_path["flaky"]["status"]) == ("fetched", 200)
    assert hits["/slow"] == 2 and hits["/flaky"] == 2  # one retry each
    # a seed that redirects to another host makes that host part of the crawl
    moved_to = site.url.replace("127.0.0.1", "localhost") + "/news/1"
    assert by_path["moved"]["reason"] == "redirect"
    assert [r["outcome"] for r in rows if r["url"] == moved_to] == ["fetched"]


def test_spider_runs_under_plain_scrapy_with_jinglian_defaults(tmp_path):
    """``scrapy runspider`` users get the same spider, log and WARC, with jinglian's settings."""
    scrapy_bin = Path(sys.executable).with_name("scrapy")
    spider = Path(__file__).resolve().parents[1] / "corpus" / "crawl" / "spider.py"
    out = tmp_path / "c"
    with serve_sample_site() as site:
        subprocess.run(
            [str(scrapy_bin), "runspider", str(spider), "-a", f"seeds={site.url}/", "-a", f"out={out}",
             "-a", "max_pages=3", "-s", "JINGLIAN_ALLOW_PRIVATE=1", "-s", "DOWNLOAD_DELAY=0"],
            check=True, capture_output=True, cwd=tmp_path,
        )  # fmt: skip
        hits = Counter(site.hits)
    rows = read_log(out)
    assert hits["/robots.txt"] == 1  # robots.txt obeyed by default
    # the budget of 3 requests: robots.txt's Sitemap: line (read, as no --sitemap was given) + 2 pages
    assert [r["reason"] for r in rows if r["url"].endswith("/sitemap.xml")] == ["sitemap"]
    assert sum(r["outcome"] == "fetched" for r in rows) == 2 == len(warc_urls(out))
    assert any(r["reason"] == "max_pages" for r in rows)


def test_curate_from_a_url_run_again_resumes(cli, tmp_path):
    """The second run resumes the finished crawl, which fetches nothing: it must add no empty WARC
    file, or the pipeline gets one more input than the run it resumes (and its dedup stages fail)."""
    out = tmp_path / "corpus"
    with serve_sample_site() as site:
        args = ["curate", site.url + "/", "--out", out, "--allow-private", "--delay", "0", "--max-pages", "8", "--workers", "1"]
        first = cli(*args)
        again = cli(*args)
    assert "resuming" in again.stdout
    assert len(list((out / "crawl" / "warc").glob("*.warc.gz"))) == 1
    assert again.stdout.split("books balance")[1].splitlines()[0] == first.stdout.split("books balance")[1].splitlines()[0]
