"""Multi-turn strategies (the three of the seed notes) and ``--max-length`` handling.

* ``last``: the whole history is context, only the final assistant turn is trained. Cheap, but the
  earlier answers teach nothing.
* ``expand``: a dialogue with N assistant turns gives N samples, sample j ending at assistant turn j
  and training only it. Every answer is learned, at the cost of re-reading the history N times.
* ``all``: one sample, every assistant turn trained (the mask has N holes). Same signal as
  ``expand`` for one pass over the tokens; the usual choice.

``--max-length`` (tokens) never cuts text: when a sample is too long, the oldest whole
user/assistant exchange is dropped (the system prompt stays), again and again; if even the last
exchange alone does not fit, the sample is dropped as ``too_long``. Both are counted and reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from jinglian.formats.schema import Conversation, Message

STRATEGIES = ("last", "expand", "all")


@dataclass
class Sample:
    """One training sample: a dialogue prefix ending on an assistant turn, and which turns train."""

    messages: list[Message]
    system: str | None
    trained: frozenset[int]  # indexes into messages, all assistant turns
    source: str

    @property
    def is_single_target(self) -> bool:
        """Exactly the final turn is trained: expressible as TRL ``prompt``/``completion``."""
        return self.trained == frozenset({len(self.messages) - 1})


def apply_strategy(conv: Conversation, strategy: str) -> list[Sample]:
    assistant = [i for i, m in enumerate(conv.messages) if m.role == "assistant"]
    if strategy == "last":
        last = assistant[-1]
        return [Sample(conv.messages[: last + 1], conv.system, frozenset({last}), conv.source)]
    if strategy == "expand":
        return [Sample(conv.messages[: j + 1], conv.system, frozenset({j}), conv.source) for j in assistant]
    if strategy == "all":
        return [Sample(conv.messages[: assistant[-1] + 1], conv.system, frozenset(assistant), conv.source)]
    raise ValueError(f"unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")


def drop_oldest_exchanges(sample: Sample, k: int) -> Sample | None:
    """The same sample without its first ``k`` user/assistant exchanges; None when nothing trained is left."""
    if k == 0:
        return sample
    trained = frozenset(i - 2 * k for i in sample.trained if i >= 2 * k)
    if not trained or 2 * k >= len(sample.messages):
        return None
    return Sample(sample.messages[2 * k :], sample.system, trained, sample.source)


def fit_length(sample: Sample, n_tokens: Callable[[Sample], int], max_length: int, notes: Counter) -> Sample | None:
    """Drop the fewest oldest whole exchanges so that ``n_tokens(sample) <= max_length``; None if
    even the final exchange alone is too long. The length only shrinks as exchanges go, so the
    smallest k is found by bisection (a few tokenizations, not one per dropped exchange)."""
    if n_tokens(sample) <= max_length:
        return sample
    n_exchanges = len(sample.messages) // 2
    lo, hi = 1, n_exchanges - 1  # candidates for k; the final exchange is never dropped
    best: Sample | None = None
    while lo <= hi:
        k = (lo + hi) // 2
        candidate = drop_oldest_exchanges(sample, k)
        if candidate is not None and n_tokens(candidate) <= max_length:
            best, hi = candidate, k - 1
        else:
            lo = k + 1
    if best is None:
        return None
    notes["samples_shortened"] += 1
    notes["exchanges_dropped_for_length"] += (len(sample.messages) - len(best.messages)) // 2
    lost = len(sample.trained) - len(best.trained)
    if lost:
        notes["trained_turns_dropped_for_length"] += lost
    return best
