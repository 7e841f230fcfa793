"""Weighted blocklists (gambling, porn, scam adverts, illegal trade) matched with Aho-Corasick.

What it drops and why: a document whose **blocklist score** exceeds ``max_blocklist_score`` (profile
section ``blocklists:``). The score is the sum, over every list term found, of the term's weight
times its occurrences, each term counted at most ``max_count_per_term`` times (unit: weighted
hits). Single-hit drops are wrong for Chinese: ``网络``, ``代理``, ``色情`` or ``赔率`` occur in
ordinary news, so such words carry a small weight and only a pile of them adds up, while
unambiguous spam phrases (``注册送彩金``, ``约炮``) weigh 1-2 and one or two drop the page.
That is what catches gambling-site names hidden inside otherwise normal articles, which length
and punctuation rules never see. Threshold 2.0: measured (see ``bench/filters.py``).

Matching runs on the text lower-cased with whitespace removed, so ``百 家 乐`` and ``BET365`` match.
Recorded in metadata: ``blocklist_score``, ``blocklist_terms`` (the matched terms, most weight
first, at most 8, comma-separated) and ``blocklist_categories`` (``gambling=2.5,porn=0.3``).

List files: UTF-8, one ``term[<TAB>weight[<TAB>category]]`` per line; ``#`` comments, blank
lines and duplicate terms are allowed (a duplicate keeps its highest weight). Lines without a
weight take the list's ``weight`` (default 1.0); the category defaults to the file name. The
bundled ``default`` list is ``data/blocklist_zh.txt``, written and maintained by this project.
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

DEFAULT_LIST = "default"
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Term:
    weight: float
    category: str


def _read_list_text(source: str) -> tuple[str, str]:
    """(text of the list, its default category) for ``default`` or a file path."""
    if source == DEFAULT_LIST:
        path = resources.files("jinglian.corpus.filters").joinpath("data", "blocklist_zh.txt")
        return path.read_text("utf-8"), "default"
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
            term = _WHITESPACE.sub("", fields[0]).lower()
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
    RULES = {"max_blocklist_score": RuleSpec("weighted hits", "measured")}

    def __init__(
        self,
        rules: Mapping[str, float | None] | None = None,
        lists: list[str | Mapping] | None = None,
        default_weight: float = 1.0,
        max_count_per_term: int = 3,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
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
        automaton.make_automaton()
        return automaton

    def matches(self, text: str) -> Counter:
        """Occurrences of every list term in ``text`` (whitespace-insensitive, case-insensitive)."""
        if not self.terms:
            return Counter()
        haystack = _WHITESPACE.sub("", text).lower()
        return Counter(term for _, term in self.automaton.iter(haystack))

    def score(self, text: str) -> tuple[float, dict[str, float], list[str]]:
        found = self.matches(text)
        per_category: dict[str, float] = {}
        weighted = {}
        for term, count in found.items():
            info = self.terms[term]
            weighted[term] = info.weight * min(count, self.max_count_per_term)
            per_category[info.category] = per_category.get(info.category, 0.0) + weighted[term]
        top = sorted(weighted, key=weighted.get, reverse=True)[:8]
        return sum(weighted.values()), {k: round(v, 3) for k, v in per_category.items()}, top

    def statistics(self, doc: Document) -> Iterator[tuple[str, float]]:
        total, per_category, top = self.score(doc.text)
        # strings, not list/dict: the same type on every document whether or not anything matched
        doc.metadata["blocklist_terms"] = ",".join(top)
        doc.metadata["blocklist_categories"] = ",".join(f"{k}={v:g}" for k, v in sorted(per_category.items()))
        yield "blocklist_score", float(total)
