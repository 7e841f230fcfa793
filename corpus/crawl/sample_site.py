"""A small Chinese website the project writes itself, served on 127.0.0.1 for tests and the demo.

Every trap a crawler and an extractor meet on the real Chinese web, in miniature: news articles
with navigation and footer boilerplate, near-duplicate "print" versions, a gambling spam page, a
GBK page (declared in the HTTP header), a GB18030 page that declares ``utf-8`` in its ``<meta>``,
a Big5 page, robots.txt disallowing ``/private/``, a sitemap index and a sitemap with a page no link reaches, an
endless calendar (each month links to the next), a redirect loop, a redirect to the cloud
metadata address, a 404, a PDF, a page too large for a 1 MB limit, a page slower than a timeout (``/slow``), one that fails every
other request with a 503 (``/flaky``), query/fragment variants of
the same URL, and a link to another site. Article text comes from the sentence banks of
:mod:`jinglian.corpus.sample` (written for jinglian); nothing is copied from third-party pages.

``with serve_sample_site() as site: site.url`` serves it on a random free port in a thread;
``site.hits`` counts GET requests per path.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import opencc

from jinglian.corpus.sample import TOPICS

N_ARTICLES = 12
PRINT_VERSIONS = (1, 2, 3)  # articles that also have a near-duplicate /news/<i>/print page
BIG_PAGE_BYTES = 1_500_000

SPAM = (
    "澳门首家线上赌场上线啦！注册即送888元彩金，百家乐、老虎机、真人视讯应有尽有。"
    "充值秒到账，提款五分钟到账，天天返水百分之二。点击下方链接立即注册，好运等你来拿！"
    "加微信客服领取内部导师带单计划，稳赚不赔，日赚三千不是梦。"
)
NAV = '<div class="nav"><a href="/">首页</a> | <a href="/news/1">新闻</a> | <a href="/forum/1">论坛</a> | <a href="/about">关于我们</a></div>'
FOOTER = (
    '<div class="footer">版权所有 2024 精炼示例网 · 京ICP备00000000号 · <a href="/about">联系我们</a></div>'
)


def _article(i: int) -> tuple[str, list[str]]:
    """Title and paragraphs of article ``i`` (deterministic)."""
    rng = random.Random(1000 + i)
    topic = list(TOPICS)[i % len(TOPICS)]
    sentences = TOPICS[topic]
    paragraphs = ["".join(rng.sample(sentences, k=min(3, len(sentences)))) for _ in range(4)]
    return f"{topic}观察（第{i}期）：{sentences[i % len(sentences)][:10].rstrip('，。')}", paragraphs


def _page(title: str, body: str, charset: str = "utf-8", extra_head: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="{charset}"><title>{title}</title>{extra_head}</head>'
        f"<body>{NAV}{body}{FOOTER}</body></html>"
    )


def _article_body(i: int, related: bool = True) -> str:
    title, paragraphs = _article(i)
    text = "".join(f"<p>{p}</p>" for p in paragraphs)
    links = ""
    if related:
        others = [(i % N_ARTICLES) + 1, ((i + 4) % N_ARTICLES) + 1]
        links = '<div class="related">相关阅读：' + " ".join(
            f'<a href="/news/{j}">第{j}期</a>' for j in others
        )
        links += f' <a href="/news/{i}/print">打印本页</a></div>' if i in PRINT_VERSIONS else "</div>"
    meta = '<div class="meta">作者：精炼编辑部　发布时间：2024-03-0' + str(1 + i % 9) + "</div>"
    return f"<article><h1>{title}</h1>{meta}{text}</article>{links}"


def _index() -> str:
    items = "".join(f'<li><a href="/news/{i}">{_article(i)[0]}</a></li>' for i in range(1, N_ARTICLES + 1))
    extra = [
        ("/news/1?utm_source=index&amp;utm_medium=nav", "同一篇文章（带跟踪参数）"),
        ("/news/3#comments", "第3期评论"),
        ("/forum/1", "论坛"),
        ("/spam", "优惠活动"),
        ("/gbk", "旧版页面"),
        ("/wrong-charset", "编码说明"),
        ("/big5", "繁體版"),
        ("/private/secret", "内部资料"),
        ("/calendar/2024-01", "活动日历"),
        ("/loop/a", "跳转测试"),
        ("/old-news", "旧新闻"),
        ("/metadata", "云服务"),
        ("/missing", "已删除的页面"),
        ("/files/report.pdf", "年度报告（PDF）"),
        ("/big", "超长页面"),
        ("http://example.com/partner", "合作伙伴"),
    ]
    items += "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in extra)
    return _page("精炼示例网", f"<h1>精炼示例网</h1><ul>{items}</ul>")


def _forum() -> str:
    posts = [
        "1楼：最近想学做饭，有没有适合新手的家常菜推荐？",
        "2楼：西红柿炒鸡蛋最简单，先炒鸡蛋盛出来，再炒西红柿，最后混在一起加盐就好。",
        "3楼：可以试试青椒土豆丝，切丝的时候注意粗细均匀，下锅前用清水泡一泡。",
        "4楼：建议先从蒸菜开始，火候好掌握，也不容易失败。",
    ]
    return _page(
        "论坛：新手做饭求推荐",
        "<h1>新手做饭求推荐</h1>" + "".join(f'<div class="post"><p>{p}</p></div>' for p in posts),
    )


def _calendar(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    prev_m = f"{year - (mon == 1)}-{12 if mon == 1 else mon - 1:02d}"
    next_m = f"{year + (mon == 12)}-{1 if mon == 12 else mon + 1:02d}"
    body = f'<h1>{year}年{mon}月活动日历</h1><p>本月暂无活动。</p><a href="/calendar/{prev_m}">上个月</a> <a href="/calendar/{next_m}">下个月</a>'
    return _page(f"{year}年{mon}月活动日历", body)


def _sitemap(base: str) -> str:
    urls = [f"{base}/news/{i}" for i in range(1, N_ARTICLES + 1)] + [f"{base}/hidden/1"]
    locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'


def render(path: str, base: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for ``path`` (the server's whole routing table)."""
    html = "text/html; charset=utf-8"
    if path == "/":
        return 200, {"Content-Type": html}, _index().encode()
    if path == "/robots.txt":
        return (
            200,
            {"Content-Type": "text/plain"},
            f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n".encode(),
        )
    if path == "/sitemap.xml":
        return 200, {"Content-Type": "application/xml"}, _sitemap(base).encode()
    if path == "/sitemap_index.xml":
        index = f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}/sitemap.xml</loc></sitemap></sitemapindex>'
        return 200, {"Content-Type": "application/xml"}, index.encode()
    if path.startswith("/news/"):
        parts = path.split("/")
        if parts[2].isdigit() and 1 <= int(parts[2]) <= N_ARTICLES:
            i = int(parts[2])
            if len(parts) == 3:
                head = '<meta name="author" content="精炼编辑部">'
                return (
                    200,
                    {"Content-Type": html},
                    _page(_article(i)[0], _article_body(i), extra_head=head).encode(),
                )
            if parts[3] == "print" and i in PRINT_VERSIONS:  # near duplicate: same text, other chrome
                body = '<div class="print">打印版</div>' + _article_body(i, related=False)
                return (
                    200,
                    {"Content-Type": html},
                    f"<html><head><meta charset=utf-8><title>{_article(i)[0]}</title></head><body>{body}</body></html>".encode(),
                )
    if path in ("/slow", "/flaky"):
        return (
            200,
            {"Content-Type": html},
            _page("稍后再试", "<p>服务器有时很慢，有时出错，这一次正常返回了。</p>").encode(),
        )
    if path == "/hidden/1":
        return (
            200,
            {"Content-Type": html},
            _page("只在站点地图里的页面", _article_body(7, related=False)).encode(),
        )
    if path == "/about":
        return (
            200,
            {"Content-Type": html},
            _page(
                "关于我们", "<h1>关于我们</h1><p>精炼示例网是一个用于测试网页采集与正文抽取的示例网站。</p>"
            ).encode(),
        )
    if path == "/forum/1":
        return 200, {"Content-Type": html}, _forum().encode()
    if path == "/spam":
        return (
            200,
            {"Content-Type": html},
            _page("注册送彩金", f"<h1>注册送彩金</h1><p>{SPAM}</p><p>{SPAM}</p>").encode(),
        )
    if path == "/gbk":  # declared in the HTTP header, as old Chinese servers do
        page = _page(_article(4)[0], _article_body(4, related=False), charset="gbk")
        return 200, {"Content-Type": "text/html; charset=GBK"}, page.encode("gbk")
    if path == "/wrong-charset":  # GB18030 bytes behind a <meta charset="utf-8"> and no HTTP charset
        page = _page(_article(5)[0], _article_body(5, related=False), charset="utf-8")
        return 200, {"Content-Type": "text/html"}, page.encode("gb18030")
    if path == "/big5":
        title, paragraphs = _article(6)
        convert = opencc.OpenCC("s2t").convert
        body = (
            f"<article><h1>{convert(title)}</h1>"
            + "".join(f"<p>{convert(p)}</p>" for p in paragraphs)
            + "</article>"
        )
        return (
            200,
            {"Content-Type": "text/html"},
            _page(convert(title), body, charset="big5").encode("big5hkscs", "xmlcharrefreplace"),
        )
    if path.startswith("/private/"):
        return 200, {"Content-Type": html}, _page("内部资料", "<p>这是内部资料，爬虫不应抓取。</p>").encode()
    if path.startswith("/calendar/"):
        month = path.rsplit("/", 1)[-1]
        if len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit():
            return 200, {"Content-Type": html}, _calendar(month).encode()
    if path == "/loop/a":
        return 302, {"Location": "/loop/b"}, b""
    if path == "/loop/b":
        return 302, {"Location": "/loop/a"}, b""
    if path == "/old-news":
        return 301, {"Location": "/news/2"}, b""
    if path == "/moved":  # the site moved to another host name
        return 301, {"Location": base.replace("127.0.0.1", "localhost") + "/news/1"}, b""
    if path == "/metadata":
        return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""
    if path == "/files/report.pdf":
        return (
            200,
            {"Content-Type": "application/pdf"},
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40,
        )
    if path == "/big":
        filler = "<p>" + "这是一个非常长的页面。" * 100 + "</p>"
        return (
            200,
            {"Content-Type": html},
            _page("超长页面", filler * (BIG_PAGE_BYTES // len(filler.encode()) + 1)).encode(),
        )
    return 404, {"Content-Type": html}, _page("404", "<h1>页面不存在</h1>").encode()


@dataclass
class SampleSite:
    url: str
    hits: Counter = field(default_factory=Counter)


def _handler(site: SampleSite, delay: float):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            path = urlsplit(self.path).path
            site.hits[path] += 1
            if delay and path not in ("/robots.txt",):
                time.sleep(delay)
            if path == "/slow":  # slower than any test's --timeout
                time.sleep(3)
            if path == "/flaky" and site.hits[path] % 2 == 1:  # every other request: 503
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, headers, body = render(path, site.url)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output quiet
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a crawler hanging up on a large body is normal
        pass


@contextlib.contextmanager
def serve_sample_site(port: int = 0, delay: float = 0.0) -> Iterator[SampleSite]:
    """Serve the sample site on 127.0.0.1 (``port=0``: a free one); ``delay`` seconds per page."""
    site = SampleSite(url="")
    server = _QuietServer(("127.0.0.1", port), _handler(site, delay))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
