"""Decode a web page's bytes to text the way a careful browser would, with Chinese pages in mind.

Why not let trafilatura (or datatrove's WarcReader) guess: they try UTF-8 and then a detector, and
ignore the HTTP ``Content-Type`` header; old GB2312 pages then come out garbled or empty. Order of
evidence here:

1. a byte-order mark (``bom``): it is unambiguous;
2. the HTTP ``Content-Type`` charset (``http``);
3. ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` / ``<?xml encoding>`` in the first
   8 KB (``meta``);
4. detection with cchardet (``detected``), checked against GB18030 and Big5: the decoding whose
   non-ASCII letters are most often among the commonest Hanzi wins (:func:`frequent_han_share`).

Declared charsets are *checked*, not trusted: servers often send a default (``ISO-8859-1``,
``UTF-8``) whatever the bytes are. Non-ASCII bytes that decode as UTF-8 without a single error are
UTF-8 (a GBK text of any length almost never does that by accident), and a declaration whose
decoding produces more than :data:`MAX_ERROR_RATE` invalid sequences is overruled by detection.
``charset_source`` then says ``utf-8-valid (declared X)`` or ``detected (declared X)``.

Legacy Chinese charsets are widened to their supersets: GB2312 / GBK / CP936 → GB18030 (GBK pages
use characters outside GB2312 all the time, and GB18030 decodes every GBK byte sequence the same),
Big5 → Big5-HKSCS, with the cp950 (Windows) extras such as ``0x80`` = € filled in by an error
handler rather than counted as errors. HZ-GB-2312 (7-bit ``~{...~}``, old Usenet and mail-era
pages) looks like ASCII and is decoded with Python's ``hz`` codec. Bytes that are still invalid
become U+FFFD; ``charset_errors`` counts them.

Compared with ``w3lib.encoding.html_to_unicode`` (scrapy's): it reads the same declarations and
widens the same labels (its ``<meta>`` parser backs up ours for the forms our pattern misses); but it
keeps a declaration whatever the bytes say and falls back to UTF-8 with replacement, which garbles
an undeclared GBK page, and it leaves HZ undecoded (tests/test_charset.py has each case).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import cchardet
from w3lib.encoding import html_body_declared_encoding

# Superset for each legacy charset Chinese pages declare.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "hz",
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
MIN_ERRORS_ALLOWED = 1  # on a short page one odd byte is not above the rate: a declaration survives it
# A decoding is taken for Chinese when at least this share of its non-ASCII letters are among the
# commonest Hanzi (FREQUENT_HAN). On the 41 dev pages of ../shared/data/extraction the right
# decoding scores 0.20-0.48, the same bytes read as Big5 / GB18030 (the wrong one) or EUC-KR < 0.03.
MIN_FREQUENT_HAN = 0.1
CHINESE_CODECS = ("gb18030", "big5hkscs")
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
    if match:
        return match.group(1).decode("ascii", "ignore")
    return html_body_declared_encoding(head)  # w3lib: the forms our two patterns miss


def _cp950_extras(err: UnicodeDecodeError) -> tuple[str, int]:
    """Error handler for Big5: Windows cp950 pairs and its single ``0x80`` euro sign."""
    data, start = err.object, err.start
    if data[start] == 0x80:
        return "\u20ac", start + 1
    try:
        return bytes(data[start : start + 2]).decode("cp950"), start + 2
    except UnicodeDecodeError:
        return "\ufffd", start + 1


codecs.register_error("jinglian-cp950", _cp950_extras)


def _decode_counting(body: bytes, codec: str) -> tuple[str, int]:
    text = body.decode(codec, errors="jinglian-cp950" if codec == "big5hkscs" else "replace")
    # U+FFFD already present in valid input would be counted too; that is rare and harmless.
    return text, text.count("\ufffd")


# The 120 commonest Hanzi of running text (simplified, then the traditional forms that differ):
# together about 40% of the Hanzi of ordinary Chinese prose, about 3% of a random sample of GB2312
# characters, which is what Big5 or EUC-KR bytes read as GB18030 look like.
FREQUENT_HAN = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过"
    "发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本"
    "前开但因只从想实日新闻网月"
    "這個們來為國說時會對過發後裡麼學現當沒動還進樣開實從與聞網"
)


def frequent_han_share(text: str, sample: int = 3000) -> float:
    """Share of the first ``sample`` non-ASCII letters of ``text`` that are in :data:`FREQUENT_HAN`."""
    letters = [c for c in text if ord(c) > 0x7F and c.isalpha()][:sample]
    return sum(c in FREQUENT_HAN for c in letters) / len(letters) if letters else 0.0


def _looks_hz(body: bytes) -> bool:
    return b"~{" in body and "~}" in body.decode("ascii", "replace")


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
    declared_label, source = http_charset(content_type), "http"
    declared = normalize_charset(declared_label)
    if declared is None:
        declared_label, source = meta_charset(body), "meta"
        declared = normalize_charset(declared_label)

    if body.isascii():
        if _looks_hz(body):
            text, errors = _decode_counting(body, "hz")
            if not errors and frequent_han_share(text) >= MIN_FREQUENT_HAN:
                return Decoded(text, "hz", source if declared == "hz" else "detected", errors)
        return Decoded(body.decode("ascii"), "ascii", "ascii")

    if _is_valid_utf8(body):
        if declared in (None, "utf-8"):
            return Decoded(body.decode("utf-8"), "utf-8", source if declared else "utf-8-valid")
        return Decoded(body.decode("utf-8"), "utf-8", f"utf-8-valid (declared {declared_label})")

    allowed = max(MIN_ERRORS_ALLOWED, MAX_ERROR_RATE * len(body))
    if declared and declared not in ("utf-8", "ascii", "hz"):
        text, errors = _decode_counting(body, declared)
        single_byte_overruled = declared in SINGLE_BYTE and detect(body) in MULTI_BYTE
        if errors <= allowed and not single_byte_overruled:
            return Decoded(text, declared, source, errors)

    label = f"detected (declared {declared_label})" if declared_label else "detected"
    text, codec, errors = _best_guess(body, allowed)
    return Decoded(text, codec, label, errors)


def _best_guess(body: bytes, allowed: float) -> tuple[str, str, int]:
    """(text, codec, errors) of the detector's guess, unless GB18030 or Big5 reads as Chinese.

    cchardet misnames short Chinese pages (a two-word GBK page comes back as windows-1251 or
    Big5), so both Chinese codecs are tried beside its guess; the one whose text is most often
    commonest Hanzi wins. A page that is Chinese in neither keeps the detector's guess.
    """
    guessed = detect(body)
    if guessed == "utf-8":  # the detector would pick UTF-8 but the bytes are not: try the usual suspect
        guessed = "gb18030"
    options = []
    for codec in dict.fromkeys((guessed, *CHINESE_CODECS)):
        text, errors = _decode_counting(body, codec)
        options.append((text, codec, errors))
    chinese = [
        (frequent_han_share(text), -errors, text, codec, errors)
        for text, codec, errors in options
        if codec in CHINESE_CODECS and errors <= allowed
    ]
    if chinese and max(chinese)[0] >= MIN_FREQUENT_HAN:
        _, _, text, codec, errors = max(chinese)
        return text, codec, errors
    return options[0]
