"""SFT and multi-turn samples → rows with TRL-native columns, optionally pre-tokenized with exact masks.

Columns (chosen so TRL's ``SFTTrainer`` consumes them as they are):

* strategies ``last`` / ``expand`` (one trained turn per sample): ``prompt`` + ``completion``.
  With ``--template alpaca`` both are strings (the prompt rendered up to ``### Response:\\n``; TRL
  appends EOS to the completion). With ``chatml`` / ``tokenizer`` they are message lists (TRL
  applies the tokenizer's chat template and trains the completion only).
* strategy ``all``: ``messages`` (train with ``assistant_only_loss=True``).
* with a tokenizer: also ``input_ids`` + ``labels`` (-100 on every untrained token: system,
  user turns, template markup, history answers that the strategy does not train). TRL uses
  ``labels`` as they are, so the template and mask built here are what gets trained.
* always ``source`` (``file:line`` or ``file[index]``) so any sample can be traced back.

``jinglian build sft`` is the ``last`` strategy: an Alpaca record with ``history`` is a dialogue
whose final answer is the one trained; the history is context.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jinglian.formats.collect import Books, Rejected
from jinglian.formats.multiturn import Sample, apply_strategy, drop_oldest_exchanges, fit_length
from jinglian.formats.schema import Conversation
from jinglian.formats.templates import SegmentTokenizer, Template, bos_segment, markers_in


def _msg(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def tokenize_sample(sample: Sample, template: Template, tokenizer: Any) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one sample; ``tokenizer`` may be a :class:`SegmentTokenizer`."""
    seg_tok = tokenizer if isinstance(tokenizer, SegmentTokenizer) else SegmentTokenizer(tokenizer)
    eos = template.eos_for(seg_tok.tokenizer)
    if template.name not in seg_tok.bos:
        seg_tok.bos[template.name] = bos_segment(seg_tok.tokenizer, template)
    segments = seg_tok.bos[template.name] + template.render(sample.messages, sample.system, set(sample.trained), eos)
    return seg_tok(segments)


def text_columns(sample: Sample, template: Template, strategy: str, eos: str = "") -> dict[str, Any]:
    """The TRL-native text columns of one sample (see the module docstring)."""
    if strategy == "all":
        head = [_msg("system", sample.system)] if sample.system else []
        return {"messages": head + [_msg(m.role, m.content) for m in sample.messages]}
    context, answer = sample.messages[:-1], sample.messages[-1]
    if template.name == "alpaca":
        return {"prompt": template.text(context, sample.system, eos), "completion": answer.content}
    head = [_msg("system", sample.system)] if sample.system else []
    return {"prompt": head + [_msg(m.role, m.content) for m in context], "completion": [_msg("assistant", answer.content)]}


def _dedup_key(sample: Sample) -> str:
    return json.dumps([sample.system, [(m.role, m.content.strip()) for m in sample.messages], sorted(sample.trained)], ensure_ascii=False)


def build_dialogue_rows(
    conversations: Iterable[Conversation],
    strategy: str,
    template: Template,
    books: Books,
    tokenizer: Any | None = None,
    max_length: int | None = None,
    dedup: bool = True,
    rejects: list[Rejected] | None = None,
) -> list[dict[str, Any]]:
    """Conversations → rows. Counts repairs, length handling and duplicates into ``books``; each
    dropped sample is also appended to ``rejects`` (``rejected.jsonl``) with its reason."""
    if max_length is not None and tokenizer is None:
        raise ValueError("--max-length counts tokens: it needs --tokenizer")
    eos = template.eos_for(tokenizer) if tokenizer is not None else ""
    seg_tok = SegmentTokenizer(tokenizer) if tokenizer is not None else None
    seen: dict[str, str] = {}  # dedup key -> source of the sample kept
    rows: list[dict[str, Any]] = []

    def drop(sample: Sample, reason: str, detail: str) -> None:
        books.dropped_samples[reason] += 1
        if rejects is not None:
            head = [_msg("system", sample.system)] if sample.system else []
            record = {"messages": head + [_msg(m.role, m.content) for m in sample.messages]}
            rejects.append(Rejected(sample.source, reason, detail, record))

    for conv in conversations:
        for note in conv.notes:
            books.notes[note] += 1
        texts = [conv.system or ""] + [m.content for m in conv.messages]
        if any(markers_in(t, tokenizer) for t in texts):
            books.notes["records_with_control_strings_in_text"] += 1
        for sample in apply_strategy(conv, strategy):
            if max_length is not None:
                fitted = fit_length(sample, lambda s: len(tokenize_sample(s, template, seg_tok)[0]), max_length, books.notes)
                if fitted is None:
                    last = drop_oldest_exchanges(sample, len(sample.messages) // 2 - 1) or sample
                    tokens = len(tokenize_sample(last, template, seg_tok)[0])
                    drop(sample, "too_long", f"sample: {tokens} tokens with only its last exchange, over --max-length {max_length}")
                    continue
                sample = fitted
            if dedup:
                key = _dedup_key(sample)
                if key in seen:
                    drop(sample, "duplicate", f"sample: the same as the one kept from {seen[key]}")
                    continue
                seen[key] = sample.source
            row = text_columns(sample, template, strategy, eos)
            if tokenizer is not None:
                row["input_ids"], row["labels"] = tokenize_sample(sample, template, seg_tok)
            row["source"] = sample.source
            rows.append(row)
    books.samples = len(rows)
    return rows
