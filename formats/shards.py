"""Streaming pretraining build: blocks written to Arrow shards as they fill, memory flat in corpus size.

The output is a ``save_to_disk`` DatasetDict folder (``train/`` and ``validation/``, each a list of
Arrow stream shards ``data-NNNNN-of-streamed.arrow`` plus ``state.json``/``dataset_info.json``), so
``datasets.load_from_disk`` memory-maps it and nothing is loaded whole. A document goes to validation
when the hash of (seed, its text) falls under ``val_ratio``: decided per document, so no list of
documents is held and a document never spans both splits. Each split packs its own stream.

Resume after kill -9: a shard is written to a temporary name and renamed when complete, so a shard on
disk is always whole. The rerun streams the input again and skips writing a shard that already exists
*and holds exactly the tokens it would write* (read back and compared: another input or tokenizer
never leaves old blocks behind); shards beyond the new count are removed. ``state.json`` is written
last, so an interrupted folder is not loadable.

Speed: documents are encoded in batches by the tokenizer's Rust backend (``tokenizers.Tokenizer.
encode_batch``, what datatrove's DocumentTokenizer calls; transformers' ``__call__`` adds a Python
layer that costs a third of the time) and packed with numpy. ``workers`` > 1 encodes batches in
that many processes; batches come back in input order, so the shards are the same for any count.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np

from jinglian.formats.pretrain import PackReport, chinchilla_budget

SHARD_BLOCKS = 4096  # blocks per shard: 16 MiB of int32 at 1,024 tokens, the unit of resume
SPLITS = ("train", "validation")
BATCH_DOCS = 1000  # documents per encode_batch call (and per task sent to a worker)


def is_validation(text: str, val_ratio: float, seed: int) -> bool:
    """Per-document split from a hash of (seed, text): stable across runs and input order."""
    if val_ratio <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < val_ratio


class _SplitWriter:
    """Packs one split's token stream into blocks and writes every ``shard_blocks`` blocks as one shard."""

    def __init__(self, folder: Path, block_size: int, shard_blocks: int, parquet: Path | None = None):
        self.folder, self.block_size, self.shard_blocks, self.parquet = folder, block_size, shard_blocks, parquet
        self.parts: list[np.ndarray] = []  # tokens not yet in a shard: less than a shard plus a batch
        self.held = 0
        self.shards: list[str] = []
        self.documents = self.tokens = self.blocks = 0

    def add(self, flat: np.ndarray, documents: int) -> None:
        """``flat``: the documents' ids, each followed by EOS."""
        self.documents += documents
        self.tokens += len(flat)
        self.parts.append(flat)
        self.held += len(flat)
        shard_tokens = self.block_size * self.shard_blocks
        if self.held >= shard_tokens:
            stream = np.concatenate(self.parts)
            full = len(stream) // shard_tokens * shard_tokens
            for i in range(0, full, shard_tokens):
                self._write(stream[i:i + shard_tokens])
            self.parts, self.held = [stream[full:]], len(stream) - full

    def _write(self, tokens: np.ndarray) -> None:
        import pyarrow as pa

        name = f"data-{len(self.shards):05d}-of-streamed.arrow"
        self.shards.append(name)
        self.blocks += len(tokens) // self.block_size
        path = self.folder / name
        if _holds(path, tokens):  # written completely by an interrupted run (renamed only when whole)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        offsets = np.arange(0, len(tokens) + 1, self.block_size, dtype=np.int32)
        blocks = pa.ListArray.from_arrays(pa.array(offsets), pa.array(tokens, type=pa.int32()))
        table = pa.table({"input_ids": blocks})
        if self.parquet is not None:  # before the Arrow shard: an existing shard implies its copy is whole
            import pyarrow.parquet as pq

            self.parquet.mkdir(parents=True, exist_ok=True)
            copy = self.parquet / f"{path.stem}.parquet"
            pq.write_table(table, str(copy.with_suffix(".tmp")))
            os.replace(copy.with_suffix(".tmp"), copy)
        tmp = path.with_suffix(".tmp")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)

    def close(self) -> int:
        stream = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int32)
        full = len(stream) // self.block_size * self.block_size
        if full:
            self._write(stream[:full])
        self.parts, self.held = [], 0
        for folder, suffix in ((self.folder, ".arrow"), (self.parquet, ".parquet")):  # an earlier, longer build's
            for stale in sorted(folder.glob(f"data-*-of-streamed{suffix}")) if folder and folder.is_dir() else []:
                if stale.with_suffix(".arrow").name not in self.shards:
                    stale.unlink()
        if self.shards:
            _write_dataset_metadata(self.folder, self.shards)
        return len(stream) - full  # tail tokens dropped


