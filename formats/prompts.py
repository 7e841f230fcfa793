"""Prompt-only datasets for PPO and GRPO, from any SFT, dialogue, preference or bare-prompt record.

The prompt is everything up to and including the last user turn (the whole history before it and
the system prompt included); the answer the record had after it, if any, is kept as ``reference`` because TRL's ``GRPOTrainer`` passes extra columns to reward
functions (a rule-based reward can compare against it), and PPO ignores it. Identical prompts are
written once: an RL prompt set wants breadth, and a repeated prompt is over-weighted otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jinglian.formats.collect import Books
from jinglian.formats.preference import parse_preference, parse_prompt
from jinglian.formats.schema import ROLE_ALIASES, Located, Message, NothingToTrain, parse_conversation
from jinglian.formats.templates import Template


@dataclass
class PromptRecord:
    prompt: list[Message]
    system: str | None
    reference: str
    source: str


def _reference_after(turns: object, n_kept: int) -> str:
    """The text of the first assistant turn after the prompt's ``n_kept`` user/assistant turns, if any."""
    if not isinstance(turns, list):
        return ""
    rest = [t for t in turns if isinstance(t, dict) and ROLE_ALIASES.get(str(t.get("role", t.get("from"))).lower()) != "system"]
    nxt = rest[n_kept] if len(rest) > n_kept else None
    text = nxt.get("content", nxt.get("value")) if isinstance(nxt, dict) else None
    return text if isinstance(text, str) else ""


def parse_any_prompt(loc: Located) -> PromptRecord:
    """A prompt from any record: message lists keep the whole history up to the last user turn,
    and prompt-only records (a ``messages``/``conversations`` list ending on a user turn, an
    instruction without output) are accepted. A prompt whose last user turn is blank is dropped
    (reason ``blank_prompt``): the policy would be asked nothing."""
    record = _parse_any_prompt(loc)
    if not record.prompt or not record.prompt[-1].content.strip():
        where = (loc.path, loc.line) if loc.line is not None else (f"{loc.path}[{loc.index}]", None)
        raise NothingToTrain(*where, "blank_prompt", "the last user turn is blank: no prompt to give the policy")
    return record


def _parse_any_prompt(loc: Located) -> PromptRecord:
    rec = loc.record
    if isinstance(rec, dict) and ("chosen" in rec or "responses" in rec):
        pref = parse_preference(loc)
        return PromptRecord(pref.prompt, pref.system, pref.pairs[0][0], loc.where)
    if isinstance(rec, dict) and "prompt" in rec:
        messages, system = parse_prompt(loc, cut_to_last_user=True)
        ref = rec.get("reference", rec.get("completion", rec.get("answer", "")))
        return PromptRecord(messages, system, ref if isinstance(ref, str) else "", loc.where)
    if isinstance(rec, dict) and ("messages" in rec or "conversations" in rec):
        key = "messages" if "messages" in rec else "conversations"
        messages, system = parse_prompt(loc, cut_to_last_user=True)
        return PromptRecord(messages, system, _reference_after(rec[key], len(messages)), loc.where)
    if isinstance(rec, dict) and "instruction" in rec and not (isinstance(rec.get("output"), str) and rec["output"].strip()):
        messages, system = parse_prompt(loc)
        return PromptRecord(messages, system, "", loc.where)
    conv = parse_conversation(loc)
    return PromptRecord(conv.messages[:-1], conv.system, conv.messages[-1].content, loc.where)


def build_prompt_rows(records: list[PromptRecord], template: Template, books: Books) -> list[dict[str, Any]]:
    """One row per distinct prompt; of duplicates the first is kept, with the first reference any
    copy has (a copy without a reference must not cost the prompt the one another copy gives)."""
    seen: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for rec in records:
        head = [{"role": "system", "content": rec.system}] if rec.system else []
        conv = head + [{"role": m.role, "content": m.content} for m in rec.prompt]
        key = json.dumps([[m["role"], m["content"].strip()] for m in conv], ensure_ascii=False)
        if key in seen:
            books.dropped_samples["duplicate"] += 1
            kept = seen[key]
            if not kept["reference"].strip() and rec.reference.strip():
                kept["reference"] = rec.reference
            continue
        prompt: Any = template.text(rec.prompt, rec.system) if template.name == "alpaca" else conv
        seen[key] = {"prompt": prompt, "reference": rec.reference, "source": rec.source}
        rows.append(seen[key])
    books.samples = len(rows)
    return rows
