"""Reading WARC/ARC files record by record (issue 25 items 3 and 13): one bad record costs one
drop and the reading goes on; revisit and zero-length response records are counted; ``.arc`` is
read like ``.arc.gz``. Every file is written here, with warcio or by hand."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from jinglian.corpus.crawl.warc import WarcDamage, WarcPage, iter_warc

ZH = "精炼示例网的这篇文章介绍了网页采集、正文抽取和数据清洗的基本步骤，每一步都有清楚的记录。"


def html(n: int) -> bytes:
    return f"<html><head><title>第{n}篇</title></head><body><article><p>{ZH * 3}</p></article></body></html>".encode()


def response(url: str, body: bytes, headers: list[tuple[str, str]] | None = None, status: str = "200 OK"):
    """(url, HTTP headers, raw payload bytes as they are stored, after the headers)."""
    head = [("Content-Type", "text/html; charset=utf-8"), *(headers or [])]
    if not any(k.lower() == "transfer-encoding" for k, _ in head):
        head.append(("Content-Length", str(len(body))))
    return url, StatusAndHeaders(status, head, protocol="HTTP/1.1"), body


def write_warc(path: Path, records: list, gz: bool = True) -> Path:
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gz)
        for item in records:
            if callable(item):  # a record built by the caller
                writer.write_record(item(writer))
                continue
            url, http, body = item
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
            )
    return path


def chunked(body: bytes, extra: bytes = b"") -> bytes:
    half = len(body) // 2
    parts = [body[:half], body[half:]]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n" + extra


def extract_books(tmp_path: Path, *inputs: Path) -> dict:
    out = tmp_path / "ext"
    proc = subprocess.run([sys.executable, "-m", "jinglian.cli", "extract", *map(str, inputs), "--out", str(out),
                           "--workers", "1"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["balanced"]
    return stats["steps"][0]


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
def test_one_bad_record_costs_one_drop_and_the_reader_goes_on(tmp_path, gz):
    brotli = pytest.importorskip("brotli")
    records = [
        response("http://a.cn/1", html(1)),
        response("http://a.cn/br", brotli.compress(html(2)), [("Content-Encoding", "br")]),
        response("http://a.cn/chunked", chunked(html(3), extra=b"\r\n"), [("Transfer-Encoding", "chunked")]),
        response("http://a.cn/bad-br", b"not brotli at all" * 20, [("Content-Encoding", "br")]),
        response("http://a.cn/cut-gzip", gzip.compress(html(4) * 50)[:-300], [("Content-Encoding", "gzip")]),
        response("http://a.cn/5", html(5)),
    ]
    path = write_warc(tmp_path / ("x.warc.gz" if gz else "x.warc"), records, gz=gz)
    items = list(iter_warc(path, 1 << 20))
    pages = {i.url: i.body for i in items if isinstance(i, WarcPage)}
    assert pages == {"http://a.cn/1": html(1), "http://a.cn/br": html(2), "http://a.cn/chunked": html(3),
                     "http://a.cn/5": html(5)}  # fmt: skip
    damaged = [i.detail for i in items if isinstance(i, WarcDamage)]
    assert len(damaged) == 2 and "http://a.cn/bad-br" in damaged[0] and "http://a.cn/cut-gzip" in damaged[1]
    read = extract_books(tmp_path, path)
    assert (read["in"], read["kept"], read["dropped"]) == (6, 4, {"corrupt_warc": 2})


def test_revisit_and_zero_length_records_are_counted(tmp_path):
    def revisit(writer):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        return writer.create_revisit_record("http://a.cn/again", digest="sha1:AAAA", refers_to_uri="http://a.cn/1",
                                            refers_to_date="2024-01-01T00:00:00Z", http_headers=http)  # fmt: skip

    def zero_length(writer):
        return writer.create_warc_record("http://a.cn/nothing", "response", payload=io.BytesIO(b""), length=0)

    def dns(writer):
        return writer.create_warc_record("dns:a.cn", "response", payload=io.BytesIO(b"a.cn. 60 IN A 1.2.3.4"),
                                         warc_content_type="text/dns")  # fmt: skip

    path = write_warc(tmp_path / "x.warc.gz", [response("http://a.cn/1", html(1)), revisit, zero_length, dns])
    items = list(iter_warc(path, 1 << 20))
    assert [(i.url, i.record_type, i.body) for i in items] == [
        ("http://a.cn/1", "response", html(1)),
        ("http://a.cn/again", "revisit", b""),
        ("http://a.cn/nothing", "response", b""),
    ]  # the dns: record is not a page
    read = extract_books(tmp_path, path)
    assert (read["in"], read["kept"], read["dropped"]) == (3, 1, {"revisit": 1, "empty": 1})


def arc_record(url: str, body: bytes, date: str = "20240101000000") -> bytes:
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    return f"{url} 1.2.3.4 {date} text/html {len(block)}\n".encode() + block + b"\n"


def test_arc_files_are_read_like_arc_gz(tmp_path):
    """ARC v1 (the format before WARC), written by hand: plain and gzipped give the same pages."""
    desc = b"1 0 jinglian\nURL IP-address Archive-date Content-type Archive-length\n"
    header = f"filedesc://x.arc 0.0.0.0 20240101000000 text/plain {len(desc)}\n".encode() + desc + b"\n"
    records = [header, arc_record("http://a.cn/1", html(1)), arc_record("http://a.cn/2", html(2))]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.arc").write_bytes(b"".join(records))
    (folder / "y.arc.gz").write_bytes(b"".join(gzip.compress(r) for r in records))
    for name in ("x.arc", "y.arc.gz"):
        assert [(p.url, p.body) for p in iter_warc(folder / name, 1 << 20)] == [
            ("http://a.cn/1", html(1)),
            ("http://a.cn/2", html(2)),
        ], name
    read = extract_books(tmp_path, folder)  # a folder: .arc files are found too
    assert (read["in"], read["kept"]) == (4, 4)