def _holds(path: Path, tokens: np.ndarray) -> bool:
    """Whether the shard at ``path`` exists and holds exactly ``tokens`` (a stale shard of another input,
    tokenizer or seed does not)."""
    if not path.exists():
        return False
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        column = pa.ipc.open_stream(source).read_all().column("input_ids").combine_chunks()
    return np.array_equal(column.flatten().to_numpy(zero_copy_only=False), tokens)


def _write_dataset_metadata(folder: Path, shards: list[str]) -> None:
    from datasets import DatasetInfo, Features, Sequence, Value

    DatasetInfo(features=Features({"input_ids": Sequence(Value("int32"))})).write_to_directory(str(folder))
    state = {"_data_files": [{"filename": s} for s in shards], "_fingerprint": hashlib.sha1("".join(shards).encode()).hexdigest()[:16],
             "_format_columns": None, "_format_kwargs": {}, "_format_type": None, "_output_all_columns": False, "_split": None}
    (folder / "state.json").write_text(json.dumps(state, indent=2))


def _tokenizer_json(tokenizer: Any) -> str:
    """The tokenizer's Rust backend as JSON, from transformers' object or
    ``formats.tokenizer.load_pretrain_tokenizer`` (no transformers import)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError("build pretrain needs a fast tokenizer (a folder with tokenizer.json)")
    return backend.to_str()


def _flatten(id_lists: list[list[int]], eos_id: int) -> np.ndarray:
    """Documents' ids → one int32 stream, EOS after each document."""
    lengths = np.fromiter(map(len, id_lists), np.int64, len(id_lists))
    ends = np.cumsum(lengths + 1) - 1
    flat = np.empty(int(lengths.sum()) + len(id_lists), np.int32)
    keep = np.ones(len(flat), bool)
    keep[ends] = False
    flat[keep] = np.fromiter(chain.from_iterable(id_lists), np.int32, int(lengths.sum()))
    flat[ends] = eos_id
    return flat


class _BatchEncoder:
    """One batch of texts → per split (token stream, documents); what a worker process runs."""

    def __init__(self, tokenizer_json: str, eos_id: int, val_ratio: float, seed: int):
        from tokenizers import Tokenizer

        # a copy of the backend that splits special tokens found in the text (web text that contains
        # ``<|endoftext|>`` must not end a document early, as ``split_special_tokens=True``)
        self.tokenizer_json = tokenizer_json
        self.encoder = Tokenizer.from_str(tokenizer_json)
        self.encoder.encode_special_tokens = True
        self.encoder.no_padding()
        self.encoder.no_truncation()
        self.eos_id, self.val_ratio, self.seed = eos_id, val_ratio, seed

    def __call__(self, texts: list[str]) -> dict[str, tuple[np.ndarray, int]]:
        ids = [e.ids for e in self.encoder.encode_batch(texts, add_special_tokens=False)]
        val = [is_validation(t, self.val_ratio, self.seed) for t in texts]
        out = {}
        for split in SPLITS:
            mine = [x for x, v in zip(ids, val, strict=True) if v == (split == "validation")]
            if mine:
                out[split] = (_flatten(mine, self.eos_id), len(mine))
        return out


_WORKER: _BatchEncoder | None = None


def _worker_init(*args: Any) -> None:
    global _WORKER
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the processes are the parallelism
    _WORKER = _BatchEncoder(*args)


