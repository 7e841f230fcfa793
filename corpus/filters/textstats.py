"""Character-level statistics of Chinese text, shared by the heuristic and spam filters.

Chinese has no spaces between words, so nothing here splits on whitespace: lengths and ratios are
counted in characters (``chars`` = non-whitespace characters, ``han`` = Han characters), and the
Gopher repetition measures run on character n-grams of the text with whitespace and punctuation
removed. Words (jieba) are used only where a word is the natural unit (stopwords).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from importlib import resources

HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
DIGIT_RE = re.compile(r"\d")
WHITESPACE_RE = re.compile(r"\s+")
# What a sentence ends with: Chinese and ASCII terminal punctuation, closing quotes after them.
TERMINAL_PUNCTUATION = tuple("。！？!?…；;.”’」』")
# Characters that are neither letters, digits nor punctuation: category S* (math, currency,
# modifiers, other symbols incl. emoji) and the ASCII markup symbols web text leaks.
_MARKUP = set("#|*_~^<>=+@&%$\\/[]{}`")


# Latin-script documents (``lang`` other than zh, e.g. the English pages a bilingual profile
# keeps): the Han-character rules do not apply to them, Gopher's word rules do.
LATIN_WORD_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
# Gopher's stopwords (Rae et al. 2021, appendix A): real English prose has at least two of them.
EN_STOPWORDS = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))


def is_latin_doc(metadata: dict) -> bool:
    """True when language ID put the document in a language other than Chinese; a document
    without ``lang`` (no langid step) is judged as Chinese."""
    lang = metadata.get("lang")
    return lang is not None and lang not in ("zh", "unknown")


# A run of six or more Latin words (spaces and light punctuation between them): with one of
# Gopher's stopwords in it, an English sentence or phrase, not a brand, a code token or a URL.
# Linear by construction: a run starts only where a word starts, and words and gaps are possessive
# (backtracking into "aaaa..." from every position was quadratic).
_LATIN_RUN_RE = re.compile(
    r"(?<![A-Za-z'’-])[A-Za-z][A-Za-z'’-]*+(?:[\s,;:()\"“”‘’-]++[A-Za-z][A-Za-z'’-]*+){5,}"
)


def english_sentence_chars(text: str) -> int:
    """Non-whitespace characters of the text that sit in English sentences (runs of 6+ Latin
    words with a Gopher stopword): a bilingual page's English part, not its Latin junk."""
    total = 0
    for match in _LATIN_RUN_RE.finditer(text):
        run = match.group()
        if any(w.lower() in EN_STOPWORDS for w in LATIN_WORD_RE.findall(run)):
            total += len(WHITESPACE_RE.sub("", run))
    return total


def en_stopword_hits(text: str, max_chars: int = 5000) -> int:
    """Occurrences of Gopher's English stopwords among the words of the first ``max_chars``."""
    return sum(1 for w in LATIN_WORD_RE.findall(text[:max_chars]) if w.lower() in EN_STOPWORDS)


_NON_CONTENT_RE = re.compile(r"[\W_]+")


def content_chars(text: str) -> str:
    """Letters, digits and Han characters only: the string the repetition measures run on."""
    return _NON_CONTENT_RE.sub("", text)  # \w is isalnum() plus "_": the same set, in C


def non_empty_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def is_symbol(char: str) -> bool:
    return char in _MARKUP or unicodedata.category(char).startswith("S")


# One regex for "symbol": built once from the Unicode database (categories Sm, Sc, Sk, So) plus
# the markup characters, so counting runs in C instead of a Python loop per character. Planes 0-1
# hold every symbol (planes 2-3 are Han, the rest private use and unassigned).
def _symbol_class() -> str:
    ranges, start, prev = [], None, None
    for cp in range(0x20000):
        if is_symbol(chr(cp)):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )


@lru_cache(maxsize=1)
def symbol_re() -> re.Pattern:
    return re.compile(f"[{_symbol_class()}]")


def count_chars(stripped: str) -> dict[str, int]:
    """Counts of Han characters, digits and symbols in text already stripped of whitespace."""
    return {
        "han": len(HAN_RE.findall(stripped)),
        "rare_han_share": rare_han_share(HAN_RE.findall(stripped[:5000])),
        "digits": len(DIGIT_RE.findall(stripped)),
        "symbols": len(symbol_re().findall(stripped)),
    }


def duplicate_lines(lines: list[str]) -> tuple[float, float]:
    """(share of lines that repeat an earlier line, share of line characters in those lines)."""
    if not lines:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_lines = dup_chars = total_chars = 0
    for line in lines:
        total_chars += len(line)
        if line in seen:
            dup_lines += 1
            dup_chars += len(line)
        else:
            seen.add(line)
    return dup_lines / len(lines), (dup_chars / total_chars if total_chars else 0.0)


