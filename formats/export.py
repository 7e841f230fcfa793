"""Write a built dataset: ``datasets`` ``save_to_disk``, Parquet, a dataset card and the books.

Layout of ``OUT/`` (what the trainers read):

```
OUT/dataset_dict.json  OUT/train/  [OUT/validation/]   # DatasetDict.save_to_disk: load_from_disk(OUT)
OUT/parquet/train.parquet  [OUT/parquet/validation.parquet]
OUT/README.md       dataset card: counts, sources, template, strategy, token statistics
OUT/stats.json      the books (records in / kept / rejected by reason, samples, notes) + build settings
OUT/rejected.jsonl  every rejected record with file:line, reason and the record itself
```

The validation split is chosen per *source record* (a hash of ``source``), not per row, so the
samples that ``--strategy expand`` makes from one dialogue never straddle train and validation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jinglian.formats.collect import Books


def check_val_ratio(val_ratio: float) -> None:
    """--val-ratio is a fraction of the records: at least 0 and below 1 (train must keep some)."""
    if not 0 <= val_ratio < 1:
        raise ValueError(f"--val-ratio {val_ratio}: must be at least 0 and below 1 (the share of records for validation)")


def _split_hash(source: str, seed: int) -> float:
    return int(hashlib.sha1(f"{seed}:{source}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of(source: str, val_ratio: float, seed: int = 0) -> str:
    check_val_ratio(val_ratio)
    return "validation" if val_ratio > 0 and _split_hash(source, seed) < val_ratio else "train"


def split_rows(rows: list[dict[str, Any]], val_ratio: float, seed: int = 0) -> tuple[dict[str, list], int]:
    """Rows per split, by source; train is never empty: when every source hashed to validation (a
    handful of records), the source nearest the cut goes back to train. Returns (splits, sources moved)."""
    by_split: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_split.setdefault(split_of(row.get("source", ""), val_ratio, seed), []).append(row)
    if by_split.get("validation") and not by_split.get("train"):
        back = max({r.get("source", "") for r in by_split["validation"]}, key=lambda s: (_split_hash(s, seed), s))
        by_split["train"] = [r for r in by_split["validation"] if r.get("source", "") == back]
        by_split["validation"] = [r for r in by_split["validation"] if r.get("source", "") != back]
        return {k: v for k, v in by_split.items() if v}, 1
    return by_split, 0


def token_stats(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows or "input_ids" not in rows[0]:
        return None
    lengths = sorted(len(r["input_ids"]) for r in rows)
    trained = sum(sum(1 for x in r["labels"] if x != -100) for r in rows) if "labels" in rows[0] else None
    return {
        "tokens": sum(lengths), "trained_tokens": trained, "mean_length": round(sum(lengths) / len(lengths), 1),
        "median_length": lengths[len(lengths) // 2], "max_length": lengths[-1],
    }


def save_dataset(
    rows: list[dict[str, Any]],
    out: Path,
    books: Books | None,
    settings: dict[str, Any],
    val_ratio: float = 0.0,
    seed: int = 0,
    push_to_hub: str | None = None,
    extra: dict[str, Any] | None = None,
    keep_source: bool = True,
) -> dict[str, int]:
    """Save rows under ``out`` (layout above); returns rows per split. ``keep_source=False`` drops the
    ``source`` column after splitting (pretraining blocks: only ``input_ids`` reach the trainer)."""
    from datasets import Dataset, DatasetDict
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # the CLI prints its own summary; per-shard bars are noise here
    if not rows:
        raise ValueError("nothing to write: every record was rejected or dropped (see rejected.jsonl)")
    out.mkdir(parents=True, exist_ok=True)
    by_split, moved = split_rows(rows, val_ratio, seed)
    if moved and books is not None:
        books.notes["validation_source_moved_to_train"] += moved
    dd = DatasetDict({name: Dataset.from_list(by_split[name]) for name in ("train", "validation") if name in by_split})
    if not keep_source:
        dd = dd.remove_columns("source")
    dd.save_to_disk(str(out))
    (out / "parquet").mkdir(exist_ok=True)
    for name, ds in dd.items():
        ds.to_parquet(str(out / "parquet" / f"{name}.parquet"))
    counts = {name: len(ds) for name, ds in dd.items()}
    stats = {"settings": settings, "splits": counts, "tokens": token_stats(rows), **(extra or {})}
    if books is not None:
        stats["books"] = books.as_dict()
    (out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2))
    (out / "README.md").write_text(dataset_card(stats, list(dd["train"].column_names) if "train" in dd else []))
    if push_to_hub:  # needs network and a token: not exercised in tests
        dd.push_to_hub(push_to_hub)
    return counts


def write_documents_parquet(ds, path: Path) -> None:
    """Documents as Parquet with ``metadata`` a struct column, as datatrove's ParquetWriter writes it.

    ``datasets`` types a metadata column whose keys differ between documents as ``Json``, which
    Parquet stores as JSON text: other tools (and jinglian's reader before issue 25) then see a
    string, not url and scores. A struct holds the union of the keys (null where a document has
    none); only when one key has two incompatible types is the JSON text kept (the reader parses it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = ds.data.table if ds._indices is None else ds.flatten_indices().data.table
    column = table.column("metadata") if "metadata" in table.column_names else None
    if column is not None and isinstance(column.type, pa.BaseExtensionType):  # Json: the text itself
        # parsed with json.loads: datasets' own Json decoding turns 0.7 into 0.7000000000000001
        texts = pa.chunked_array([chunk.storage for chunk in column.chunks]).to_pylist()
        try:
            struct = pa.array([json.loads(t) if t is not None else None for t in texts])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            struct = None  # a key with two incompatible types: keep the JSON text
        if struct is not None:
            table = table.set_column(table.column_names.index("metadata"), "metadata", struct)
            pq.write_table(table.replace_schema_metadata(None), str(path))
            return
    ds.to_parquet(str(path))


def dataset_card(stats: dict[str, Any], columns: list[str]) -> str:
    s = stats["settings"]
    lines = [
        "---", "language:", "- zh", "tags:", "- jinglian", f"- {s.get('kind', 'sft')}", "---", "",
        f"# {s.get('kind', 'dataset')} data built by jinglian", "",
        f"Command: `{s.get('command', '')}`", "",
        "| setting | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in s.items() if k != "command"],
        "", f"Columns: {', '.join(f'`{c}`' for c in columns)}", "",
        "Splits: " + ", ".join(f"{k} = {v}" for k, v in stats["splits"].items()), "",
    ]
    books = stats.get("books")
    if books:
        lines += [
            "## Counts", "",
            f"- records in: {books['records_in']} = kept {books['kept']} + rejected {sum(books['rejected'].values())}",
            f"- rejected by reason: {books['rejected'] or 'none'}",
            f"- samples written: {books['samples']}; samples dropped: {books['dropped_samples'] or 'none'}",
            f"- notes: {books['notes'] or 'none'}", "",
            "## Sources", "", *[f"- `{f}`" for f in books["files"]], "",
        ]
    if stats.get("tokens"):
        lines += ["## Tokens", "", *[f"- {k}: {v}" for k, v in stats["tokens"].items()], ""]
    if stats.get("pack"):
        lines += ["## Packing", "", *[f"- {k}: {v}" for k, v in stats["pack"].items()], ""]
    lines += ["## Load", "", "```python", "from datasets import load_from_disk", "ds = load_from_disk('THIS_FOLDER')", "```", ""]
    return "\n".join(lines)
