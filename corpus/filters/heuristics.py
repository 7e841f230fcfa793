"""Chinese text-quality heuristics: length, script, lines, repetition, stopwords, symbols, digits.

What it drops and why (each rule ``min_<stat>`` / ``max_<stat>``, statistic in ``metadata``):

=============================  ===========================================  ======================
rule                           statistic and unit                           threshold source
=============================  ===========================================  ======================
``max_chars``                  non-whitespace characters                    guard against
                                                                            multi-MB one-liners
``min_han_chars``              Han characters                               measured (see below)
``min_han_ratio``              Han characters / non-whitespace characters   ChineseWebText: 0.30
``min_han_ratio_non_english``  Han characters / non-whitespace characters    ChineseWebText's
                               outside English sentences (runs of 6+ Latin  0.30, for a bilingual
                               words with a Gopher stopword)                profile
``max_symbol_ratio``           symbol characters (Unicode S*, markup)       Gopher 0.1 per word,
                               / non-whitespace characters                  measured on chars
``max_digit_ratio``            digits / non-whitespace characters           measured
``min_avg_line_chars``         non-whitespace characters per non-empty      measured (nav pages)
                               line
``min_terminal_punct_share``   lines ending in 。！？…；” etc. / lines       FineWeb-2 cmn 0.106
``max_dup_line_share``         lines repeating an earlier line / lines      FineWeb-2 cmn 0.287
``max_dup_line_char_share``    characters in repeated lines / line chars    Gopher 0.20
``max_top_<n>gram_fraction``   characters covered by the most frequent      Gopher / FineWeb-2,
                               character n-gram / content characters        re-measured on chars
``max_dup_<n>gram_fraction``   characters in repeated character n-grams     Gopher / FineWeb-2,
                               / content characters                         re-measured on chars
``min_stopwords``              stopword tokens among jieba words of the     FineWeb-2: 2
                               first 1,000 characters
``max_rare_han_share``         Han characters outside GB 2312 level 1       measured: random
                               (3,755 most used) / Han characters (first    characters ≈ 0.8, clean
                               5,000 characters)                            ≤ 0.11, traditional
                                                                            ≤ 0.45
``min_stopword_hits``          stopword occurrences in the first 3,000      FineWeb-2: 2 stopwords
                               characters (Aho-Corasick, no segmentation)
``min_en_stopword_hits``       Gopher's 8 English stopwords in the first    Gopher: 2 (English
                               5,000 characters (Latin-script docs only)    documents only)
``max_single_char_word_share`` one-character words / Han jieba words        measured: random
                               (first 1,000 characters)                     characters ≈ 1.0,
                                                                            real text ≤ 0.86
=============================  ===========================================  ======================

"Content characters" are letters, digits and Han characters (whitespace and punctuation removed):
Gopher counts word n-grams, but a Chinese word is one to three characters and has no spaces, so
the measures run on character n-grams. ``zh-web`` uses top 2- and 4-grams and duplicate 10-grams
(a 10-character run is about a 5-word Gopher n-gram), thresholds set above the maximum measured
on the 1,148 encyclopedic paragraphs of ``shared/data/text`` (top-2 0.20, dup-10 0.25).

Stopwords and gibberish come in two flavours. ``zh-web`` uses the character-level pair
(``min_stopword_hits`` by Aho-Corasick, ``max_rare_han_share`` against GB 2312 level 1): no
segmentation, so the whole step runs about twice as fast. The jieba pair (``min_stopwords``,
``max_single_char_word_share``, on the first 1,000 characters) counts real words and is there for
profiles that prefer it. On the sets measured for issue 4 the pairs disagree on one document: a
clean-labelled list of job titles (ChineseWebText) with one jieba stopword but several hits.

Language: the Han rules (``han_chars``, ``han_ratio``, ``rare_han_share``, ``stopword_hits``)
judge documents that language ID called ``zh`` (or that have no ``lang``); a Latin-script
document that the profile's ``langid.languages`` let through (``en`` in zh-web) is judged by
``min_en_stopword_hits`` (Gopher's rule: at least two of its eight stopwords) instead. The other
rules judge both.

Line rules (terminal punctuation, average line length) only apply to documents with at least
``line_rules_min_lines`` lines: a one-paragraph document has no "lines" to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from datatrove.data import Document

from jinglian.corpus.filters.rules import ProfileError, RuleFilter, RuleSpec
from jinglian.corpus.filters.textstats import (
    WHITESPACE_RE,
    content_chars,
    count_chars,
    count_stopwords,
    duplicate_lines,
    duplicate_ngram_fraction,
    en_stopword_hits,
    english_sentence_chars,
    is_latin_doc,
    jieba_words,
    load_word_list,
    non_empty_lines,
    single_char_word_share,
    stopword_hits,
    terminal_punct_share,
    top_ngram_fraction,
)

_CHARS = "non-whitespace characters"


class ChineseHeuristics(RuleFilter):
    """Datatrove step: the heuristic rules in the table above (profile section ``heuristics:``)."""

    name = "heuristics"
    RULES = {
        "max_chars": RuleSpec(_CHARS, "guard"),
        "min_han_chars": RuleSpec("Han characters", "measured"),
        "min_han_ratio": RuleSpec(f"Han / {_CHARS}", "ChineseWebText"),
        "min_han_ratio_non_english": RuleSpec(
            f"Han / {_CHARS} outside English sentences", "ChineseWebText's 0.30, bilingual"
        ),
        "max_symbol_ratio": RuleSpec(f"symbols / {_CHARS}", "Gopher, measured"),
        "max_digit_ratio": RuleSpec(f"digits / {_CHARS}", "measured"),
        "min_avg_line_chars": RuleSpec(f"{_CHARS} per line", "measured"),
        "min_terminal_punct_share": RuleSpec("share of lines", "FineWeb-2 cmn_Hani"),
        "max_dup_line_share": RuleSpec("share of lines", "FineWeb-2 cmn_Hani"),
        "max_dup_line_char_share": RuleSpec("share of line characters", "Gopher"),
        "min_stopwords": RuleSpec("jieba tokens", "FineWeb-2 cmn_Hani"),
        "max_single_char_word_share": RuleSpec("share of Han jieba words", "measured (gibberish)"),
        "min_stopword_hits": RuleSpec(
            "stopword occurrences in the first 3,000 characters", "FineWeb-2 cmn_Hani"
        ),
        "max_rare_han_share": RuleSpec(
            "share of Han characters outside GB 2312 level 1", "measured (gibberish)"
        ),
        "min_en_stopword_hits": RuleSpec(
            "Gopher stopwords (the, be, to, of, and, that, have, with) in the first 5,000 characters",
            "Gopher: 2",
        ),
    }
    RULE_PATTERNS = {
        # n from 1 to 99: n = 0 made the duplicate n-gram loop advance by 0 (a hang, issue 21)
        r"max_top_[1-9]\d?gram_fraction": RuleSpec("share of content characters", "Gopher, measured"),
        r"max_dup_[1-9]\d?gram_fraction": RuleSpec("share of content characters", "Gopher, measured"),
    }

    def __init__(
        self,
        rules: Mapping[str, float | int | None] | None = None,
        line_rules_min_lines: int = 3,
        stopwords: str | None = None,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
        self.line_rules_min_lines = line_rules_min_lines
        self.stopwords_path = stopwords
        if stopwords is not None:
            try:
                load_word_list(stopwords)
            except OSError as err:
                raise ProfileError(
                    f"heuristics.stopwords: cannot read {stopwords} ({err.strerror})"
                ) from None
        self._ngram_stats = sorted(s for s in self._by_stat if re.fullmatch(r"(top|dup)_\d+gram_fraction", s))

    def _stopword_set(self) -> frozenset[str]:
        if self.stopwords_path:
            return load_word_list(self.stopwords_path)
        return load_word_list(package_file="stopwords_zh.txt")

    def statistics(self, doc: Document) -> Iterator[tuple]:
        text = doc.text
        stripped = WHITESPACE_RE.sub("", text)
        yield "chars", len(stripped)  # first: a multi-megabyte document stops here
        counts = count_chars(stripped)
        chars = max(len(stripped), 1)
        # Han rules judge Chinese documents; an English page a bilingual profile keeps is judged
        # by Gopher's stopword rule instead (both recorded either way: one metadata schema)
        han = not is_latin_doc(doc.metadata)
        yield "han_chars", counts["han"], han
        yield "han_ratio", counts["han"] / chars, han
        if self.wants("han_ratio_non_english"):  # a bilingual page's English sentences are text
            rest = max(len(stripped) - english_sentence_chars(text), 1)
            yield "han_ratio_non_english", min(counts["han"] / rest, 1.0), han
        yield "symbol_ratio", counts["symbols"] / chars
        yield "digit_ratio", counts["digits"] / chars
        yield "rare_han_share", counts["rare_han_share"], han
        if self.wants("stopword_hits"):
            yield "stopword_hits", stopword_hits(text, self._stopword_set()), han
        if self.wants("en_stopword_hits"):
            yield "en_stopword_hits", en_stopword_hits(text), not han
        lines = non_empty_lines(text)
        judged = len(lines) >= self.line_rules_min_lines  # recorded either way, judged only then
        yield "avg_line_chars", len(stripped) / max(len(lines), 1), judged
        yield "terminal_punct_share", terminal_punct_share(lines), judged
        dup_lines, dup_line_chars = duplicate_lines(lines)
        yield "dup_line_share", dup_lines
        yield "dup_line_char_share", dup_line_chars
        if self._ngram_stats:
            content = content_chars(text)
            for stat in self._ngram_stats:
                n = int(re.search(r"\d+", stat).group())
                measure = top_ngram_fraction if stat.startswith("top_") else duplicate_ngram_fraction
                yield stat, measure(content, n)
        if self.wants("stopwords") or self.wants("single_char_word_share"):
            words = jieba_words(text)
            yield "stopwords", count_stopwords(words, self._stopword_set())
            yield "single_char_word_share", single_char_word_share(words)