def _worker_encode(texts: list[str]) -> dict[str, tuple[np.ndarray, int]]:
    assert _WORKER is not None
    return _WORKER(texts)


def encode_batches(
    texts: Iterable[str], encoder: _BatchEncoder, workers: int, batch_docs: int = BATCH_DOCS
) -> Iterator[dict[str, tuple[np.ndarray, int]]]:
    """Encoded batches in input order; with workers, at most 2 batches per worker in flight (memory flat)."""
    it = iter(texts)
    batches = iter(lambda: list(islice(it, batch_docs)), [])
    if workers <= 1:
        yield from map(encoder, batches)
        return
    import multiprocessing

    args = (encoder.tokenizer_json, encoder.eos_id, encoder.val_ratio, encoder.seed)
    # fork: spawn would re-run the caller's main script; workers switch off the Rust thread pool
    with multiprocessing.get_context("fork").Pool(workers, _worker_init, args) as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append(pool.apply_async(_worker_encode, (batch,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def build_shards(
    texts: Iterable[str], tokenizer: Any, out: Path, block_size: int, val_ratio: float = 0.0, seed: int = 0,
    model_params: int | None = None, shard_blocks: int = SHARD_BLOCKS, settings: dict[str, Any] | None = None,
    workers: int = 1, batch_docs: int = BATCH_DOCS, parquet: bool = False,
) -> tuple[dict[str, int], PackReport]:
    """Texts → Arrow shards under ``out``, the report (also in ``out/stats.json``) and a dataset card
    (``out/README.md``). ``workers``: processes encoding batches (the shards do not depend on it);
    ``parquet``: also a Parquet copy of each shard under ``out/parquet/<split>/``
    (``load_dataset("parquet", data_dir=...)``)."""
    if block_size < 2:
        raise ValueError("--block-size must be at least 2")
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token to separate documents")
    out.mkdir(parents=True, exist_ok=True)
    # shards of an interrupted run are reused only for the same settings (else they would be stale blocks)
    from jinglian.formats.export import check_val_ratio

    check_val_ratio(val_ratio)
    tokenizer_json = _tokenizer_json(tokenizer)
    key = {"block_size": block_size, "val_ratio": val_ratio, "seed": seed, "shard_blocks": shard_blocks,
           "eos_id": tokenizer.eos_token_id, "vocab": len(tokenizer), "parquet": parquet,
           "tokenizer_sha256": hashlib.sha256(tokenizer_json.encode()).hexdigest()}
    key_file = out / "build_key.json"
    if key_file.exists() and json.loads(key_file.read_text()) != key:
        old = json.loads(key_file.read_text())
        changed = ", ".join(k for k in key if old.get(k) != key[k])
        raise ValueError(f"{out}: holds shards built with other settings ({changed}); use a new --out or remove it")
    key_file.write_text(json.dumps(key))
    writers = {s: _SplitWriter(out / s, block_size, shard_blocks, out / "parquet" / s if parquet else None) for s in SPLITS}
    encoder = _BatchEncoder(tokenizer_json, tokenizer.eos_token_id, val_ratio, seed)
    for batch in encode_batches(texts, encoder, workers, batch_docs):
        for split, (flat, documents) in batch.items():
            writers[split].add(flat, documents)
    tails = {s: w.close() for s, w in writers.items()}
    counts = {s: w.blocks for s, w in writers.items() if w.blocks}
    if not counts:
        total = sum(w.tokens for w in writers.values())
        raise ValueError(f"the corpus has {total} tokens: fewer than one block of {block_size}")
    if "train" not in counts:  # streamed per document: nothing can be moved back once written
        raise ValueError(f"--val-ratio {val_ratio} left the train split without one block of {block_size} tokens "
                         f"({writers['train'].tokens} train tokens): lower --val-ratio or add documents")
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
    from jinglian.formats.export import dataset_card

    (out / "README.md").write_text(dataset_card(stats, ["input_ids"]))
    return counts, report
