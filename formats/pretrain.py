"""Pretraining data: tokenize documents and pack them into fixed-length blocks.

Documents are read with the corpus reader (datatrove JSONL, JSONL with ``text``, Parquet, .txt), so
the output of ``jinglian curate`` feeds straight in and bad records fail or are counted the same
way. Each document is tokenized without special tokens and followed by EOS, the stream is cut
into blocks of ``block_size`` tokens (documents cross block boundaries: no padding is wasted and
EOS tells the model where one document ends), and the final partial block is dropped and counted.

The report puts the corpus next to the compute-optimal budget of Chinchilla (Hoffmann et al.
2022): about 20 training tokens per model parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

CHINCHILLA_TOKENS_PER_PARAM = 20


@dataclass
class PackReport:
    documents: int
    tokens: int  # document tokens + one EOS per document
    blocks: int
    block_size: int
    tokens_in_blocks: int
    tokens_dropped_tail: int  # the last partial block
    model_params: int | None = None
    chinchilla_tokens: int | None = None  # ≈ 20 × params
    corpus_vs_budget: float | None = None  # tokens / chinchilla_tokens (1.0 = exactly compute-optimal)
    epochs_for_budget: float | None = None  # passes over the blocks to reach the budget

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chinchilla_budget(model_params: int) -> int:
    return CHINCHILLA_TOKENS_PER_PARAM * model_params


def pack_tokens(doc_ids: Iterable[list[int]], eos_id: int, block_size: int, stats: dict[str, int]) -> Iterator[list[int]]:
    """Concatenate documents (each followed by ``eos_id``) and yield full ``block_size`` blocks."""
    if block_size < 2:
        raise ValueError("--block-size must be at least 2")
    buffer: list[int] = []
    for ids in doc_ids:
        stats["documents"] += 1
        buffer += ids
        buffer.append(eos_id)
        stats["tokens"] += len(ids) + 1
        while len(buffer) >= block_size:
            yield buffer[:block_size]
            buffer = buffer[block_size:]
    stats["tail"] = len(buffer)


def tokenize_texts(texts: Iterable[str], tokenizer: Any, batch: int = 256) -> Iterator[list[int]]:
    """Batched tokenization (the fast tokenizer parallelises within a batch). Web text that
    contains ``<|endoftext|>`` must not end a document early: special tokens are split."""
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == batch:
            yield from tokenizer(chunk, add_special_tokens=False, split_special_tokens=True)["input_ids"]
            chunk = []
    if chunk:
        yield from tokenizer(chunk, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def pack_documents(
    texts: Iterable[str], tokenizer: Any, block_size: int, model_params: int | None = None
) -> tuple[list[list[int]], PackReport]:
    """Texts → blocks of token ids and the report. Blocks are held in memory (fine for the corpora
    a single machine tokenizes in one go; shard the input for more)."""
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token to separate documents")
    stats = {"documents": 0, "tokens": 0, "tail": 0}
    blocks = list(pack_tokens(tokenize_texts(texts, tokenizer), tokenizer.eos_token_id, block_size, stats))
    report = PackReport(
        documents=stats["documents"], tokens=stats["tokens"], blocks=len(blocks), block_size=block_size,
        tokens_in_blocks=len(blocks) * block_size, tokens_dropped_tail=stats["tail"],
    )
    if model_params:
        budget = chinchilla_budget(model_params)
        report.model_params = model_params
        report.chinchilla_tokens = budget
        report.corpus_vs_budget = round(report.tokens / budget, 6)
        report.epochs_for_budget = round(budget / max(1, report.tokens_in_blocks), 3)
    return blocks, report


def read_texts(inputs: list[str], on_error: str = "fail", text_key: str = "text") -> Iterator[str]:
    """Document texts via the corpus reader (so bad records fail or are skipped with file:line)."""
    from jinglian.corpus.readers import DocumentReader, expand_inputs

    reader = DocumentReader(expand_inputs(inputs), text_key=text_key, on_error=on_error)
    for doc in reader.run():
        yield doc.text
