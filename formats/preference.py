"""Preference data for the reward model and DPO: ``prompt`` / ``chosen`` / ``rejected``.

Accepted records (auto-detected):

* pairs: ``{"prompt" | "conversations" | "messages" | "instruction"(+"input"), "chosen", "rejected"}``;
  the prompt is a string or a turn list ending on a user turn; a response is a string, a
  ``{"from"/"role", "value"/"content"}`` object or a one-message list (LLaMA-Factory, MedicalGPT,
  TRL explicit-prompt formats). An optional ``margin`` number is kept.
* ranked: the same prompt fields plus ``"responses": [best, ..., worst]`` and optionally
  ``"scores"`` (higher is better; responses are ordered by it). K responses give the K·(K−1)/2
  pairs (InstructGPT); the margin of a pair is the score difference, or the rank difference
  without scores. Tied scores and identical responses give no pair (counted in the notes); one
  response listed at two ranks with another between them is rejected (``contradictory_ranking``:
  it would give A > B and B > A), and scores must be finite numbers (not NaN, not true/false).

A pair record whose chosen and rejected are the same text (after trimming whitespace) is
rejected: it carries no preference and only adds noise to a Bradley-Terry or DPO loss. Exact
duplicate pairs across files (same system, prompt, chosen, rejected) are written once.

Output columns: conversational (``prompt`` = message list, ``chosen``/``rejected`` = one
assistant message each) for ``chatml``/``tokenizer`` templates, which TRL's ``RewardTrainer`` and
``DPOTrainer`` render with the tokenizer's chat template; plain strings with ``--template alpaca``
(prompt rendered up to ``### Response:\\n``). ``margin`` (float) when asked for, ``source`` always.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from jinglian.formats.collect import Books
from jinglian.formats.schema import Located, Message, alpaca_user_text, parse_prompt_turns, response_text
from jinglian.formats.templates import Template

PROMPT_FIELDS = ("prompt", "conversations", "messages")


@dataclass
class PreferenceRecord:
    prompt: list[Message]
    system: str | None
    pairs: list[tuple[str, str, float]]  # (chosen, rejected, margin)
    source: str
    notes: list[str] = field(default_factory=list)


def parse_prompt(loc: Located, cut_to_last_user: bool = False) -> tuple[list[Message], str | None]:
    """The prompt of a preference / RL record, from whichever field holds it (``cut_to_last_user``:
    see :func:`jinglian.formats.schema.parse_prompt_turns`)."""
    rec = loc.record
    if not isinstance(rec, dict):
        raise loc.error("not_an_object", f"expected a JSON object, got {type(rec).__name__}")
    for name in PROMPT_FIELDS:
        if name in rec:
            messages, system = parse_prompt_turns(loc, rec[name], name, cut_to_last_user)
            break
    else:
        if "instruction" not in rec:
            raise loc.error("missing_field", f"no prompt field ({', '.join(PROMPT_FIELDS)} or instruction); fields: {', '.join(sorted(rec))}")
        messages, system = parse_prompt_turns(loc, rec["instruction"], "instruction")
        extra = rec.get("input") or ""
        if not isinstance(extra, str):
            raise loc.error("not_a_string", "field 'input': expected a string")
        messages = [Message("user", alpaca_user_text(messages[0].content, extra))]
    top_system = rec.get("system")
    if isinstance(top_system, str) and top_system.strip() and not system:
        system = top_system
    return messages, system


def parse_preference(loc: Located) -> PreferenceRecord:
    messages, system = parse_prompt(loc)
    rec = loc.record
    if "responses" in rec:
        return _ranked(loc, rec, messages, system)
    chosen = response_text(loc, rec.get("chosen"), "chosen")
    rejected = response_text(loc, rec.get("rejected"), "rejected")
    if chosen.strip() == rejected.strip():
        raise loc.error("identical_pair", "field 'rejected': identical to 'chosen' (no preference to learn)")
    margin = _number(loc, rec.get("margin", 0.0), "margin", "bad_margin")
    return PreferenceRecord(messages, system, [(chosen, rejected, float(margin))], loc.where)


def _number(loc: Located, value: object, name: str, reason: str) -> float:
    """A finite number: booleans (JSON true/false) and NaN/Infinity (which Python's json accepts)
    are not scores, and a NaN margin or score silently turns a loss into NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise loc.error(reason, f"field '{name}': expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise loc.error(reason, f"field '{name}': {value} is not a finite number")
    return float(value)


def _ranked(loc: Located, rec: dict, messages: list[Message], system: str | None) -> PreferenceRecord:
    responses = rec["responses"]
    if not isinstance(responses, list) or len(responses) < 2:
        raise loc.error("bad_responses", "field 'responses': expected a list of at least 2 ranked responses")
    texts = [response_text(loc, r, f"responses[{i}]") for i, r in enumerate(responses)]
    scores = rec.get("scores")
    if scores is None:
        values = [float(-i) for i in range(len(texts))]  # best first: rank difference as margin
    else:
        if not (isinstance(scores, list) and len(scores) == len(texts)):
            raise loc.error("bad_scores", "field 'scores': expected one number per response")
        values = [_number(loc, s, f"scores[{i}]", "bad_scores") for i, s in enumerate(scores)]
    # One response at two ranks (or scores) with another response between them would be both
    # better and worse than it: pairs A > B and B > A. Nothing between: the copies give no pair.
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        j = first.setdefault(text.strip(), i)
        low, high = sorted((values[i], values[j]))
        if j != i and any(low < v < high and t.strip() != text.strip() for t, v in zip(texts, values, strict=True)):
            raise loc.error(
                "contradictory_ranking",
                f"field 'responses[{i}]': repeats responses[{j}] at another "
                f"{'score' if scores is not None else 'rank'}, with another response between them "
                "(it would be both better and worse than that one)",
            )
    ranked = sorted(zip(texts, values, strict=True), key=lambda p: -p[1])
    record = PreferenceRecord(messages, system, [], loc.where)
    for i in range(len(ranked)):
        for j in range(i + 1, len(ranked)):
            (hi, s_hi), (lo, s_lo) = ranked[i], ranked[j]
            if hi.strip() == lo.strip():
                record.notes.append("identical_pair_skipped")
            elif s_hi == s_lo:
                record.notes.append("tied_pair_skipped")
            else:
                record.pairs.append((hi, lo, s_hi - s_lo))
    if not record.pairs:
        raise loc.error("no_pairs", "field 'responses': no pair with a preference (all tied or identical)")
    return record


def build_preference_rows(
    records: list[PreferenceRecord], template: Template, books: Books, with_margin: bool = False, eos: str = ""
) -> list[dict[str, Any]]:
    """Records → TRL preference rows (see the module docstring); duplicates written once."""
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for rec in records:
        for note in rec.notes:
            books.notes[note] += 1
        head = [{"role": "system", "content": rec.system}] if rec.system else []
        conv_prompt = head + [{"role": m.role, "content": m.content} for m in rec.prompt]
        for chosen, rejected, margin in rec.pairs:
            key = json.dumps([conv_prompt, chosen.strip(), rejected.strip()], ensure_ascii=False)
            if key in seen:
                books.dropped_samples["duplicate"] += 1
                continue
            seen.add(key)
            if template.name == "alpaca":
                row: dict[str, Any] = {"prompt": template.text(rec.prompt, rec.system, eos), "chosen": chosen, "rejected": rejected}
            else:
                row = {
                    "prompt": conv_prompt,
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": rejected}],
                }
            if with_margin:
                row["margin"] = margin
            row["source"] = rec.source
            rows.append(row)
    books.samples = len(rows)
    return rows
