"""Streaming pretraining build: blocks written to Arrow shards as they fill, memory flat in corpus size.

The output is a ``save_to_disk`` DatasetDict folder (``train/`` and ``validation/``, each a list of
Arrow stream shards ``data-NNNNN-of-streamed.arrow`` plus ``state.json``/``dataset_info.json``), so
``datasets.load_from_disk`` memory-maps it and nothing is loaded whole. A document goes to validation
when the hash of (seed, its text) falls under ``val_ratio``: decided per document, so no list of
documents is held and a document never spans both splits. Each split packs its own stream.

Resume after kill -9: a shard is written to a temporary name and renamed when complete, so a shard on
disk is always whole. The rerun streams the input again (same input, same blocks) and skips writing the
shards that already exist; ``state.json`` is written last, so an interrupted folder is not loadable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinglian.formats.pretrain import PackReport, chinchilla_budget, tokenize_texts

SHARD_BLOCKS = 4096  # blocks per shard: 16 MiB of int32 at 1,024 tokens, the unit of resume
SPLITS = ("train", "validation")


def is_validation(text: str, val_ratio: float, seed: int) -> bool:
    """Per-document split from a hash of (seed, text): stable across runs and input order."""
    if val_ratio <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < val_ratio


class _SplitWriter:
    """Packs one split's documents into blocks and writes every ``shard_blocks`` blocks as one shard."""

    def __init__(self, folder: Path, eos_id: int, block_size: int, shard_blocks: int):
        self.folder, self.eos_id, self.block_size, self.shard_blocks = folder, eos_id, block_size, shard_blocks
        self.buffer: list[int] = []
        self.pending: list[list[int]] = []
        self.shards: list[str] = []
        self.documents = self.tokens = self.blocks = 0

    def add(self, ids: list[int]) -> None:
        self.documents += 1
        self.tokens += len(ids) + 1
        self.buffer += ids
        self.buffer.append(self.eos_id)
        if len(self.buffer) >= self.block_size:
            n = len(self.buffer) // self.block_size * self.block_size
            self.pending += [self.buffer[i:i + self.block_size] for i in range(0, n, self.block_size)]
            self.buffer = self.buffer[n:]
            while len(self.pending) >= self.shard_blocks:
                self._write(self.pending[:self.shard_blocks])
                self.pending = self.pending[self.shard_blocks:]

    def _write(self, blocks: list[list[int]]) -> None:
        import pyarrow as pa

        name = f"data-{len(self.shards):05d}-of-streamed.arrow"
        self.shards.append(name)
        self.blocks += len(blocks)
        path = self.folder / name
        if path.exists():  # written completely by an interrupted run (renamed only when whole)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        table = pa.table({"input_ids": pa.array(blocks, type=pa.list_(pa.int32()))})
        tmp = path.with_suffix(".tmp")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)

    def close(self) -> int:
        if self.pending:
            self._write(self.pending)
            self.pending = []
        if self.shards:
            _write_dataset_metadata(self.folder, self.shards)
        return len(self.buffer)  # tail tokens dropped


def _write_dataset_metadata(folder: Path, shards: list[str]) -> None:
    from datasets import DatasetInfo, Features, Sequence, Value

    DatasetInfo(features=Features({"input_ids": Sequence(Value("int32"))})).write_to_directory(str(folder))
    state = {"_data_files": [{"filename": s} for s in shards], "_fingerprint": hashlib.sha1("".join(shards).encode()).hexdigest()[:16],
             "_format_columns": None, "_format_kwargs": {}, "_format_type": None, "_output_all_columns": False, "_split": None}
    (folder / "state.json").write_text(json.dumps(state, indent=2))


def build_shards(
    texts: Iterable[str], tokenizer: Any, out: Path, block_size: int, val_ratio: float = 0.0, seed: int = 0,
    model_params: int | None = None, shard_blocks: int = SHARD_BLOCKS, settings: dict[str, Any] | None = None,
) -> tuple[dict[str, int], PackReport]:
    """Texts → Arrow shards under ``out`` and the report (also written to ``out/stats.json``)."""
    if block_size < 2:
        raise ValueError("--block-size must be at least 2")
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token to separate documents")
    out.mkdir(parents=True, exist_ok=True)
    # shards of an interrupted run are reused only for the same settings (else they would be stale blocks)
    key = {"block_size": block_size, "val_ratio": val_ratio, "seed": seed, "shard_blocks": shard_blocks,
           "eos_id": tokenizer.eos_token_id, "vocab": len(tokenizer)}
    key_file = out / "build_key.json"
    if key_file.exists() and json.loads(key_file.read_text()) != key:
        raise ValueError(f"{out}: holds shards built with other settings ({key_file}); use a new --out or remove it")
    key_file.write_text(json.dumps(key))
    writers = {s: _SplitWriter(out / s, tokenizer.eos_token_id, block_size, shard_blocks) for s in SPLITS}
    routed: deque[str] = deque()  # the split of each text of the current tokenizer batch, consumed in order

    def route(stream: Iterable[str]):
        for text in stream:
            routed.append("validation" if is_validation(text, val_ratio, seed) else "train")
            yield text

    for ids in tokenize_texts(route(texts), tokenizer):
        writers[routed.popleft()].add(ids)
    tails = {s: w.close() for s, w in writers.items()}
    counts = {s: w.blocks for s, w in writers.items() if w.blocks}
    if not counts:
        total = sum(w.tokens for w in writers.values())
        raise ValueError(f"the corpus has {total} tokens: fewer than one block of {block_size}")
    report = PackReport(
        documents=sum(w.documents for w in writers.values()), tokens=sum(w.tokens for w in writers.values()),
        blocks=sum(counts.values()), block_size=block_size, tokens_in_blocks=sum(counts.values()) * block_size,
        tokens_dropped_tail=sum(tails.values()),
    )
    if model_params:
        budget = chinchilla_budget(model_params)
        report.model_params, report.chinchilla_tokens = model_params, budget
        report.corpus_vs_budget = round(report.tokens / budget, 6)
        report.epochs_for_budget = round(budget / max(1, report.tokens_in_blocks), 3)
    (out / "dataset_dict.json").write_text(json.dumps({"splits": list(counts)}))
    stats = {"settings": settings or {"kind": "pretrain", "block_size": block_size}, "splits": counts,
             "tokens": {"tokens": report.tokens_in_blocks, "trained_tokens": None, "mean_length": block_size,
                        "median_length": block_size, "max_length": block_size},
             "pack": report.as_dict()}
    (out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2))
    return counts, report
