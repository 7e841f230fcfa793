"""One spelling per URL (issue 25 items 1, 2, 8, 13): raw Chinese, upper-case hosts, spaces and
percent-encoding in links, sitemaps, seeds and ``Location`` headers; meta refresh; what the WARC
writer stores. Real crawls of ``TrapSite`` servers on 127.0.0.1 with the real ``jinglian crawl``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from test_crawl_traps import FAST, KILLING_CRAWL, TrapSite, page, read_log, redirect, text, urlset, warc_urls
from warcio.archiveiterator import ArchiveIterator

from jinglian.corpus.crawl.state import request_url


def utf8(value: str) -> str:
    """A header value sent as raw UTF-8 bytes (http.server writes header strings as latin-1)."""
    return value.encode().decode("latin-1")


def frontier(out: Path) -> list[str]:
    path = out / "crawl_state" / "frontier.jsonl"
    return [json.loads(line)["url"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_frontier_and_log_agree_on_every_spelling_across_kill_and_resume(tmp_path):
    """A raw-Chinese seed and sitemap on a mixed-case host; links with a space, an upper-case
    scheme and host, upper- and lower-case percent-encoding and a Chinese fragment. Run 1 is
    SIGKILLed right after storing /新闻/第一篇 (a sitemap page that links to itself and to its
    children), run 2 resumes to the end, run 3 resumes the finished crawl. Every frontier URL has
    exactly one outcome, every page reached the server once, and run 3 fetches nothing."""
    site = TrapSite({})
    base, mixed = f"http://localhost:{site.port}", f"http://LocalHost:{site.port}"
    first = quote("/新闻/第一篇")
    site.routes.update({
        quote("/首页"): page(f"HTTP://LOCALHOST:{site.port}/新闻/第 二篇", quote("/新闻/第三篇"), "/新闻/第一篇#评论"),
        quote("/站点地图.xml"): urlset(f"{base}/新闻/第一篇", f"{base}/新闻/第三篇"),
        first: page("/新闻/第一篇", first.lower(), "/新闻/第 二篇", "./第四篇"),
        quote("/新闻/第 二篇"): page(),
        quote("/新闻/第三篇"): page(),
        quote("/新闻/第四篇"): page(),
    })  # fmt: skip
    out = tmp_path / "c"
    cmd = ["crawl", f"{mixed}/首页", "--sitemap", f"{mixed}/站点地图.xml", "--out", str(out), *FAST,
           "--concurrency", "1"]  # fmt: skip

    def run(*extra: str, victim: str = "") -> int:
        env = {**os.environ, "JL_KILL_AFTER_STORING": victim}
        return subprocess.run([sys.executable, "-c", KILLING_CRAWL, *cmd, *extra], env=env,
                              capture_output=True).returncode  # fmt: skip

    with site:
        assert run(victim=base + first) == -9
        assert run("--resume") == 0
        hits_after_two_runs = dict(site.hits)
        records = len(warc_urls(out))
        assert run("--resume") == 0
    log = read_log(out)  # one line per URL
    assert set(frontier(out)) <= set(log)  # every frontier URL has its outcome
    assert all(request_url(u) == u for u in [*log, *frontier(out)])  # one spelling, the requested one
    got = {u.replace(base, ""): (r["outcome"], r["reason"]) for u, r in log.items()}
    assert got == {
        quote("/首页"): ("fetched", None),
        quote("/站点地图.xml"): ("skipped", "sitemap"),
        first: ("fetched", None),
        first.lower(): ("skipped", "duplicate"),  # another spelling of the same page
        quote("/新闻/第 二篇"): ("fetched", None),
        quote("/新闻/第三篇"): ("fetched", None),
        quote("/新闻/第四篇"): ("fetched", None),
    }
    pages = {t: n for (_, _, t), n in site.hits.items() if t != "/robots.txt"}
    assert pages == {t: 1 for t in site.routes}  # across a kill and two resumes
    assert {t: n for (_, _, t), n in hits_after_two_runs.items() if t != "/robots.txt"} == pages
    stored = warc_urls(out)
    assert len(stored) == records and sorted(stored) == sorted(
        u for u, r in log.items() if r["outcome"] == "fetched"
    )


def test_utf8_header_bytes_are_read_and_stored_as_sent(cli, tmp_path):
    """``Location: /目标页/`` as raw UTF-8 bytes, on a page and on robots.txt: the target asked
    for is /目标页/ (percent-encoded as UTF-8), not its latin-1 mojibake. The target's own raw
    UTF-8 headers are stored in the WARC as sent, and the seed's #fragment, which never reaches
    the server, is not part of the URL logged or stored."""
    disposition = 'inline; filename="报告.html"'
    target_headers = {
        "Content-Type": "text/html",
        "Content-Disposition": utf8(disposition),
        "X-Note": utf8("中文"),
    }
    routes = {
        "/": page("/跳转", "/秘密"),
        quote("/跳转"): redirect(utf8("/目标页/")),
        quote("/目标页/"): (200, target_headers, b"<html><body>ok</body></html>"),
        "/robots.txt": redirect(utf8("/机器人.txt")),
        quote("/机器人.txt"): text("User-agent: *\nDisallow: /秘密\n"),
        quote("/秘密"): page(),
    }
    with TrapSite(routes) as site:
        cli("crawl", site.base() + "/#顶部", "--out", tmp_path / "c", *FAST)
    log, target = read_log(tmp_path / "c"), site.base() + quote("/目标页/")
    assert log[site.base() + quote("/跳转")]["reason"] == "redirect"
    assert log[target]["outcome"] == "fetched" and site.count(quote("/目标页/")) == 1
    robots = json.loads((tmp_path / "c" / "robots.jsonl").read_text())
    assert (robots["outcome"], robots["final_url"]) == ("parsed", site.base() + quote("/机器人.txt"))
    assert log[site.base() + quote("/秘密")]["reason"] == "robots" and site.count(quote("/秘密")) == 0
    asked = {t for _, _, t in site.hits}
    assert asked == {
        "/robots.txt",
        quote("/机器人.txt"),
        "/",
        quote("/跳转"),
        quote("/目标页/"),
    }  # no mojibake
    [path] = (tmp_path / "c" / "warc").glob("*.warc.gz")
    with open(path, "rb") as f:
        responses = {r.rec_headers.get_header("WARC-Target-URI"): r.http_headers for r in ArchiveIterator(f)
                     if r.rec_type == "response"}  # fmt: skip
    assert list(responses) == list(log)[:1] + [target] and list(log)[0] == site.base() + "/"  # no fragment
    headers = responses[target]
    assert (headers.get_header("Content-Disposition"), headers.get_header("X-Note")) == (disposition, "中文")


def refresh(target: str, seconds: int = 0) -> tuple[int, dict, bytes]:
    head = f'<meta http-equiv="refresh" content="{seconds}; url={target}">' if target else (
        f'<meta http-equiv="refresh" content="{seconds}">')  # fmt: skip
    body = f"<html><head>{head}</head><body><p>页面已迁移。</p></body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body.encode()


def test_meta_refresh_is_followed_and_its_stub_not_stored(cli, tmp_path):
    routes = {
        "/": page("/old", "/reload", "/later", "/loop-a", "/bad-location"),
        "/bad-location": redirect("http://[::1/y"),
        "/old": refresh("/新址"),  # the stub of a moved page
        quote("/新址"): page(),
        "/reload": refresh("", 60),  # reloads itself: a page
        "/later": refresh("/新址", 600),  # beyond METAREFRESH_MAXDELAY: a page
        "/loop-a": refresh("/loop-b"),
        "/loop-b": refresh("/loop-a"),
    }
    with TrapSite(routes) as site:
        cli("crawl", site.base() + "/", "--out", tmp_path / "c", *FAST)
    got = {
        u.replace(site.base(), ""): (r["outcome"], r["reason"]) for u, r in read_log(tmp_path / "c").items()
    }
    assert got["/old"] == ("skipped", "meta_refresh") and got[quote("/新址")] == ("fetched", None)
    assert read_log(tmp_path / "c")[site.base() + quote("/新址")]["referer"] == site.base() + "/old"
    assert got["/reload"] == got["/later"] == ("fetched", None)
    assert got["/bad-location"] == ("skipped", "redirect") and got["http://[::1/y"] == ("skipped", "bad_url")
    assert (got["/loop-a"], got["/loop-b"]) == (("skipped", "meta_refresh"), ("failed", "redirect_loop"))
    stored = {u.replace(site.base(), "") for u in warc_urls(tmp_path / "c")}
    assert stored == {"/", quote("/新址"), "/reload", "/later"}  # no stub stored as a page
    assert site.count(quote("/新址")) == 1


FAILING_CALLBACK = """
import runpy, sys
from jinglian.corpus.crawl import spider
parse = spider.JinglianSpider.parse
def broken(self, response):
    if response.url.endswith("/b"):
        raise RuntimeError("a bug in the books")
    return parse(self, response)
spider.JinglianSpider.parse = broken
sys.argv = ["jinglian", *sys.argv[1:]]
runpy.run_module("jinglian.cli", run_name="__main__")
"""


def test_an_error_inside_the_spider_fails_the_command(tmp_path):
    """Scrapy logs a callback's exception and goes on; the URL then has no outcome, so the
    command must not exit 0 (issue 25 item 1 exited 0 on "already has an outcome")."""
    with TrapSite({"/": page("/a", "/b"), "/a": page(), "/b": page()}) as site:
        proc = subprocess.run([sys.executable, "-c", FAILING_CALLBACK, "crawl", site.base() + "/", "--out",
                               str(tmp_path / "c"), *FAST], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 1 and "1 error(s) inside the spider" in proc.stderr
    assert site.base() + "/b" not in read_log(tmp_path / "c")  # the outcome that was lost
