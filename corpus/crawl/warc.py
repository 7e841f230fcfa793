"""WARC files: writing what the crawler fetched, and reading any WARC without losing records silently.

Writing: one gzip member per record (warcio's default), a ``request`` and a ``response`` record
per page, plus ``WARC-Identified-Payload-Type`` so datatrove's ``WarcReader`` (which skips records
without it unless libmagic says HTML) reads every page. The body stored is the one the server
sent after transfer/content decoding, so the ``Content-Encoding`` / ``Transfer-Encoding`` /
``Content-Length`` headers are rewritten to match it.

Reading (:func:`iter_warc`): yields every payload record, and a :class:`WarcDamage` in place of
the rest of a file that is truncated or corrupt, so the caller can count it instead of crashing
or stopping without a word (warcio on its own ends silently at a truncated gzip member, and
returns a short body for a truncated uncompressed record).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc.gz", ".wet", ".wet.gz", ".warc.wet.gz")
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass
class WarcPage:
    """One response (or WET conversion) record: the payload and the headers that matter."""

    record_id: str
    record_type: str  # response | resource | conversion
    url: str
    date: str | None
    status: int | None
    content_type: str | None
    body: bytes
    truncated: bool  # the payload was longer than the read limit


@dataclass
class WarcDamage:
    """The rest of a WARC file could not be read (truncated gzip member, garbage, bad header)."""

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
                kind = record.rec_type
                if kind not in ("response", "resource", "conversion"):
                    continue
                http = record.http_headers if kind == "response" else None
                if kind == "response" and http is None:  # a response record that is not HTTP (dns:, ...)
                    continue
                body = record.content_stream().read(max_bytes + 1)
                if len(body) <= max_bytes and getattr(record.raw_stream, "limit", 0) > 0:
                    # fewer bytes than the record's Content-Length: the file ends inside it
                    yield WarcDamage(offset, f"record at offset {offset} is cut short (file truncated)")
                    return
                content_type = (
                    http.get_header("Content-Type")
                    if http is not None
                    else record.rec_headers.get_header("Content-Type")
                )
                yield WarcPage(
                    record_id=record.rec_headers.get_header("WARC-Record-ID") or f"{path}@{offset}",
                    record_type=kind,
                    url=record.rec_headers.get_header("WARC-Target-URI") or "",
                    date=record.rec_headers.get_header("WARC-Date"),
                    status=int(http.get_statuscode())
                    if http is not None and http.get_statuscode().isdigit()
                    else None,
                    content_type=content_type,
                    body=body[:max_bytes],
                    truncated=len(body) > max_bytes,
                )
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


def _warc_date(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class CrawlWarcWriter:
    """Appends request/response record pairs to ``folder/<prefix>-<n>.warc.gz``, one file per run.

    A new file per run (rather than appending) means a crawl killed mid-record leaves at most one
    damaged tail in one file, and ``--resume`` never writes after it.
    """

    def __init__(self, folder: str | Path, prefix: str = "crawl"):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        n = 0
        while (folder / f"{prefix}-{n:05d}.warc.gz").exists():
            n += 1
        self.path = folder / f"{prefix}-{n:05d}.warc.gz"
        self._file = open(self.path, "wb")
        self._writer = WARCWriter(self._file, gzip=True)
        info = self._writer.create_warcinfo_record(
            self.path.name, {"software": "jinglian crawl (scrapy, warcio)", "format": "WARC File Format 1.1"}
        )
        self._writer.write_record(info)
        self._file.flush()

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
        """Write one page (request + response record) and flush it to disk before returning."""
        date = _warc_date()
        headers = [(k, v) for k, v in response_headers if k.lower() not in _DROP_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        http = StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol="HTTP/1.1")
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        warc_headers = {"WARC-Date": date}
        if content_type:
            warc_headers["WARC-Identified-Payload-Type"] = content_type.split(";")[0].strip().lower()
        if ip:
            warc_headers["WARC-IP-Address"] = ip
        response = self._writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=warc_headers
        )
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        req_http = StatusAndHeaders(f"{method} /{path} HTTP/1.1", request_headers, is_http_request=True)
        request = self._writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=req_http,
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers["WARC-Record-ID"],
            },
        )
        self._writer.write_record(request)
        self._writer.write_record(response)
        self._file.flush()  # a SIGKILL after this line loses nothing (the OS has the bytes)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
