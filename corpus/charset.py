"""Decode a web page's bytes to text the way a careful browser would, with Chinese pages in mind.

Why not let trafilatura (or datatrove's WarcReader) guess: they try UTF-8 and then a detector, and
ignore the HTTP ``Content-Type`` header; old GB2312 pages then come out garbled or empty. Order of
evidence here:

1. a byte-order mark (``bom``): it is unambiguous;
2. the HTTP ``Content-Type`` charset (``http``);
3. ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` / ``<?xml encoding>`` in the first
   8 KB (``meta``);
4. detection with cchardet (``detected``).

Declared charsets are *checked*, not trusted: servers often send a default (``ISO-8859-1``,
``UTF-8``) whatever the bytes are. Non-ASCII bytes that decode as UTF-8 without a single error are
UTF-8 (a GBK text of any length almost never does that by accident), and a declaration whose
decoding produces more than :data:`MAX_ERROR_RATE` invalid sequences is overruled by detection.
``charset_source`` then says ``utf-8-valid (declared X)`` or ``detected (declared X)``.

Legacy Chinese charsets are widened to their supersets: GB2312 / GBK / CP936 → GB18030 (GBK pages
use characters outside GB2312 all the time, and GB18030 decodes every GBK byte sequence the same),
Big5 → Big5-HKSCS. Bytes that are still invalid become U+FFFD; ``charset_errors`` counts them.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import cchardet

# Superset for each legacy charset Chinese pages declare.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cp950": "big5hkscs",
    "x-x-big5": "big5hkscs",
    # WHATWG: a page labelled Latin-1 is decoded as windows-1252.
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
# A single-byte charset decodes any bytes without error, so a Latin label on a page whose bytes a
# detector reads as a CJK multi-byte charset is the usual server default, and is overruled.
SINGLE_BYTE = {"cp1252", "iso8859-1", "iso8859-15", "latin-1"}
MULTI_BYTE = {"gb18030", "big5hkscs", "euc_jp", "shift_jis", "cp932", "euc_kr", "cp949"}
MAX_ERROR_RATE = 0.002  # invalid sequences per byte above which a declared charset is judged wrong
META_WINDOW = 8192  # bytes searched for a <meta> declaration

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)", re.I)


@dataclass
class Decoded:
    text: str
    charset: str  # the Python codec actually used
    source: str  # bom | http | meta | utf-8-valid (declared X) | detected | detected (declared X) | fallback
    errors: int = 0  # bytes replaced by U+FFFD


def normalize_charset(label: str | None) -> str | None:
    """A codec name Python knows, widened to its superset; None for unknown labels."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return SUPERSETS.get(name, name)


def http_charset(content_type: str | None) -> str | None:
    """The charset label of an HTTP ``Content-Type`` header value, if any."""
    if not content_type:
        return None
    match = _HTTP_CHARSET.search(content_type)
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in its first bytes (``<meta>`` or ``<?xml encoding>``)."""
    head = body[:META_WINDOW]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii", "ignore") if match else None


def _decode_counting(body: bytes, codec: str) -> tuple[str, int]:
    text = body.decode(codec, errors="replace")
    # U+FFFD already present in valid input would be counted too; that is rare and harmless.
    return text, text.count("\ufffd")


def _is_valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect(body: bytes) -> str:
    """cchardet's guess, widened; UTF-8 when the detector has no opinion."""
    guess = cchardet.detect(body[:200_000]).get("encoding")
    return normalize_charset(guess) or "utf-8"


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode page bytes; the result says which codec was used and what decided it."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text, errors = _decode_counting(body[len(bom) :], codec)
            return Decoded(text, codec, "bom", errors)
    if body.isascii():
        return Decoded(body.decode("ascii"), "ascii", "ascii")

    declared_label, source = http_charset(content_type), "http"
    declared = normalize_charset(declared_label)
    if declared is None:
        declared_label, source = meta_charset(body), "meta"
        declared = normalize_charset(declared_label)

    if _is_valid_utf8(body):
        if declared in (None, "utf-8"):
            return Decoded(body.decode("utf-8"), "utf-8", source if declared else "utf-8-valid")
        return Decoded(body.decode("utf-8"), "utf-8", f"utf-8-valid (declared {declared_label})")

    if declared and declared not in ("utf-8", "ascii"):
        text, errors = _decode_counting(body, declared)
        single_byte_overruled = declared in SINGLE_BYTE and detect(body) in MULTI_BYTE
        if errors <= MAX_ERROR_RATE * len(body) and not single_byte_overruled:
            return Decoded(text, declared, source, errors)

    guessed = detect(body)
    if guessed == "utf-8":  # the detector would pick UTF-8 but the bytes are not: try the usual suspect
        guessed = "gb18030"
    text, errors = _decode_counting(body, guessed)
    label = f"detected (declared {declared_label})" if declared_label else "detected"
    return Decoded(text, guessed, label, errors)
