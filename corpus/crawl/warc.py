"""WARC files: writing what the crawler fetched, and reading any WARC without losing records silently.

Writing: one gzip member per record (warcio's default), a ``request`` and a ``response`` record
per page, plus ``WARC-Identified-Payload-Type`` so datatrove's ``WarcReader`` (which skips records
without it unless libmagic says HTML) reads every page. The body stored is the one the server
sent after transfer/content decoding, so the ``Content-Encoding`` / ``Transfer-Encoding`` /
``Content-Length`` headers are rewritten to match it. Header values are stored as the bytes the
server sent (warcio would percent-encode a non-ASCII value), and ``WARC-Target-URI`` has no
``#fragment`` (it never reaches the server).

Reading (:func:`iter_warc`): yields every payload record (``response``, ``resource``,
``conversion``, and ``revisit`` and zero-length HTTP responses with an empty body, so the caller
counts them too), and a :class:`WarcDamage` for what cannot be read: one record whose payload
cannot be decoded (bad compression, ...) costs that record only and the reading goes on; a file
that is truncated, or whose record headers are garbage, ends there (warcio on its own ends
silently at a truncated gzip member, and returns a short body for a truncated uncompressed
record). Payloads are content-decoded here, strictly (gzip, deflate, br): warcio 1.8 cannot
decode br with brotli >= 1.1, and on a stream that breaks off it returns a short body with only a
line on stderr.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wet", ".wet.gz", ".warc.wet.gz")
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
PAYLOAD_RECORDS = ("response", "resource", "conversion", "revisit")


@dataclass
class WarcPage:
    """One response (or WET conversion) record: the payload and the headers that matter."""

    record_id: str
    record_type: str  # response | resource | conversion | revisit (payload stored elsewhere: empty body)
    url: str
    date: str | None
    status: int | None
    content_type: str | None
    body: bytes
    truncated: bool  # the payload was longer than the read limit


@dataclass
class WarcDamage:
    """A record, or the rest of a WARC file, could not be read (undecodable payload; truncated
    gzip member, garbage, bad header)."""

    offset: int
    detail: str


def iter_warc(path: str | Path, max_bytes: int) -> Iterator[WarcPage | WarcDamage]:
    """Payload records of a WARC/WET file; request, warcinfo and metadata records are not pages.

    Payloads are read up to ``max_bytes + 1`` bytes, so a 50 MB page is flagged ``truncated``
    without holding it in memory.
    """
    size = os.path.getsize(path)
    if size == 0:
        yield WarcDamage(0, "empty file")
        return
    with open(path, "rb") as stream:
        offset = 0
        try:
            iterator = ArchiveIterator(stream, arc2warc=True)
            for record in iterator:
                offset = iterator.offset
                if record.rec_type not in PAYLOAD_RECORDS:
                    continue
                try:
                    item = _read_record(record, path, offset, max_bytes)
                except _FileCut:
                    yield WarcDamage(offset, f"record at offset {offset} is cut short (file truncated)")
                    return
                except Exception as err:  # this record's payload only (bad compression, ...): go on
                    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                    item = WarcDamage(
                        offset, f"record at offset {offset} ({uri}): {type(err).__name__}: {err}"
                    )
                if item is not None:
                    yield item
        except Exception as err:  # warcio raises ArchiveLoadFailed, EOFError, zlib and value errors
            yield WarcDamage(offset, f"{type(err).__name__}: {err}".strip()[:300])
            return
        # warcio ends quietly at a truncated gzip member, dropping that record: the last member it
        # read must end where the file ends.
        if (
            str(path).endswith(".gz")
            and iterator.member_info is not None
            and sum(iterator.member_info) < size
        ):
            end = sum(iterator.member_info)
            yield WarcDamage(
                end,
                f"{size - end} bytes after offset {end} are not a readable record (truncated gzip member)",
            )


def _payload(record, http, max_bytes: int) -> bytes:
    """The payload, de-chunked and content-decoded, at most ``max_bytes + 1`` bytes. Raises when
    the content coding cannot be decoded to its end (the caller drops that record only)."""
    stream = record.raw_stream
    if http is not None and (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
        stream = ChunkedDataReader(stream)  # lenient: a body stored de-chunked is read as it is
    data = stream.read(max_bytes + 1)
    coding = (http.get_header("Content-Encoding") or "").strip().lower() if http is not None else ""
    if coding in ("", "identity") or len(data) > max_bytes:
        return data  # an oversized compressed payload is too large decoded too: not inflated
    if coding in ("gzip", "x-gzip") and data[:2] != b"\x1f\x8b":
        return data  # stored decoded under its original header (some crawlers do)
    if coding in ("gzip", "x-gzip", "deflate"):
        wbits = (
            16 + zlib.MAX_WBITS
            if coding != "deflate"
            else (zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS)
        )
        inflater = zlib.decompressobj(wbits)
        body = inflater.decompress(data, max_bytes + 1)
        if not inflater.eof and len(body) <= max_bytes:
            raise ValueError(f"{coding} payload breaks off before its end")
        return body
    if coding == "br":
        import brotli  # brotli is what scrapy decodes br with; absent, br records are dropped

        decoder = brotli.Decompressor()
        body = decoder.process(data, output_buffer_limit=max_bytes + 1)
        if not decoder.is_finished() and len(body) <= max_bytes:
            raise ValueError("br payload breaks off before its end")
        return body
    return data  # an unknown coding ("none", "utf-8" and such are sent): the bytes as they are


class _FileCut(Exception):
    """The file ends inside a record."""


def _read_record(record, path, offset: int, max_bytes: int) -> WarcPage | None:
    """One payload record as a page; None for a response that is not HTTP (``dns:``, ...)."""
    kind = record.rec_type
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    http = record.http_headers if kind in ("response", "revisit") else None
    if kind == "response" and http is None and not (record.length == 0 and url.startswith("http")):
        return None  # a response record that is not HTTP (dns:, ...); a zero-length one is a page
    if kind == "revisit":
        body = b""  # the payload is an earlier record's: nothing to read here
    else:
        body = _payload(record, http, max_bytes)
    if len(body) <= max_bytes:
        raw = record.raw_stream
        while raw.read(1 << 16):  # bytes after the decoded payload (a stray CRLF): not an error
            pass
        if getattr(raw, "limit", 0) > 0:  # fewer bytes than the record's Content-Length
            raise _FileCut
    if http is not None:
        content_type = http.get_header("Content-Type")
    elif kind == "response":
        content_type = None  # zero-length: no HTTP message at all
    else:
        content_type = record.rec_headers.get_header("Content-Type")
    status = http.get_statuscode() if http is not None else ""
    return WarcPage(
        record_id=record.rec_headers.get_header("WARC-Record-ID") or f"{path}@{offset}",
        record_type=kind,
        url=url,
        date=record.rec_headers.get_header("WARC-Date"),
        status=int(status) if status.isdigit() else None,
        content_type=content_type,
        body=body[:max_bytes],
        truncated=len(body) > max_bytes,
    )


class _ReceivedHeaders(StatusAndHeaders):
    """HTTP headers written as the bytes received: values arrive as latin-1 strings (one char per
    byte), and warcio's own writer would percent-encode every non-ASCII one (raw UTF-8 header
    bytes came out as ``%C3%A4%C2%B8...``)."""

    def compute_headers_buffer(self, header_filter=None):
        self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"


def _warc_date(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class CrawlWarcWriter:
    """Appends request/response record pairs to ``folder/<prefix>-<n>.warc.gz``, one file per run.

    A new file per run (rather than appending) means a crawl killed mid-record leaves at most one
    damaged tail in one file, and ``--resume`` never writes after it. The file is created with the
    first page, so a run that fetches nothing (a resumed crawl that was finished) adds no file:
    a WARC list that grew by an empty file would be another input to the steps that read it.
    """

    def __init__(self, folder: str | Path, prefix: str = "crawl"):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        n = 0
        while (folder / f"{prefix}-{n:05d}.warc.gz").exists():
            n += 1
        self.path = folder / f"{prefix}-{n:05d}.warc.gz"
        self._file = None

    def _open(self) -> WARCWriter:
        if self._file is None:
            self._file = open(self.path, "wb")
            self._writer = WARCWriter(self._file, gzip=True)
            info = self._writer.create_warcinfo_record(
                self.path.name, {"software": "jinglian crawl (scrapy, warcio)", "format": "WARC File Format 1.1"}
            )
            self._writer.write_record(info)
        return self._writer

    def write(
        self,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        ip: str | None = None,
    ) -> None:
        """Write one page (request + response record) and flush it to disk before returning.
        Header names and values are latin-1 strings of the bytes on the wire."""
        url = url.split("#", 1)[0]  # the fragment is not part of what was requested
        writer = self._open()
        date = _warc_date()
        headers = [(k, v) for k, v in response_headers if k.lower() not in _DROP_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        http = _ReceivedHeaders(f"{status} {reason}".strip(), headers, protocol="HTTP/1.1")
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        warc_headers = {"WARC-Date": date}
        if content_type:
            warc_headers["WARC-Identified-Payload-Type"] = content_type.split(";")[0].strip().lower()
        if ip:
            warc_headers["WARC-IP-Address"] = ip
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=warc_headers
        )
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        req_http = _ReceivedHeaders(f"{method} /{path} HTTP/1.1", request_headers, is_http_request=True)
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=req_http,
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers["WARC-Record-ID"],
            },
        )
        writer.write_record(request)
        writer.write_record(response)
        self._file.flush()  # a SIGKILL after this line loses nothing (the OS has the bytes)

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
