"""Crawls of small trap sites on 127.0.0.1: robots.txt behind redirects, hostile sitemaps,
query-string pagination, http and https of one page, and SIGKILLs inside the resume replay window.

Every site here is a real HTTP server (``TrapSite``); all traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jinglian.corpus.crawl.state import canonical_url
from jinglian.corpus.crawl.warc import iter_warc

FAST = ["--delay", "0", "--retries", "0", "--allow-private"]


def page(*links: str) -> tuple[int, dict, bytes]:
    body = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return 200, {"Content-Type": "text/html; charset=utf-8"}, f"<html><body>{body}</body></html>".encode()


def redirect(location: str, status: int = 301) -> tuple[int, dict, bytes]:
    return status, {"Location": location}, b""


def text(body: str | bytes, ctype: str = "text/plain") -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": ctype}, body if isinstance(body, bytes) else body.encode()


def urlset(*locs: str) -> tuple[int, dict, bytes]:
    items = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    xml = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'
    return text(xml, "application/xml")


def sitemapindex(*locs: str) -> tuple[int, dict, bytes]:
    items = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    xml = f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
    return text(xml, "application/xml")


class TrapSite:
    """``routes``: request target (path + query) -> (status, headers, body), or a callable of the
    scheme asked with giving one. ``hits`` counts (scheme, Host header, target); ``log`` lists
    (monotonic time the request arrived, target) in order. With ``tls`` (a cert, key pair)
    one port speaks both http and https, as one site reachable both ways."""

    def __init__(self, routes: dict, host: str = "127.0.0.1", port: int = 0, tls: tuple | None = None):
        self.routes, self.hits, self.log = routes, Counter(), []
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                site.log.append((time.monotonic(), self.path))
                scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
                site.hits[(scheme, self.headers.get("Host"), self.path)] += 1
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                status, headers, body = route(scheme) if callable(route) else route or (404, {}, b"")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, site.fill(value, scheme))
                body = site.fill(body.decode("latin-1"), scheme).encode("latin-1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = self.socket.accept()
                if context and sock.recv(1, socket.MSG_PEEK) == b"\x16":  # a TLS ClientHello
                    sock = context.wrap_socket(sock, server_side=True)
                return sock, address

            def handle_error(self, request, client_address):
                pass

        self.server = Server((host, port), Handler)
        self.host, self.port = host, self.server.server_address[1]

    def fill(self, text: str, scheme: str) -> str:
        """HTTPS_BASE, HTTP_BASE, BASE (the scheme asked with) -> this site's address."""
        for name, value in (("HTTPS_BASE", "https"), ("HTTP_BASE", "http"), ("BASE", scheme)):
            text = text.replace(name, self.base(value))
        return text

    def base(self, scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}"

    def count(self, target: str, scheme: str | None = None) -> int:
        return sum(n for (s, _, t), n in self.hits.items() if t == target and scheme in (None, s))

    def __enter__(self) -> TrapSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def read_log(out: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (out / "crawl_log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({r["url"] for r in rows}) == len(rows)  # one outcome per URL, always
    return {r["url"]: r for r in rows}


def outcomes(out: Path, base: str) -> dict[str, tuple]:
    return {url.replace(base, ""): (r["outcome"], r["reason"]) for url, r in read_log(out).items()}


def warc_urls(out: Path) -> list[str]:
    return [p.url for path in sorted((out / "warc").glob("*.warc.gz")) for p in iter_warc(path, 1 << 30)]


# -- robots.txt behind redirects -------------------------------------------------------------


def test_robots_txt_behind_redirects_is_obeyed_and_its_sitemap_read(cli, tmp_path):
    routes = {
        "/": page("/secret", "/open"),
        "/open": page(),
        "/secret": page(),
        "/hidden": page(),
        "/robots.txt": redirect("/moved/robots.txt"),
        "/moved/robots.txt": redirect("BASE/final/robots.txt", 302),
        "/final/robots.txt": text("User-agent: *\nDisallow: /secret\nSitemap: BASE/sitemap.xml\n"),
        "/sitemap.xml": urlset("BASE/hidden"),
    }
    with TrapSite(routes) as site:
        cli("crawl", site.base() + "/", "--out", tmp_path / "c", *FAST)
    got = outcomes(tmp_path / "c", site.base())
    assert got["/secret"] == ("skipped", "robots") and site.count("/secret") == 0
    assert got["/open"] == ("fetched", None)
    assert got["/sitemap.xml"] == ("skipped", "sitemap") and got["/hidden"] == ("fetched", None)
    assert read_log(tmp_path / "c")[site.base() + "/hidden"]["referer"] == site.base() + "/sitemap.xml"
    [robots] = [json.loads(line) for line in (tmp_path / "c" / "robots.jsonl").read_text().splitlines()]
    assert (robots["outcome"], robots["redirects"], robots["final_url"]) == (
        "parsed",
        2,
        site.base() + "/final/robots.txt",
    )
    assert site.count("/robots.txt") == site.count("/final/robots.txt") == 1  # cached per host


def test_robots_txt_redirects_are_bounded_and_stay_on_allowed_hosts(cli, tmp_path):
    """Six redirects (one more than RFC 9309's five) or one to a host outside the crawl: the file
    is unavailable (everything allowed) and the redirect beyond is never requested."""
    loop = {f"/r{i}": redirect(f"/r{i + 1}") for i in range(10)}
    with (
        TrapSite({**loop, "/robots.txt": redirect("/r0"), "/": page()}) as endless,
        TrapSite({"/robots.txt": redirect("http://localhost:1/robots.txt"), "/": page()}) as offsite,
    ):
        for name, site in (("endless", endless), ("offsite", offsite)):
            cli("crawl", site.base() + "/", "--out", tmp_path / name, *FAST)
    rows = {n: json.loads((tmp_path / n / "robots.jsonl").read_text()) for n in ("endless", "offsite")}
    assert (rows["endless"]["reason"], rows["endless"]["redirects"]) == ("too_many_redirects", 5)
    assert endless.count("/r4") == 1 and endless.count("/r5") == 0
    assert (rows["offsite"]["outcome"], rows["offsite"]["reason"]) == ("unavailable", "redirect_offsite")
    assert all(outcomes(tmp_path / n, s.base())["/"] == ("fetched", None) for n, s in
               (("endless", endless), ("offsite", offsite)))  # fmt: skip


# -- sitemaps --------------------------------------------------------------------------------


def test_sitemaps_read_only_http_on_site_bounded_and_counted(cli, tmp_path):
    bomb = gzip.compress(b"<urlset>" + b" " * 200_000 + b"</urlset>")  # 2 kB that inflate to 200 kB
    routes = {
        "/index.xml": sitemapindex(
            "file:///etc/hostname",
            "http://localhost:1/other.xml",
            "BASE/pages.xml",
            "BASE/nest1.xml",
            "BASE/big.xml",
            "BASE/bomb.xml.gz",
        ),
        "/pages.xml": urlset(
            "file:///etc/passwd", "ftp://127.0.0.1/x", "http://localhost:1/page", "BASE/good"
        ),
        "/nest1.xml": sitemapindex("BASE/nest2.xml"),
        "/nest2.xml": sitemapindex("BASE/nest3.xml"),
        "/nest3.xml": urlset("BASE/too-deep"),
        "/big.xml": urlset(*[f"BASE/p{i}" for i in range(3000)]),  # over --max-bytes
        "/bomb.xml.gz": text(bomb, "application/gzip"),
        "/good": page(),
    }
    with TrapSite(routes) as site:
        cli("crawl", "--sitemap", site.base() + "/index.xml", "--out", tmp_path / "c", *FAST,
            "--max-bytes", "50000", "--ignore-robots")  # fmt: skip
    got = outcomes(tmp_path / "c", site.base())
    assert got["file:///etc/hostname"] == got["file:///etc/passwd"] == ("skipped", "scheme")
    assert got["ftp://127.0.0.1/x"] == ("skipped", "scheme")
    assert got["http://localhost:1/other.xml"] == got["http://localhost:1/page"] == ("skipped", "offsite")
    assert got["/good"] == ("fetched", None)
    assert got["/nest1.xml"] == got["/nest2.xml"] == ("skipped", "sitemap")
    assert got["/nest3.xml"] == ("skipped", "sitemap_nesting") and site.count("/nest3.xml") == 0
    assert got["/big.xml"] == got["/bomb.xml.gz"] == ("skipped", "too_large")
    assert all(host == f"127.0.0.1:{site.port}" for _, host, _ in site.hits)  # nothing else asked
    # every URL of every sitemap has its line
    assert len(got) == 1 + 6 + 4 + 1 + 1


def test_sitemap_urls_count_against_max_pages(cli, tmp_path):
    routes = {
        "/sitemap.xml": urlset(*[f"BASE/p{i}" for i in range(10)]),
        **{f"/p{i}": page() for i in range(10)},
    }
    with TrapSite(routes) as site:
        cli(
            "crawl",
            "--sitemap",
            site.base() + "/sitemap.xml",
            "--out",
            tmp_path / "c",
            *FAST,
            "--max-pages",
            "4",
        )
    got = outcomes(tmp_path / "c", site.base())
    assert Counter(got.values()) == {
        ("skipped", "sitemap"): 1,
        ("fetched", None): 3,
        ("skipped", "max_pages"): 7,
    }
    assert sum(n for (_, _, t), n in site.hits.items() if t != "/robots.txt") == 4


# -- URLs: pagination kept, tracking dropped, one page over http and https ---------------------


def test_canonical_url_drops_exactly_the_tracking_parameters():
    for keep in ("from=20", "page=2", "p=3", "start=40", "offset=10", "fromDate=2024-01-01", "spmx=1"):
        assert keep in canonical_url(f"http://a.cn/list?{keep}&utm_source=x&spm=a.b.c&gclid=1")
    assert canonical_url("http://a.cn/list?from=20") != canonical_url("http://a.cn/list?from=40")
    assert canonical_url("http://A.cn:80/x?b=2&a=1&utm_medium=y#top") == "https://a.cn/x?a=1&b=2"
    assert canonical_url("http://a.cn/x?a=1&a=2") == "https://a.cn/x?a=1&a=2"  # repeated keys kept


def test_query_string_pagination_is_crawled(cli, tmp_path):
    routes = {
        "/list": page(
            "/list?from=20", "/list?fromDate=2024-01-01", "/list?from=20&utm_source=a&utm_campaign=b"
        ),
        "/list?from=20": page("/list?from=40", "/list?from=20#comments"),
        "/list?from=40": page(),
        "/list?fromDate=2024-01-01": page(),
    }
    with TrapSite(routes) as site:
        cli("crawl", site.base() + "/list", "--out", tmp_path / "c", *FAST)
    got = outcomes(tmp_path / "c", site.base())
    for target in ("/list", "/list?from=20", "/list?from=40", "/list?fromDate=2024-01-01"):
        assert got[target] == ("fetched", None) and site.count(target) == 1, target
    assert got["/list?from=20&utm_source=a&utm_campaign=b"] == ("skipped", "duplicate")
    assert "/list?from=20#comments" not in got  # only the fragment differs: the same URL, no line of its own


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_http_and_https_of_one_page_are_one_url(cli, tmp_path, certificate):
    """One port serving both schemes: a page linked both ways is fetched once; a page that
    redirects http -> https is fetched over https (not a loop, not a duplicate); once the host has
    shown it moves to https, its http links are asked for over https directly."""
    routes = {
        "/": page("HTTPS_BASE/a", "HTTP_BASE/a", "HTTP_BASE/b"),
        "/a": page(),
        "/b": lambda scheme: redirect("HTTPS_BASE/b") if scheme == "http" else page("HTTP_BASE/d"),
        "/d": page(),
    }
    with TrapSite(routes, tls=certificate) as site:
        cli("crawl", site.base() + "/", "--out", tmp_path / "c", *FAST)
    log = read_log(tmp_path / "c")
    http, https = site.base("http"), site.base("https")
    fetched_a = [u for u in (http + "/a", https + "/a") if log[u]["outcome"] == "fetched"]
    assert len(fetched_a) == 1 and site.count("/a") == 1
    assert (log[http + "/b"]["reason"], log[https + "/b"]["outcome"]) == ("redirect", "fetched")
    assert (log[http + "/d"]["reason"], log[https + "/d"]["outcome"]) == ("https_upgrade", "fetched")
    assert site.count("/d", "http") == 0 and site.count("/d", "https") == 1
    assert len({canonical_url(u) for u in warc_urls(tmp_path / "c")}) == len(warc_urls(tmp_path / "c"))


# -- resume: SIGKILL between storing a page and journaling its links ---------------------------

KILLING_CRAWL = """
import os, runpy, signal, sys
from jinglian.corpus.crawl import warc
store, victim = warc.CrawlWarcWriter.write, os.environ["JL_KILL_AFTER_STORING"]
def write(self, url, *args, **kwargs):
    store(self, url, *args, **kwargs)
    if url == victim:  # the page is on disk; its links and its log line are not
        os.kill(os.getpid(), signal.SIGKILL)
warc.CrawlWarcWriter.write = write
sys.argv = ["jinglian", *sys.argv[1:]]
runpy.run_module("jinglian.cli", run_name="__main__")
"""


def test_kills_inside_the_replay_window_then_resume_fetch_each_url_once(tmp_path):
    """Run 1 is SIGKILLed right after storing /a (its links never journaled); run 2, resuming,
    replays /a from the WARC, discovers /a1 and /a2 there, and is SIGKILLed right after storing
    /a1; run 3 finishes. Every page reaches the server once, is stored once, logged once."""
    routes = {"/": page("/a", "/b"), "/a": page("/a1", "/a2"), "/a1": page("/a11"), "/a2": page(), "/b": page(),
              "/a11": page()}  # fmt: skip
    out = tmp_path / "c"
    with TrapSite(routes) as site:
        cmd = ["crawl", site.base() + "/", "--out", str(out), *FAST, "--concurrency", "1"]

        def run(victim: str | None, *extra: str) -> int:
            env = {**os.environ, "JL_KILL_AFTER_STORING": site.base() + victim if victim else ""}
            return subprocess.run([sys.executable, "-c", KILLING_CRAWL, *cmd, *extra], env=env,
                                  capture_output=True).returncode  # fmt: skip

        assert run("/a") == -9
        assert site.base() + "/a" not in read_log(out) and site.base() + "/a" in warc_urls(out)
        assert run("/a1", "--resume") == -9
        assert read_log(out)[site.base() + "/a"]["outcome"] == "fetched"  # replayed, not refetched
        assert run(None, "--resume") == 0
    log = read_log(out)
    assert {u.replace(site.base(), ""): r["outcome"] for u, r in log.items()} == {
        p: "fetched" for p in routes
    }
    pages = {t: n for (_, _, t), n in site.hits.items() if t != "/robots.txt"}
    assert pages == {p: 1 for p in routes}  # no URL fetched twice across two kills and resumes
    assert sorted(warc_urls(out)) == sorted(log)  # stored once each


# -- addresses: checked once, pinned for the connection; IPv6 forms unwrapped -------------------

STUBBED_DNS_CRAWL = """
import json, os, runpy, sys
from jinglian.corpus.crawl import addresses
answers = json.loads(os.environ["JL_DNS"])  # host -> one answer per lookup, the last one repeating
asked = []
def lookup(host):
    asked.append(host)
    with open(os.environ["JL_DNS_LOG"], "a") as log:
        log.write(host + "\\n")
    seq = answers.get(host, [[]])
    return tuple(seq[min(asked.count(host), len(seq)) - 1])
addresses.lookup = lookup  # DNS cannot run here: the stub stands in for the name server only
sys.argv = ["jinglian", *sys.argv[1:]]
runpy.run_module("jinglian.cli", run_name="__main__")
"""


def crawl_with_dns(answers: dict, out: Path, *args: str) -> list[str]:
    """The real crawl command, its DNS answered by ``answers``; returns the hosts looked up."""
    dns_log = out.parent / f"{out.name}.dns"
    env = {**os.environ, "JL_DNS": json.dumps(answers), "JL_DNS_LOG": str(dns_log)}
    subprocess.run([sys.executable, "-c", STUBBED_DNS_CRAWL, "crawl", "--out", str(out), *args],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return dns_log.read_text().split() if dns_log.exists() else []


def test_dns_rebinding_the_connection_goes_to_the_checked_address(tmp_path):
    """rebind.test answers 127.0.0.1 first and 127.0.0.2 on every later lookup (the "second,
    internal answer" of DNS rebinding; both on loopback so nothing leaves the machine). A server
    listens on each, same port. The crawl looks the name up once and every connection, robots.txt
    and pages, goes to the address that was checked."""
    routes = {"/": page("/x", "/y"), "/x": page(), "/y": page()}
    with TrapSite(routes) as first, TrapSite(routes, host="127.0.0.2", port=first.port) as second:
        seed = f"http://rebind.test:{first.port}/"
        asked = crawl_with_dns({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]}, tmp_path / "c", seed, *FAST)
    assert asked == ["rebind.test"]  # resolved once
    assert sum(second.hits.values()) == 0
    assert {t for _, _, t in first.hits} == {"/robots.txt", "/", "/x", "/y"}
    assert [r["outcome"] for r in read_log(tmp_path / "c").values()] == ["fetched"] * 3


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],  # loopback without --allow-private
        ["8.8.8.8", "127.0.0.1"],  # one public and one private address in one answer
        ["2002:7f00:1::"],  # 6to4 of 127.0.0.1
        ["64:ff9b::7f00:1"],  # NAT64 of 127.0.0.1
        ["::ffff:127.0.0.1"],  # IPv4-mapped 127.0.0.1
        ["2001:0:4136:e378:8000:63bf:80ff:fffe"],  # Teredo, client 127.0.0.1
    ],
)
def test_refused_answers_are_never_connected_to(tmp_path, answer):
    with TrapSite({"/": page()}) as site:
        seed = f"http://trap.test:{site.port}/"
        crawl_with_dns({"trap.test": [answer]}, tmp_path / "c", seed, "--delay", "0", "--retries", "0")
    assert sum(site.hits.values()) == 0  # not even robots.txt
    assert [(r["outcome"], r["reason"]) for r in read_log(tmp_path / "c").values()] == [
        ("skipped", "private_address")
    ]


