"""Pretraining data: the document reader, the packing report and the Chinchilla budget.

Documents are read with the corpus reader (datatrove JSONL, JSONL with ``text``, Parquet, .txt), so
the output of ``jinglian curate`` feeds straight in and bad records fail or are counted the same
way. The packer is :func:`jinglian.formats.shards.build_shards`: each document is tokenized without
special tokens and followed by EOS, the stream is cut into blocks of ``block_size`` tokens (documents
cross block boundaries: no padding is wasted and EOS tells the model where one document ends), the
blocks are streamed into Arrow shards, and the final partial block is dropped and counted.

The report puts the corpus next to the compute-optimal budget of Chinchilla (Hoffmann et al.
2022): about 20 training tokens per model parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def read_texts(inputs: list[str], on_error: str = "fail", text_key: str = "text") -> Iterator[str]:
    """Document texts via the corpus reader (so bad records fail or are skipped with file:line)."""
    from jinglian.corpus.readers import DocumentReader, expand_inputs

    reader = DocumentReader(expand_inputs(inputs), text_key=text_key, on_error=on_error)
    for doc in reader.run():
        yield doc.text
