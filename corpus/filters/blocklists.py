"""Weighted blocklists (gambling, porn, scam adverts, illegal trade) matched with Aho-Corasick.

What it drops and why: a document whose **blocklist score** exceeds ``max_blocklist_score`` (profile
section ``blocklists:``). The score is the sum, over every list term found, of the term's weight
times its occurrences, each term counted at most ``max_count_per_term`` times (unit: weighted
hits). Single-hit drops are wrong for Chinese: ``网络``, ``代理``, ``色情`` or ``赔率`` occur in
ordinary news, so such words carry a small weight and only a pile of them adds up, while
unambiguous spam phrases (``注册送彩金``, ``约炮``) weigh 1-2 and one or two drop the page.
That is what catches gambling-site names hidden inside otherwise normal articles, which length
and punctuation rules never see. Threshold 2.0: measured (see ``bench/filters.py``).

Matching runs on the text lower-cased with whitespace removed (one space kept between two Latin
words, so English text keeps its word boundaries), so ``百 家 乐`` and ``BET365`` match;
a term of Latin letters and digits (``yabo``, ``hth``) must not touch another Latin letter, so
``hth`` does not match inside ``eighth``. Hits in the title (the ``first_lines`` and ``metadata["title"]``) count
``first_lines_weight`` times: spam injects brands there. Besides the score, the **density**
``blocklist_density`` = score x 1,000 / max(Han characters, ``min_density_han_chars``) (unit:
weighted hits per 1,000 Han characters) judges long pages by how much of them is spam, so a
65,000-character keyword dump and a 300-character porn stub are both caught, and one weak word in a
long article is not. Recorded in metadata: ``blocklist_score``, ``blocklist_density``,
``blocklist_terms`` (the matched terms, most weight first, at most 8, comma-separated) and
``blocklist_categories`` (``gambling=2.5,porn=0.3``).

List files: UTF-8, one ``term[<TAB>weight[<TAB>category]]`` per line; ``#`` comments, blank
lines and duplicate terms are allowed (a duplicate keeps its highest weight). Lines without a
weight take the list's ``weight`` (default 1.0); the category defaults to the file name. The
bundled ``default`` list is ``data/blocklist_zh.txt``, written and maintained by this project;
``spam_terms`` is ``data/spam_terms_zh.txt`` (today's gambling brands, lottery, porn, ad phrases).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from datatrove.data import Document

from jinglian.corpus.filters.rules import ProfileError, RuleFilter, RuleSpec
from jinglian.corpus.filters.textstats import HAN_RE, traditional_forms

DEFAULT_LIST = "default"
BUNDLED_LISTS = {DEFAULT_LIST: "blocklist_zh.txt", "spam_terms": "spam_terms_zh.txt"}
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
_LATIN_TERM = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
_WHITESPACE = re.compile(r"\s+")
_LATIN_GAP = re.compile(r"(?<=[a-z0-9])\s+(?=[a-z0-9])")


def normalize(text: str) -> str:
    """Lower case, whitespace removed, except one space between two Latin words: ``百 家 乐`` is
    ``百家乐``, but ``play at bet365 now`` keeps ``bet365`` a word of its own."""
    return _WHITESPACE.sub("", _LATIN_GAP.sub("\x00", text.lower())).replace("\x00", " ")


@dataclass(frozen=True)
class Term:
    weight: float
    category: str


def _read_list_text(source: str) -> tuple[str, str]:
    """(text of the list, its default category) for ``default`` or a file path."""
    if source in BUNDLED_LISTS:
        path = resources.files("jinglian.corpus.filters").joinpath("data", BUNDLED_LISTS[source])
        return path.read_text("utf-8"), source
    path = Path(source)
    if not path.is_file():
        raise ProfileError(f"blocklists.lists: no such file {source}")
    try:
        return path.read_text("utf-8"), path.stem
    except UnicodeDecodeError:
        raise ProfileError(f"blocklists.lists: {source} is not UTF-8") from None


def load_terms(lists: list[str | Mapping], default_weight: float = 1.0) -> dict[str, Term]:
    """Merge list files into ``{normalized term: Term}``; bad lines raise :class:`ProfileError`."""
    terms: dict[str, Term] = {}
    for entry in lists:
        if isinstance(entry, Mapping):
            unknown = set(entry) - {"path", "weight", "category"}
            if unknown or "path" not in entry:
                raise ProfileError(
                    f"blocklists.lists: entries are a path or {{path, weight, category}}, got {dict(entry)}"
                )
            source, list_weight, list_category = (
                str(entry["path"]),
                float(entry.get("weight", default_weight)),
                entry.get("category"),
            )
        else:
            source, list_weight, list_category = str(entry), default_weight, None
        text, stem = _read_list_text(source)
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            term = normalize(fields[0])
            if not term:
                continue
            try:
                weight = float(fields[1]) if len(fields) > 1 and fields[1].strip() else list_weight
            except ValueError:
                raise ProfileError(f"{source}:{lineno}: weight {fields[1]!r} is not a number") from None
            category = (
                (fields[2].strip() if len(fields) > 2 and fields[2].strip() else None)
                or list_category
                or stem
            )
            if term not in terms or weight > terms[term].weight:
                terms[term] = Term(weight, category)
    return terms


class Blocklist(RuleFilter):
    """Datatrove step: weighted blocklist score, dropped above ``max_blocklist_score``."""

    name = "blocklist"
    RULES = {
        "max_blocklist_score": RuleSpec("weighted hits", "measured"),
        "max_blocklist_density": RuleSpec("weighted hits per 1,000 Han characters", "measured"),
    }

    def __init__(
        self,
        rules: Mapping[str, float | None] | None = None,
        lists: list[str | Mapping] | None = None,
        default_weight: float = 1.0,
        max_count_per_term: int = 3,
        first_lines: int = 0,
        first_lines_weight: float = 1.0,
        min_density_han_chars: int = 500,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
        self.first_lines = first_lines
        self.first_lines_weight = first_lines_weight
        self.min_density_han_chars = min_density_han_chars
        self.lists = list(lists if lists is not None else [DEFAULT_LIST])
        self.default_weight = default_weight
        self.max_count_per_term = max_count_per_term
        self.terms = load_terms(self.lists, default_weight)  # validate now: errors before any work

    @cached_property
    def automaton(self):  # built lazily in each worker (automata pickle, but large ones slowly)
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for term in self.terms:
            automaton.add_word(term, term)
            for variant in traditional_forms(term):  # 百家樂, 時時彩: the same term, same weight
                if variant not in self.terms:
                    automaton.add_word(variant, term)
        automaton.make_automaton()
        return automaton

    def matches(self, text: str) -> Counter:
        """Occurrences of every list term in ``text`` (whitespace-insensitive, case-insensitive)."""
        if not self.terms:
            return Counter()
        haystack = normalize(text)
        found = Counter()
        for end, term in self.automaton.iter(haystack):
            if _LATIN_TERM.fullmatch(term):  # a Latin term must stand alone among Latin letters
                start = end - len(term)
                if (start >= 0 and haystack[start] in _LATIN) or (
                    end + 1 < len(haystack) and haystack[end + 1] in _LATIN
                ):
                    continue
            found[term] += 1
        return found

    def score(self, text: str, title: str = "") -> tuple[float, dict[str, float], list[str]]:
        """(score, per-category score, top terms); ``title`` (metadata) counts as a first line."""
        found = self.matches(text)
        head = self.matches(title) if title and self.first_lines_weight != 1.0 else Counter()
        found.update(term for term in head if term not in found)
        lines = text.lstrip().split("\n", self.first_lines)
        if self.first_lines and self.first_lines_weight != 1.0 and len(lines) > self.first_lines:
            head.update(self.matches("\n".join(lines[: self.first_lines])))  # one paragraph: no title
        per_category: dict[str, float] = {}
        weighted = {}
        for term, count in found.items():
            info = self.terms[term]
            boost = (self.first_lines_weight - 1.0) * min(head.get(term, 0), 1)
            weighted[term] = info.weight * (min(count, self.max_count_per_term) + boost)
            per_category[info.category] = per_category.get(info.category, 0.0) + weighted[term]
        top = sorted(weighted, key=weighted.get, reverse=True)[:8]
        return sum(weighted.values()), {k: round(v, 3) for k, v in per_category.items()}, top

    def statistics(self, doc: Document) -> Iterator[tuple[str, float]]:
        total, per_category, top = self.score(doc.text, str(doc.metadata.get("title") or ""))
        # strings, not list/dict: the same type on every document whether or not anything matched
        doc.metadata["blocklist_terms"] = ",".join(top)
        doc.metadata["blocklist_categories"] = ",".join(f"{k}={v:g}" for k, v in sorted(per_category.items()))
        yield "blocklist_score", float(total)
        han = len(HAN_RE.findall(doc.text)) if total else 0  # counting Han costs; 0 hits need none
        yield "blocklist_density", total * 1000 / max(han, self.min_density_han_chars, 1)
