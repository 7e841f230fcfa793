"""URL signals of Chinese spam sites, where a document has a URL (``metadata["url"]``).

What it drops and why (profile section ``urls:``; statistics in metadata):

=========================  ==================================================  =====================
rule                       statistic and unit                                  threshold source
=========================  ==================================================  =====================
``max_url_spam_score``     weighted spam signals in the URL: a gambling/porn   measured: one host
                           word or brand pinyin in the host (2.0 each, e.g.    word drops, a numeric
                           ``yabo``, ``kaiyun``, ``bocai``, ``porn``), a        host alone does not
                           numeric host label such as ``48655b`` or
                           ``8441665`` (1.0), a spam word in the path (1.0)
``max_foreign_self_url``   1 when the text gives "its own" address (本文地址,     scraped-content sites
                           本文链接, 转载请注明出处 ...) on another site than    (issue 11): copied
                           the document's URL, else 0                          pages on hijacked hosts
``max_ut1_blocked``        1 when datatrove's ``URLFilter`` (the UT1 adult /   FineWeb: UT1 lists
                           gambling lists bundled with datatrove) blocks the
                           URL, else 0 (only with ``ut1: true``)
=========================  ==================================================  =====================

The UT1 lists and the public-suffix list both come with the installed packages: the step runs
with no network (tldextract is given no suffix-list URL, so it uses its bundled snapshot).
Documents without a URL get 0 for every statistic and are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from datatrove.data import Document

from jinglian.corpus.filters.rules import RuleFilter, RuleSpec

# Gambling / porn words and brand pinyin that spam sites put in their host names. Matched inside a
# host label (substring) when at least 4 letters long, as a whole label (or with digits) when shorter.
HOST_WORDS = (
    # gambling: generic pinyin and English
    "bocai", "duchang", "caipiao", "touzhu", "casino", "betting", "poker", "baccarat", "baijiale",
    "liuhecai", "shishicai", "lottery", "jackpot", "slots",
    # gambling brands that are not also ordinary words or company names (pinyin and Latin)
    "yabo", "kaiyun", "huatihui", "leyu", "milesport", "bet365", "188bet", "12bet", "10bet", "manbetx",
    "betway", "bwin", "sbobet", "xinpujing", "amxpj", "weinisiren", "taiyangcheng", "raybet",
    "leijingji", "ouboty", "ayxty", "letiantang", "jinbaobo",
    # porn
    "porn", "xxx", "hentai", "nude", "fuck", "milf", "seqing", "huangse",
)
# Short words count only as a whole label piece or glued to digits: "hth", "hth888", "365bet", "av99".
SHORT_HOST_WORDS = ("hth", "ayx", "av", "bet", "xpj", "hg", "js", "bob", "ky", "sex", "jav", "am")
PATH_WORDS = ("bocai", "caipiao", "duchang", "casino", "porn", "yabo", "kaiyun", "liuhecai", "baijiale")
_HOST_RE = re.compile("|".join(sorted(HOST_WORDS, key=len, reverse=True)))
# Letters that continue a pinyin syllable ending in this letter into a longer one: "leyu" is the
# start of "leyuan" (乐园), "huangse" of "huangsen". A word matched inside a label counts only when
# the label does not go on with its syllable (leyu88, leyutiyu count; happyleyuan does not).
_SYLLABLE_GOES_ON = {"a": "ino", "e": "inr", "i": "aenou", "o": "nu", "u": "aeino", "n": "g"}
_SHORT = "|".join(SHORT_HOST_WORDS)
_SHORT_RE = re.compile(rf"^(?:hth|ayx|xpj|sex|\d*(?:{_SHORT})\d+|\d+(?:{_SHORT})\d*)$")
_PATH_RE = re.compile(r"(?<![a-z])(?:" + "|".join(PATH_WORDS) + r")(?![a-z])")
_GENERIC_LABELS = {"www", "m", "wap", "mobile", "cn", "com", "net", "org", "gov", "edu"}
# "This article's address is ...": a page copied from another site keeps the other site's line.
# (原文链接 / 来源 name a source on purpose and are not self-references.)
_SELF_URL_RE = re.compile(
    r"(?:本文|本页|本帖|本篇|本文章)(?:访问|永久|完整)?(?:地址|链接|网址|url)|转载请(?:注明|保留)(?:出处|来源|本文链接|链接)?",
    re.I,
)
# Bounded and anchored where a host starts (labels of at most 63 characters): linear on any text.
_URL_HOST_RE = re.compile(r"(?<![a-z0-9.-])(?:https?://)?((?:[a-z0-9-]{1,63}+\.){1,8}[a-z]{2,24})", re.I)
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "co", "ac"}


def site(host: str) -> str:
    """The registered part of a host, roughly: ``news.qq.com`` → ``qq.com``, ``a.b.com.cn`` → ``b.com.cn``."""
    labels = host.lower().strip(".").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def foreign_self_url(text: str, url: str) -> int:
    """1 when the text names its own address (本文地址：URL) on another site than ``url``."""
    own = site(urlsplit(url if "//" in url else f"http://{url}").hostname or "")
    for match in _SELF_URL_RE.finditer(text):
        found = _URL_HOST_RE.search(text, match.end(), match.end() + 80)
        if found and found.start() - match.end() <= 12 and site(found.group(1)) != own:
            return 1
    return 0


def _numeric_label(label: str) -> bool:
    """A host label made mostly of digits, as spam site farms register them: 48655b, 8441665, x904."""
    digits = sum(c.isdigit() for c in label)
    return digits >= 3 and digits / len(label) >= 0.6 and not (digits == len(label) and len(label) <= 5)


def _syllable_goes_on(piece: str, match: re.Match) -> bool:
    """True when the letter after a host word extends the word's last pinyin syllable."""
    after = piece[match.end() : match.end() + 1]
    return bool(after) and after in _SYLLABLE_GOES_ON.get(match.group()[-1], "")


