"""Web pages → documents with their main text: two datatrove steps, ``read_web`` and ``extract``.

Why our own reader instead of datatrove's ``WarcReader``: that one skips, without a trace, any
record that has no ``WARC-Identified-Payload-Type`` header and that libmagic does not call HTML
(13 of 35 real Chinese news pages in our planning run), and it decodes bytes as UTF-8 or a
cchardet guess, ignoring the HTTP charset. ``read_web`` counts every payload record it meets and
either passes it on as a document whose text is the decoded HTML, or drops it with a reason
(``not_html``, ``http_404``, ``too_large``, ``empty``, ``bad_encoding``, ``corrupt_warc``,
``malformed_json``, ...).
Decoding follows :mod:`jinglian.corpus.extract.charset` and is recorded in ``charset`` / ``charset_source``.

``extract`` then replaces the HTML with its main text, chosen per page among several extractors
(resiliparse, readability-lxml, trafilatura, and combinations) by
:mod:`jinglian.corpus.extract.page`; the winner and the scores go into ``metadata``. Quality and
speed against each single extractor: ``bench/extract.py``. A per-page time limit (SIGALRM, in the worker's main thread) and the reader's byte limit keep a pathological
page from hanging or crashing a run: it is dropped as ``timeout`` or ``too_large``.

Inputs: WARC / WARC.gz (ours or Common Crawl), WET (its text is kept as is), JSONL with an
``html`` field (and optional ``url``, ``id``, ``fetch_time``), and ``.html`` / ``.htm`` files.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import re
import signal
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from jinglian.corpus.crawl.warc import WARC_SUFFIXES, WarcDamage, iter_warc
from jinglian.corpus.extract.candidates import parse_page
from jinglian.corpus.extract.charset import decode_html
from jinglian.corpus.extract.page import candidates, choose, looks_like_forum
from jinglian.corpus.extract.select import PageSignals, Selector
from jinglian.corpus.readers import expand_inputs
from jinglian.corpus.stats import IN, KEPT, AccountedFilter, AccountedStep, Verdict

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
HTML_SUFFIXES = (".html", ".htm")
WEB_SUFFIXES = WARC_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES
DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # larger pages are dropped as too_large before decoding
DEFAULT_TIME_LIMIT = 10.0  # seconds of extraction per page (all candidates together)
# Keep the comments under an article (a thread's replies are always kept). Off: the dev sets' gold
# leaves them out, and keeping them lowered the mean F1 of the modern articles by 0.07, of the forum
# pages by 0.02 and of the GBK pages by 0.01 (python bench/extract.py --comments).
KEEP_COMMENTS = False
# A page whose bytes are more than 1% invalid in the best charset found is binary or mangled; a
# handful of bad bytes (one of the 23 GBK dev pages has some) is decoded with U+FFFD and kept.
MAX_BAD_BYTES = 0.01
REJECT_PREVIEW = 4000  # characters of a rejected page kept in rejected/ (enough to see why)
HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_web_archive(path: str) -> bool:
    """True for inputs only ``read_web`` understands (WARC, WET, ``.html``); JSONL is ambiguous
    (documents with ``text`` or pages with ``html``), so the caller decides for it."""
    return path.lower().endswith(WARC_SUFFIXES + HTML_SUFFIXES)


def expand_web_inputs(paths: list[str]) -> list[str]:
    """Input files in a stable order; folders are searched recursively for WARC/WET/JSONL/HTML."""
    return expand_inputs(paths, WEB_SUFFIXES)


def _reject(doc_id: str, text: str, **metadata) -> Document:
    return Document(
        text=text[:REJECT_PREVIEW], id=doc_id, metadata={k: v for k, v in metadata.items() if v is not None}
    )


class WebPageReader(AccountedStep):
    """Reads pages; ``in`` counts payload records (or JSONL lines, or HTML files) met."""

    name = "read_web"

    def __init__(self, files: list[str], max_bytes: int = DEFAULT_MAX_BYTES, rejects_dir: str | None = None):
        super().__init__(rejects_dir)
        self.files, self.max_bytes = files, max_bytes

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        with self.rejects() as rejects:
            for path in self.files[rank::world_size]:
                for item in self._pages(path):
                    self.stat_update(IN)
                    doc, verdict = item
                    if verdict is None:
                        self.stat_update(KEPT)
                        self.update_doc_stats(doc)
                        yield doc
                    else:
                        self.drop(doc, verdict, rank, rejects)

    def _pages(self, path: str) -> Iterator[tuple[Document, Verdict]]:
        name = path.lower()
        if name.endswith(WARC_SUFFIXES):
            yield from self._warc(path)
        elif name.endswith(HTML_SUFFIXES):
            body = Path(path).read_bytes()
            # a saved page has no URL or headers: id is the file, charset comes from the bytes
            yield self._page(
                path, None, None, None, None, body[: self.max_bytes], len(body) > self.max_bytes, path
            )
        else:
            yield from self._jsonl(path)

    def _page(
        self,
        doc_id: str,
        url: str | None,
        date: str | None,
        status: int | None,
        content_type: str | None,
        body: bytes,
        truncated: bool,
        source: str,
    ) -> tuple[Document, Verdict]:
        """Check and decode one fetched page; the verdict is None when it goes on to extraction."""
        meta = dict(
            url=url, fetch_time=date, http_status=status, content_type=content_type, source_file=source
        )
        if truncated:
            return _reject(doc_id, body[:REJECT_PREVIEW].decode("utf-8", "replace"), **meta), (
                "too_large",
                f">{self.max_bytes} bytes",
            )
        if status is not None and not 200 <= status < 300:
            return _reject(doc_id, "", **meta), f"http_{status}"
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime and mime not in HTML_TYPES:
            return _reject(doc_id, "", **meta), ("not_html", mime)
        if not body.strip():
            return _reject(doc_id, "", **meta), "empty"
        decoded = decode_html(body, content_type)
        meta.update(charset=decoded.charset, charset_source=decoded.source, charset_errors=decoded.errors)
        if decoded.errors > MAX_BAD_BYTES * len(body):
            return _reject(doc_id, decoded.text, **meta), ("bad_encoding", decoded.errors)
        return Document(
            text=decoded.text, id=doc_id, metadata={k: v for k, v in meta.items() if v is not None}
        ), None

    def _warc(self, path: str) -> Iterator[tuple[Document, Verdict]]:
        for item in iter_warc(path, self.max_bytes):
            if isinstance(item, WarcDamage):
                doc = _reject(f"{path}@{item.offset}", "", source_file=path, error=item.detail)
                yield doc, ("corrupt_warc", item.detail)
                continue
            if item.record_type == "revisit":  # its payload is an earlier record's: nothing new here
                yield _reject(item.record_id, "", url=item.url, source_file=path), "revisit"
                continue
            if item.record_type == "conversion":  # WET: text already extracted by Common Crawl
                meta = dict(
                    url=item.url, fetch_time=item.date, source_file=path, source_format="wet", charset="utf-8"
                )
                text = item.body.decode("utf-8", "replace")
                if item.truncated:
                    yield _reject(item.record_id, text, **meta), ("too_large", f">{self.max_bytes} bytes")
                elif not text.strip():
                    yield _reject(item.record_id, "", **meta), "empty"
                else:
                    yield Document(text=text, id=item.record_id, metadata=meta), None
                continue
            yield self._page(
                item.record_id,
                item.url,
                item.date,
                item.status,
                item.content_type,
                item.body,
                item.truncated,
                path,
            )

    def _jsonl(self, path: str) -> Iterator[tuple[Document, Verdict]]:
        opener = gzip.open if path.endswith(".gz") else open
        try:
            with opener(path, "rb") as f:
                for lineno, raw in enumerate(f, start=1):
                    if not raw.strip():
                        continue
                    doc_id = f"{path}:{lineno}"
                    try:
                        record = json.loads(raw)
                    except (json.JSONDecodeError, UnicodeDecodeError) as err:
                        yield (
                            _reject(doc_id, raw.decode("utf-8", "replace"), source_file=path),
                            ("malformed_json", str(err)[:200]),
                        )
                        continue
                    html = record.get("html") if isinstance(record, dict) else None
                    if not isinstance(html, str):
                        yield (
                            _reject(doc_id, raw.decode("utf-8", "replace"), source_file=path),
                            "missing_html",
                        )
                        continue
                    body = html.encode("utf-8")  # already text: decoding is a no-op, recorded as such
                    doc, verdict = self._page(
                        str(record.get("id") or doc_id),
                        record.get("url"),
                        record.get("fetch_time"),
                        None,
                        None,
                        body[: self.max_bytes],
                        len(body) > self.max_bytes,
                        path,
                    )
                    if verdict is None:
                        doc.metadata.update(charset="utf-8", charset_source="jsonl")
                    yield doc, verdict
        except (OSError, EOFError) as err:  # a truncated .gz
            yield _reject(f"{path}:end", "", source_file=path), ("corrupt_file", str(err)[:200])


class ExtractTimeout(BaseException):
    """A page took longer than the time limit in trafilatura.

    A ``BaseException`` (like ``KeyboardInterrupt``) on purpose: trafilatura and lxml wrap much
    of their work in ``except Exception``, which would swallow an ordinary exception raised by
    the alarm and let the slow page run on."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ExtractTimeout` after ``seconds``; a no-op outside the main thread (no SIGALRM)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise ExtractTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_DATE_META = (
    ".//head/meta[@property='article:published_time' or @name='pubdate' or @name='publishdate'"
    " or @name='PubDate' or @itemprop='datePublished' or @name='date' or @name='publish_time']/@content"
)
_DATE_TEXT = re.compile(r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def _plausible(year: str, month: str, day: str) -> str | None:
    y, m, d = int(year), int(month), int(day)
    if 1995 <= y <= datetime.now().year + 1 and 1 <= m <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return None


def find_page_date(tree, html: str) -> str | None:
    """Publication date: a date ``<meta>`` or ``<time datetime>``, else the first plausible
    ``2024-03-05`` / ``2024年3月5日`` in the body (Chinese pages print "发布时间：..." near the top)."""
    for value in tree.xpath(_DATE_META) + tree.xpath(".//time/@datetime"):
        if match := _DATE_TEXT.search(value):
            if date := _plausible(*match.groups()):
                return date
    body = html.find("<body")
    for match in _DATE_TEXT.finditer(html, max(body, 0), max(body, 0) + 200_000):
        if date := _plausible(*match.groups()):
            return date
    return None


def page_metadata(tree, html: str) -> dict[str, str]:
    """Title, author, site name and date, the cheap way.

    trafilatura's ``with_metadata=True`` costs about a third of the extraction time here (its
    author and title XPath sweeps and htmldate's date search); reading the ``<meta>`` /
    OpenGraph tags, ``<title>`` or the single ``<h1>``, and :func:`find_page_date` finds the
    same fields on ordinary article pages for a tenth of that (``bench/extract.py``).
    """
    from trafilatura.metadata import examine_meta

    meta = examine_meta(tree)
    h1 = tree.findall(".//h1")
    title = (
        meta.title
        or (h1[0].text_content().strip() if len(h1) == 1 else None)
        or (tree.findtext(".//head/title") or "").strip()
    )
    found = {
        "title": title,
        "author": meta.author,
        "sitename": meta.sitename,
        "date": find_page_date(tree, html),
    }
    return {k: v for k, v in found.items() if v}


@functools.cache
def default_selector() -> Selector:
    """The shipped selector weights (``selector.json``), read once per process."""
    return Selector.load()


def extract_main_text(
    html: str,
    url: str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT,
    comments: bool = KEEP_COMMENTS,
) -> tuple[str, dict] | None:
    """Main text and metadata of a decoded page (see :mod:`jinglian.corpus.extract.page`); None if no text.

    The metadata says which candidate won (``extractor``: ``readability``,
    ``readability+confirmed``, ``trafilatura``, ``resiliparse``, ``posts``, ``<name>+posts`` for a
    text with the posts it lacked added, ``<name> (fallback)`` where the never-empty rule chose),
    the selector score of every candidate it scored (``extract_scores``: name -> float) and the page
    kind (``page_kind``: ``article``, ``forum`` or ``list``), beside title, author, site and date.
    ``comments``: keep the comments under an article (a thread's replies are always kept).
    """
    with time_limit(time_limit_s):
        html, tree = parse_page(html)
        if tree is None:
            return None
        metadata = page_metadata(tree, html)
        signals = PageSignals.from_tree(tree, metadata.get("title", ""))
        texts, thread = candidates(html, url, tree, frozenset(signals.link_texts))
        forum = looks_like_forum(html, url) or bool(thread and thread.floors)
        result = choose(texts, signals, default_selector(), forum, comments, thread)
    if result is None:
        return None
    metadata.update(extractor=result.extractor, extract_scores=result.scores, page_kind=result.page_kind)
    return result.text, metadata


class MainTextExtractor(AccountedFilter):
    """Replaces a page's HTML with its main text; drops ``no_text``, ``timeout``, ``extract_error``."""

    name = "extract"

    def __init__(
        self,
        time_limit_s: float = DEFAULT_TIME_LIMIT,
        rejects_dir: str | None = None,
        comments: bool = KEEP_COMMENTS,
    ):
        super().__init__(rejects_dir)
        self.time_limit_s, self.comments = time_limit_s, comments

    def check(self, doc: Document) -> Verdict:
        if doc.metadata.get("source_format") == "wet":
            return None
        try:
            result = extract_main_text(doc.text, doc.metadata.get("url"), self.time_limit_s, self.comments)
        except ExtractTimeout:
            doc.text = doc.text[:REJECT_PREVIEW]
            return "timeout", self.time_limit_s
        except (RecursionError, MemoryError, ValueError, TypeError) as err:
            doc.text = doc.text[:REJECT_PREVIEW]
            return "extract_error", f"{type(err).__name__}: {err}"[:200]
        if result is None:
            doc.text = doc.text[:REJECT_PREVIEW]
            return "no_text"
        doc.text, metadata = result
        doc.metadata.update(metadata)
        return None


def extract_steps(
    files: list[str],
    rejects_dir: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_limit_s: float = DEFAULT_TIME_LIMIT,
    comments: bool = KEEP_COMMENTS,
) -> list[PipelineStep]:
    """The steps that turn web inputs into documents; ``curate`` puts the Normalizer and the rest after them."""
    return [
        WebPageReader(files, max_bytes=max_bytes, rejects_dir=rejects_dir),
        MainTextExtractor(time_limit_s=time_limit_s, rejects_dir=rejects_dir, comments=comments),
    ]