TRANSITION_FORMS = {  # address -> (refused, refused with --allow-private)
    "2002:7f00:1::": (True, False),  # 6to4 2002::/16 of 127.0.0.1
    "2002:a00:1::": (True, False),  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::": (True, True),  # 6to4 of 169.254.169.254 (link-local: always refused)
    "2002:808:808::": (False, False),  # 6to4 of 8.8.8.8
    "64:ff9b::7f00:1": (True, False),  # NAT64 64:ff9b::/96 of 127.0.0.1
    "64:ff9b::c0a8:101": (True, False),  # NAT64 of 192.168.1.1
    "64:ff9b::a9fe:a9fe": (True, True),  # NAT64 of the metadata endpoint
    "64:ff9b::808:808": (False, False),  # NAT64 of 8.8.8.8
    "::ffff:127.0.0.1": (True, False),  # IPv4-mapped ::ffff:0:0/96
    "::ffff:10.1.2.3": (True, False),
    "::ffff:169.254.169.254": (True, True),
    "::ffff:8.8.8.8": (False, False),
    "2001:0:4136:e378:8000:63bf:80ff:fffe": (True, False),  # Teredo 2001::/32, client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7": (False, False),  # Teredo, client 8.8.8.8
    "fe80::1": (True, True),
    "ff02::1": (True, True),
    "::": (True, True),
    "::1": (True, False),
    "fd00::1": (True, False),
    "2001:4860:4860::8888": (False, False),
    "0.0.0.0": (True, True),
    "224.0.0.1": (True, True),
    "240.0.0.1": (True, True),
    "100.64.0.1": (True, True),  # carrier-grade NAT: not global, not "private" in Python's sense
    "not-an-ip": (True, True),
}