def url_signals(url: str) -> tuple[float, list[str]]:
    """(score, signals) of one URL: host words 2.0, a numeric host label 1.0, path words 1.0."""
    parts = urlsplit(url if "//" in url else f"http://{url}")
    host = (parts.hostname or "").lower()
    labels = [label for label in host.split(".")[:-1] if label not in _GENERIC_LABELS]
    score, signals = 0.0, []
    for label in labels:
        for piece in label.split("-"):
            word = next((m for m in _HOST_RE.finditer(piece) if not _syllable_goes_on(piece, m)), None)
            if word or _SHORT_RE.match(piece):
                score += 2.0
                signals.append(f"host:{word.group() if word else piece}")
    if any(_numeric_label(label) for label in labels):
        score += 1.0
        signals.append("host:numeric")
    path = (parts.path + "?" + parts.query).lower()
    if _PATH_RE.search(path):
        score += 1.0
        signals.append(f"path:{_PATH_RE.search(path).group()}")
    return score, signals


def offline_ut1_filter():
    """datatrove's ``URLFilter`` with its bundled UT1 lists and tldextract's bundled suffix list."""
    from datatrove.pipeline.filters import URLFilter
    from tldextract import TLDExtract

    url_filter = URLFilter()
    url_filter.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)  # no download
    return url_filter


class URLSignals(RuleFilter):
    """Datatrove step: the URL rules in the table above (profile section ``urls:``)."""

    name = "urls"
    RULES = {
        "max_url_spam_score": RuleSpec("weighted URL spam signals", "measured"),
        "max_foreign_self_url": RuleSpec("1 if the text's own address is on another site", "issue 11"),
        "max_ut1_blocked": RuleSpec("1 if UT1 blocks the URL", "FineWeb (datatrove URLFilter)"),
    }

    def __init__(
        self, rules: Mapping[str, float | int | None] | None = None, ut1: bool = False,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
        self.ut1 = bool(ut1)
        self._ut1_filter = None

    def statistics(self, doc: Document) -> Iterator[tuple]:
        url = str(doc.metadata.get("url") or "")
        score, signals = url_signals(url) if url else (0.0, [])
        doc.metadata["url_signals"] = ",".join(signals)
        yield "url_spam_score", score, bool(url)
        yield "foreign_self_url", foreign_self_url(doc.text, url) if url else 0, bool(url)
        if self.ut1:
            if self._ut1_filter is None:
                self._ut1_filter = offline_ut1_filter()
            verdict = self._ut1_filter.filter(doc) if url else True
            doc.metadata["ut1_reason"] = "" if verdict is True else verdict[1]
            yield "ut1_blocked", 0 if verdict is True else 1, bool(url)
