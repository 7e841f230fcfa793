"""Named threshold rules: the shape every jinglian heuristic filter shares.

A rule is ``min_<statistic>`` or ``max_<statistic>`` with a threshold (``None`` disables it). A
filter computes its statistics one by one, cheapest first, writes each into
``doc.metadata[<statistic>]`` *before* comparing it with the threshold (so a report can show the
distribution and a user can re-threshold without re-running), and drops the document on the first
rule it fails, with the rule's name as the reason and the statistic as the value. A statistic may come
as ``(statistic, value, False)``: recorded, but not judged for this document (line rules on a
one-line document). Kept documents carry every statistic of every step with the same type, so
their metadata has one schema (Parquet infers it from the first document).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

from datatrove.data import Document

from jinglian.corpus.stats import AccountedFilter, Verdict


class ProfileError(ValueError):
    """A profile (or a rule given in code) is invalid; the message names the key."""


@dataclass(frozen=True)
class RuleSpec:
    unit: str
    source: str


class RuleFilter(AccountedFilter):
    """Base for filters made of ``min_*``/``max_*`` rules on statistics they compute.

    Subclasses set ``RULES`` (exact names) and/or ``RULE_PATTERNS`` (regexes for parametrised
    names such as ``max_top_4gram_fraction``), and implement :meth:`statistics`.
    """

    RULES: ClassVar[dict[str, RuleSpec]] = {}
    RULE_PATTERNS: ClassVar[dict[str, RuleSpec]] = {}

    def __init__(self, rules: Mapping[str, float | int | None] | None = None, rejects_dir: str | None = None):
        super().__init__(rejects_dir)
        self.rules: dict[str, float] = {}
        for name, threshold in (rules or {}).items():
            self.spec(name)  # raises for an unknown name
            if threshold is None:
                continue
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                raise ProfileError(
                    f"{self.name}.{name}: threshold must be a number or null, not {threshold!r}"
                )
            self.rules[name] = float(threshold)
        # statistic -> [(rule name, is_min, threshold)]
        self._by_stat: dict[str, list[tuple[str, bool, float]]] = {}
        for name, threshold in self.rules.items():
            kind, stat = name.split("_", 1)
            self._by_stat.setdefault(stat, []).append((name, kind == "min", threshold))

    @classmethod
    def spec(cls, name: str) -> RuleSpec:
        if name in cls.RULES:
            return cls.RULES[name]
        for pattern, spec in cls.RULE_PATTERNS.items():
            if re.fullmatch(pattern, name):
                return spec
        known = sorted(cls.RULES) + sorted(cls.RULE_PATTERNS)
        raise ProfileError(f"{cls.name}: unknown rule {name!r} (known: {', '.join(known)})")

    def wants(self, stat: str) -> bool:
        return stat in self._by_stat

    def statistics(self, doc: Document) -> Iterator[tuple]:
        """Yield ``(statistic, value)`` or ``(statistic, value, judged)``, cheapest first."""
        raise NotImplementedError

    def check(self, doc: Document) -> Verdict:
        for stat, value, *judged in self.statistics(doc):
            value = round(value, 4) if isinstance(value, float) else value
            doc.metadata[stat] = value
            if judged and not judged[0]:  # recorded, but no rule applies here (line rules, one line)
                continue
            for name, is_min, threshold in self._by_stat.get(stat, ()):
                if (value < threshold) if is_min else (value > threshold):
                    return name, value
        return None