def test_address_rules_unwrap_ipv6_transition_forms():
    from jinglian.corpus.crawl.addresses import address_refused, host_refused

    got = {a: (address_refused(a, False), address_refused(a, True)) for a in TRANSITION_FORMS}
    assert got == TRANSITION_FORMS
    assert host_refused("", allow_private=True)  # an empty host (file:///x) is never fine
    assert host_refused("[::ffff:127.0.0.1]", allow_private=False)


def test_checked_resolver_hands_out_only_checked_addresses():
    """The resolver Twisted connects through answers with nothing for a refused address, so even
    a request that skipped the guard could not reach it."""
    from twisted.internet import reactor

    from jinglian.corpus.crawl.addresses import CheckedResolver

    class Receiver:
        def __init__(self):
            self.addresses, self.complete = [], False

        def resolutionBegan(self, resolution):  # noqa: N802 (Twisted's interface)
            pass

        def addressResolved(self, address):  # noqa: N802
            self.addresses.append(address.host)

        def resolutionComplete(self):  # noqa: N802
            self.complete = True

    def resolve(host: str, allow_private: bool) -> list[str]:
        receiver = Receiver()
        CheckedResolver(reactor, allow_private).resolveHostName(receiver, host, 80)
        assert receiver.complete
        return receiver.addresses

    assert resolve("127.0.0.1", allow_private=True) == ["127.0.0.1"]
    assert resolve("127.0.0.1", allow_private=False) == []
    assert resolve("::ffff:127.0.0.1", allow_private=False) == []
    assert resolve("169.254.169.254", allow_private=True) == []
