"""Incremental dedup index: "dedup this week's crawl against the corpus we already have".

An index folder holds ``index.json`` (format, version and the :class:`DedupConfig` identity it was
built with) and ``segments/NNNNN.*``: one signature set (``store.py``) per batch added, holding the
documents that batch kept. A run reads every segment as an earlier source, so a new document that
duplicates an indexed one is dropped and indexed documents are never dropped again; after the run
the batch's survivors become a new segment.

Why these files and not a pickled datasketch ``MinHashLSH``: that pickle is one Python dict of
all band keys, loaded whole into memory for every batch and rewritten whole after it; segments are
plain numpy files, memory-mapped, appended without touching old ones, and the same files the
pipeline already writes, so the bucket stage treats index and batch alike.

A segment records the fingerprint of the batch it came from: re-running a finished batch (a
resumed run) does not add it twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xxhash

from jinglian.corpus.dedup.minhash import DedupConfig
from jinglian.corpus.dedup.store import EMPTY, SignatureSet, StoreError, write_set

FORMAT = "jinglian-dedup-index"
VERSION = 2  # 2: the identity records t2s, the key version and the short-text n-gram rule
# What to tell a user whose run differs from the index in one setting
_HINTS = {
    "t2s": "use --t2s/--no-t2s as when the index was built",
    "ngram": "use the --ngram the index was built with",
    "short_ngram": "use the --short-ngram the index was built with",
    "short_below": "use the --short-below the index was built with",
    "num_perm": "use --bands x --rows giving the index's number of values",
}


class DedupIndexError(ValueError):
    """The index folder is not a jinglian dedup index, is damaged, or was built with other settings."""


class DedupIndex:
    def __init__(self, folder: str | Path, config: DedupConfig):
        self.folder, self.config = Path(folder), config

    @classmethod
    def open(cls, folder: str | Path, config: DedupConfig) -> DedupIndex:
        """Open (creating it when the folder is new or empty) and validate every segment."""
        index = cls(folder, config)
        meta_path = index.folder / "index.json"
        if not meta_path.exists():
            if index.folder.exists() and any(index.folder.iterdir()):
                raise DedupIndexError(
                    f"{index.folder}: not a jinglian dedup index (no index.json, folder not empty)"
                )
            index.folder.mkdir(parents=True, exist_ok=True)
            meta = {"format": FORMAT, "version": VERSION, "config": config.identity()}
            meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        index._validate()
        return index

    def _validate(self) -> None:
        path = self.folder / "index.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DedupIndexError(f"{path}: corrupted index metadata ({err})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise DedupIndexError(
                f"{path}: not a jinglian dedup index (format {meta.get('format') if isinstance(meta, dict) else None!r})"
            )
        if meta.get("version") != VERSION:
            raise DedupIndexError(
                f"{path}: index version {meta.get('version')}, this jinglian reads version {VERSION}"
            )
        built, run = meta.get("config") or {}, self.config.identity()
        for setting in run:
            if built.get(setting) != run[setting]:
                hint = _HINTS.get(setting, "it was built by another jinglian version")
                raise DedupIndexError(
                    f"{path}: index built with {setting}={built.get(setting)}, this run has "
                    f"{setting}={run[setting]}; {hint}, or start a new index"
                )
        for manifest in self._manifests():
            try:
                info = json.loads(manifest.read_text(encoding="utf-8"))
                SignatureSet(self._prefix(manifest), self.config.num_perm).check(
                    expected=info["documents"], with_ids=True
                )
            except (OSError, KeyError, TypeError, json.JSONDecodeError, StoreError) as err:
                raise DedupIndexError(
                    f"{manifest.parent}: corrupted index segment {manifest.name} ({err})"
                ) from None

    def _manifests(self) -> list[Path]:
        return sorted((self.folder / "segments").glob("*.manifest.json"))

    @staticmethod
    def _prefix(manifest: Path) -> Path:
        return manifest.with_name(manifest.name.removesuffix(".manifest.json"))

    def segment_prefixes(self) -> list[str]:
        return [str(self._prefix(m)) for m in self._manifests()]

    def documents(self) -> int:
        return sum(json.loads(m.read_text())["documents"] for m in self._manifests())

    def add_batch(self, shards: list[SignatureSet], removed: list[np.ndarray]) -> int | None:
        """Add the documents each shard kept (``removed[i]``: positions dropped); returns how many.

        Returns None when this batch (same fingerprint) is already in the index.
        """
        digest = xxhash.xxh3_128()
        for shard in shards:
            digest.update(np.ascontiguousarray(shard.exact).tobytes())
            digest.update("\n".join(shard.ids).encode("utf-8"))
        batch = digest.hexdigest()
        manifests = self._manifests()
        if any(json.loads(m.read_text()).get("batch") == batch for m in manifests):
            return None
        sigs, exact, kind, ids = [], [], [], []
        for shard, drop in zip(shards, removed, strict=True):
            keep = np.ones(len(shard), bool)
            keep[drop.astype(np.intp)] = False
            keep &= shard.kind != EMPTY
            rows = np.flatnonzero(keep)
            sigs.append(np.asarray(shard.sigs[rows]))
            exact.append(shard.exact[rows])
            kind.append(shard.kind[rows])
            ids.extend(shard.ids[i] for i in rows.tolist())
        number = 1 + max((int(m.name.split(".")[0]) for m in manifests), default=-1)
        prefix = self.folder / "segments" / f"{number:05d}"
        empty = np.zeros((0, self.config.num_perm), np.uint32)
        write_set(
            prefix,
            np.concatenate(sigs) if sigs else empty,
            np.concatenate(exact) if exact else np.zeros(0),
            np.concatenate(kind) if kind else np.zeros(0),
            ids,
        )
        manifest = prefix.with_name(prefix.name + ".manifest.json")
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps({"documents": len(ids), "batch": batch}), encoding="utf-8")
        os.replace(tmp, manifest)  # the manifest makes the segment visible: written last
        return len(ids)