def top_ngram_fraction(chars: str, n: int) -> float:
    """Gopher's "top n-gram character fraction" on characters: the share of characters covered
    by the most frequent character n-gram (count × n / length)."""
    if n < 1:
        raise ValueError(f"n-gram size must be at least 1, not {n}")
    if len(chars) < n:
        return 0.0
    counts = Counter(chars[i : i + n] for i in range(len(chars) - n + 1))
    _, top = counts.most_common(1)[0]
    if top < 2:
        return 0.0
    return min(1.0, top * n / len(chars))


def duplicate_ngram_fraction(chars: str, n: int) -> float:
    """Gopher's "duplicate n-gram character fraction" on characters: the share of characters
    inside n-grams that already occurred (non-overlapping once counted, as Gopher does)."""
    if n < 1:
        raise ValueError(f"n-gram size must be at least 1, not {n}")
    if len(chars) < n:
        return 0.0
    seen: set[str] = set()
    repeated = i = 0
    while i <= len(chars) - n:
        gram = chars[i : i + n]
        if gram in seen:
            repeated += n
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated / len(chars)


def terminal_punct_share(lines: list[str]) -> float:
    """Share of lines that end like a sentence (。！？… and closing quotes)."""
    if not lines:
        return 0.0
    return sum(1 for line in lines if line.endswith(TERMINAL_PUNCTUATION)) / len(lines)


@lru_cache(maxsize=8)
def load_word_list(path: str | None = None, package_file: str | None = None) -> frozenset[str]:
    """A word list (one word per line, ``#`` comments and blank lines ignored, duplicates merged)."""
    if package_file:
        text = resources.files("jinglian.corpus.filters").joinpath("data", package_file).read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.lstrip().startswith("#"))


@lru_cache(maxsize=1)
def common_han() -> frozenset[str]:
    """The 3,755 level-1 characters of GB 2312 (the most used Han characters, as chosen for the
    standard), read from Python's own gb2312 codec: rows 16-55 of the code table."""
    chars = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes([lead, trail]).decode("gb2312"))
            except UnicodeDecodeError:  # the five unassigned cells at the end of row 55
                pass
    return frozenset(chars)


def rare_han_share(han_chars: list[str]) -> float:
    """Share of Han characters outside GB 2312 level 1. Random characters ≈ 0.8; simplified
    text ≤ 0.11 on shared/data/text; unconverted traditional text ≤ 0.45."""
    if not han_chars:
        return 0.0
    common = common_han()
    return (len(han_chars) - sum(map(common.__contains__, han_chars))) / len(han_chars)


@lru_cache(maxsize=8)
def _word_automaton(words: frozenset[str]):
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


def stopword_hits(text: str, stopwords: frozenset[str], max_chars: int = 3000) -> int:
    """Occurrences of stopwords in the first ``max_chars`` characters, found by Aho-Corasick on
    characters (no segmentation: 的 inside 目的 counts too, which a presence test can afford)."""
    if not stopwords:
        return 0
    return sum(1 for _ in _word_automaton(stopwords).iter(text[:max_chars]))


def jieba_words(text: str, max_chars: int = 1000) -> list[str]:
    """jieba words (dictionary only, no HMM guessing) of the first ``max_chars`` characters."""
    import jieba

    jieba.setLogLevel(60)  # jieba prints its dictionary-loading chatter at INFO
    return jieba.lcut(text[:max_chars], HMM=False)


def count_stopwords(words: list[str], stopwords: frozenset[str]) -> int:
    return sum(1 for word in words if word in stopwords)


def single_char_word_share(words: list[str]) -> float:
    """Share of Han words that are a single character. Random characters form no dictionary
    words (share ≈ 1.0); real Chinese text is 0.2-0.7 (0.86 at most on shared/data/text)."""
    han_words = [w for w in words if HAN_RE.match(w)]
    if not han_words:
        return 0.0
    return sum(1 for w in han_words if len(w) == 1) / len(han_words)


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def both_scripts(pattern: str) -> str:
    """A regex written in simplified characters, widened to match the traditional spelling too.

    ``curate`` converts traditional text before filtering, but a step used on its own (or on
    ``--no-t2s`` input) still meets 版權所有 and 註冊: OpenCC maps the pattern's Han characters.
    """
    traditional = _s2t().convert(pattern)
    return pattern if traditional == pattern else f"(?:{pattern})|(?:{traditional})"


def traditional_forms(term: str) -> set[str]:
    """The traditional spellings of a simplified term (OpenCC s2t), without the term itself."""
    return {_s2t().convert(term)} - {term}
