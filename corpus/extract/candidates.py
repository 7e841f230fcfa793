"""Candidate main texts of one decoded page, from several extractors, cheapest first.

Each candidate is a function ``(html, url) -> text`` ("" when it finds nothing). Costs on the 41
dev pages of ``../shared/data/extraction`` (one core, CPU time per page, shared machine):
resiliparse ``extract_plain_text(main_content=True)`` 1.6 ms, readability (trafilatura's port of
readability-lxml) 4 ms,
trafilatura ``favor_precision`` without its fallbacks (``fast=True``) 11 ms; trafilatura's full
``favor_precision`` (19 ms) runs readability and jusText itself as fallbacks, which we already
have as candidates of their own, so the fast mode is the one used here.

Two candidates are built from the others or for one kind of page:

- ``readability+confirmed`` (built in :mod:`jinglian.corpus.extract.page`): readability's text
  (precise, sometimes a fragment) widened by the prose lines of resiliparse's text (high recall,
  with menus) that readability left out and trafilatura confirms (:func:`widen`); a line counts as
  prose with :data:`PROSE_MIN_HAN` Hanzi and :data:`PROSE_MIN_PUNCT` Chinese punctuation marks,
  which menus and breadcrumbs never have, and it must not be the text of a link (related-article
  headlines have both).
- ``posts``: the posts of a thread, reply list or comment list, without their chrome
  (:mod:`jinglian.corpus.extract.posts`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ZH_PUNCT = re.compile(r"[，。！？；：、“”「」（）《》]")
PROSE_MIN_HAN = 20  # Hanzi in a line of resiliparse's text before it may be added to readability's
PROSE_MIN_PUNCT = 2  # Chinese punctuation marks in such a line (a sentence, not a menu)
PROSE_MIN_HAN_SHARE = 0.6  # of its non-space characters: citations and table rows are mostly digits/ASCII
COVERED = 0.5  # share of a line's character bigrams already in the base text: the line is there
POST_MIN_HAN = 15  # Hanzi of a block before it counts as a post
POST_MAX_LINK_SHARE = 0.3  # share of a post's characters inside <a>; link lists score near 1
_BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "dd", "dt"}
_DIGITS = re.compile(r"\d+")


def squash(text: str) -> str:
    return "".join(text.split())


@functools.lru_cache(maxsize=4096)
def bigram_set(text: str) -> frozenset[str]:
    """Character bigrams of a text, whitespace removed; cached: a page's texts and lines are
    compared several times (agreement, widening, features)."""
    text = squash(text)
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


_DOC_START = re.compile(r"<!doctype\b|<html[\s>]", re.I)
MAX_PREFIX = 200_000  # characters before the document start that are looked at
# markup that holds no text: its opening and what closes it (plain tags close at ">")
_NO_TEXT = (("<script", "</script>"), ("<style", "</style>"), ("<!--", "-->"), ("<", ">"))


def _only_markup(prefix: str) -> bool:
    """True when ``prefix`` is scripts, styles, comments, tags and whitespace only. A scan with
    ``str.find`` (linear: every step moves past what it found; an unclosed block ends it)."""
    low, pos = prefix.lower(), 0
    while pos < len(low):
        lt = low.find("<", pos)
        if low[pos : lt if lt >= 0 else len(low)].strip():
            return False
        if lt < 0:
            return True
        closer = next(close for opener, close in _NO_TEXT if low.startswith(opener, lt))
        end = low.find(closer, lt + 1)
        if end < 0:
            return False
        pos = end + len(closer)
    return True


def document_start(html: str) -> str:
    """The page from its ``<!DOCTYPE>`` or ``<html>`` on, when what comes before holds no text.

    Old portals print a ``<script>`` block (or a comment) before ``<!DOCTYPE>``; that is how the
    page sits in a WARC too. libxml2 then opens ``<head>`` for the script and puts the whole page
    inside it, and trafilatura's ``load_html`` rejects the tree: the page came out with no text
    although every extractor finds its article once the prefix is gone.
    """
    start = _DOC_START.search(html, 0, MAX_PREFIX)
    if start is None or start.start() == 0:
        return html
    if not _only_markup(html[: start.start()]):
        return html  # text before the document: keep it, let the parser place it
    return html[start.start() :]


def parse_page(html: str) -> tuple[str, object]:
    """The page (from its document start, :func:`document_start`) and its lxml tree (None if none:
    an empty page)."""
    from trafilatura.utils import load_html

    html = document_start(html)
    tree = load_html(html)
    if tree is None and html.strip():
        # trafilatura rejects what does not look like a document (no "html" in its first bytes and
        # one block): bare text or a fragment served as a page still has its text
        html = f"<html><body>{html}</body></html>"
        tree = load_html(html)
    return html, tree


def resiliparse_text(html: str, url: str | None = None) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(html), main_content=True)


def element_text(element) -> str:
    """Text of an lxml element with a line break after every block element."""
    for el in element.iter(*_BLOCK_TAGS):
        el.tail = "\n" + el.tail if el.tail else "\n"
    return re.sub(r"\n\s*\n+", "\n", element.text_content()).strip()


def readability_text(html: str, url: str | None = None, tree=None) -> str:
    """readability's main block, with trafilatura's port of readability-lxml.

    Same algorithm and, on the 41 dev pages, the same F1 as readability-lxml 0.9 (0.977 / 0.973)
    at 5.4 ms a page instead of 13.5: it takes our parsed tree and skips lxml's Cleaner and the
    link rewriting. ``tree`` is changed in place; pass a copy.
    """
    import lxml.html
    from trafilatura.readability_lxml import Document
    from trafilatura.utils import load_html

    tree = load_html(html) if tree is None else tree
    if tree is None:
        return ""
    summary = Document(tree).summary()
    return element_text(lxml.html.fromstring(summary)) if summary.strip() else ""


def trafilatura_text(html: str, url: str | None = None) -> str:
    from trafilatura import extract

    return (
        extract(html, url=url, fast=True, favor_precision=True, include_comments=False, include_tables=True)
        or ""
    )


def is_prose(line: str) -> bool:
    """A Chinese sentence: enough Hanzi and punctuation, mostly Hanzi (not a reference or a table row)."""
    han = len(HAN.findall(line))
    return (
        han >= PROSE_MIN_HAN
        and len(ZH_PUNCT.findall(line)) >= PROSE_MIN_PUNCT
        and han >= PROSE_MIN_HAN_SHARE * len(squash(line))
    )


def widen(base: str, wider: str, witness: str | None = None, links: frozenset[str] = frozenset()) -> str:
    """``wider``'s lines that ``base`` already has, plus its prose lines that ``base`` lacks and
    that are not the text of a link (``links``: squashed link texts of the page).

    With a ``witness`` (a third extractor's text), a missing prose line is added only if the
    witness has it too: two extractors that both keep a paragraph readability dropped are
    usually right (a fragment), one alone usually is not (related articles, comments).
    """
    covered, kept = bigram_set(base), []
    confirmed = bigram_set(witness) if witness is not None else None
    for line in wider.splitlines():
        grams = bigram_set(line)
        if not grams:
            continue
        if len(grams & covered) >= COVERED * len(grams):
            kept.append(line.strip())
        elif (
            is_prose(line)
            and squash(line) not in links
            and (confirmed is None or len(grams & confirmed) >= COVERED * len(grams))
        ):
            kept.append(line.strip())
    return "\n".join(kept)


# Candidate name -> extractor, in the order the cascade runs them (cheap first).
EXTRACTORS: dict[str, Callable[[str, str | None], str]] = {
    "resiliparse": resiliparse_text,
    "readability": readability_text,
    "trafilatura": trafilatura_text,
}
