"""Read training data: ``save_to_disk`` folders (Dataset or DatasetDict), JSONL, JSON or Parquet files."""

from __future__ import annotations

import logging
from pathlib import Path

from jinglian.train.config import DataSpec

log = logging.getLogger(__name__)
EVAL_SPLITS = ("test", "validation", "eval", "valid")


def _read(path: str):
    try:
        return _load(path)
    except (IndexError, StopIteration):  # `datasets` on a folder of 0 shards or an empty JSON file
        raise ValueError(f"{path}: the dataset is empty (no records)") from None


def _load(path: str):
    from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    if p.is_dir() and ((p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists()):
        return load_from_disk(str(p))
    files = sorted(p.rglob("*")) if p.is_dir() else [p]
    by_ext: dict[str, list[str]] = {}
    for f in files:
        name = f.name.removesuffix(".gz")
        for ext, builder in ((".jsonl", "json"), (".json", "json"), (".parquet", "parquet")):
            if name.endswith(ext):
                by_ext.setdefault(builder, []).append(str(f))
    if len(by_ext) != 1:
        raise ValueError(f"{path}: expected a save_to_disk folder or JSONL/Parquet file(s), found {sorted(by_ext) or 'none'}")
    builder, data_files = next(iter(by_ext.items()))
    ds = load_dataset(builder, data_files=data_files, split="train")
    assert isinstance(ds, Dataset | DatasetDict)
    return ds


def _pick(ds, split: str | None, path: str, default_eval: bool = False):
    from datasets import DatasetDict

    if not isinstance(ds, DatasetDict):
        return ds if not default_eval else None
    if split:
        if split not in ds:
            raise ValueError(f"{path} has splits {sorted(ds)}, not {split!r}")
        return ds[split]
    if default_eval:
        return next((ds[s] for s in EVAL_SPLITS if s in ds), None)
    raise ValueError(f"{path} has splits {sorted(ds)}: set data.split")


def load_splits(spec: DataSpec):
    """(train, eval or None): eval from ``data.eval``, else the dataset's test/validation split, else
    ``eval_fraction`` of train (seeded)."""
    full = _read(spec.train)
    train = _pick(full, spec.split, spec.train)
    if spec.eval:
        evald = _read(spec.eval)
        evald = _pick(evald, spec.eval_split, spec.eval, default_eval=True) or evald
    else:
        evald = _pick(full, spec.eval_split, spec.train, default_eval=True)
    if len(train) == 0:  # before any split: `datasets` fails on an empty one with its own message
        raise ValueError(f"{spec.train}: the training split is empty")
    if evald is None and spec.eval_fraction > 0:
        if len(train) < 2:  # the builders' rule too: train keeps at least one record, eval is left out
            log.warning("data.eval_fraction %s: %s has %d record; no eval set carved out", spec.eval_fraction,
                        spec.train, len(train))
        else:
            parts = train.train_test_split(test_size=spec.eval_fraction, seed=spec.seed)
            train, evald = parts["train"], parts["test"]
    return train, evald


def require_columns(ds, stage: str, *options: tuple[str, ...]) -> None:
    """Fail with a clear message unless ``ds`` has one of the column sets in ``options``."""
    cols = set(ds.column_names)
    if not any(set(o) <= cols for o in options):
        wanted = " or ".join("/".join(o) for o in options)
        raise ValueError(f"{stage} needs a dataset with columns {wanted}; this one has {sorted(cols)}")
