"""Dedup as four datatrove steps: signature -> buckets -> cluster -> filter (datatrove's MinHash shape).

1. :class:`DedupSignature` (one task per input shard, in the same pipeline as the reader): dedup key,
   exact hash and MinHash signature of every document, saved per task; documents pass through, so
   a curate pipeline can write them on after it.
2. :class:`DedupBuckets` (one task per LSH band, plus one for the exact hashes): candidate pairs
   sharing a band key, verified on the signatures, saved per band.
3. :class:`DedupCluster` (one task): union-find over all pairs; the smallest node of a cluster
   survives; per shard, the positions to drop with the id they duplicate and estimated Jaccard.
4. :class:`DedupFilter` (one task per shard, after a reader that replays the same documents):
   drops them, counted and written to ``rejected/dedup/``.

Every step writes only files named after its own rank, so the result does not depend on how many
workers run the tasks, and a killed run resumes from datatrove's completion markers.
Work files live in a local (or shared, for Slurm) folder ``work``; see ``store.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from jinglian.corpus.dedup.clusters import bucket_pairs, cluster
from jinglian.corpus.dedup.minhash import DEFAULT_CONFIG, DedupConfig, MinHasher
from jinglian.corpus.dedup.shingles import dedup_key, exact_hash
from jinglian.corpus.dedup.store import (
    EMPTY,
    GATHER_ROWS,
    HAS_SIGNATURE,
    SHORT,
    SignatureSet,
    gather,
    node_ids,
    write_set,
)
from jinglian.corpus.stats import IN, KEPT, AccountedStep

BATCH = 512  # documents signed per numpy pass
EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"


def shard_prefix(work: str | Path, rank: int) -> Path:
    return Path(work) / "signatures" / f"{rank:05d}"


def _sources(index_prefixes: list[str], work: str | Path, shards: int, num_perm: int) -> list[SignatureSet]:
    """Index segments first, then this run's shards: the order that decides who survives."""
    prefixes = [Path(p) for p in index_prefixes] + [shard_prefix(work, r) for r in range(shards)]
    return [SignatureSet(p, num_perm) for p in prefixes]


class DedupSignature(PipelineStep):
    """Stage 1: key, exact hash and signature per document; passes the documents on unchanged."""

    type = "jinglian"
    name = "dedup signature"

    def __init__(self, work: str | Path, config: DedupConfig = DEFAULT_CONFIG):
        super().__init__()
        self.work, self.config = str(work), config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        hasher = MinHasher(self.config)
        sigs, exact, kind, ids = [], [], [], []
        batch = []
        for doc in data or ():
            batch.append(doc)
            if len(batch) == BATCH:
                self._sign(hasher, batch, sigs, exact, kind, ids)
                yield from batch
                batch = []
        self._sign(hasher, batch, sigs, exact, kind, ids)
        yield from batch
        matrix = np.concatenate(sigs) if sigs else np.zeros((0, self.config.num_perm), np.uint32)
        write_set(
            shard_prefix(self.work, rank), matrix, np.array(exact, np.uint64), np.array(kind, np.uint8), ids
        )

    def _sign(self, hasher: MinHasher, batch: list, sigs: list, exact: list, kind: list, ids: list) -> None:
        """Signatures a batch at a time: numpy's per-call overhead dominated one document at a time."""
        if not batch:
            return
        with self.track_time():
            keys = [dedup_key(doc.text, t2s=self.config.t2s) for doc in batch]
            matrix, has = hasher.signatures(keys)
            sigs.append(matrix)
            kind.extend(
                HAS_SIGNATURE if h else (SHORT if k else EMPTY) for k, h in zip(keys, has, strict=True)
            )
            exact.extend(exact_hash(k) if k else 0 for k in keys)
            ids.extend(str(doc.id) for doc in batch)
        self.stat_update("documents", value=len(batch))


def _band_keys(hasher: MinHasher, sset: SignatureSet, band: int) -> np.ndarray:
    """One band's keys, GATHER_ROWS rows at a time from a map dropped after each slice: a band's
    columns touch every page of the row-major file, and a map kept open holds them all resident."""
    path, parts = str(sset.prefix) + ".sig.npy", []
    for start in range(0, len(sset), GATHER_ROWS):
        sigs = np.load(path, mmap_mode="r")
        parts.append(hasher.band_keys(sigs[start : start + GATHER_ROWS], band))
        del sigs
    return np.concatenate(parts) if parts else np.zeros(0, np.uint64)


class DedupBuckets(PipelineStep):
    """Stage 2: task ``b < bands`` pairs documents sharing band ``b``; task ``bands`` exact hashes."""

    type = "jinglian"
    name = "dedup buckets"

    def __init__(
        self, work: str | Path, shards: int, config: DedupConfig = DEFAULT_CONFIG, index_prefixes=()
    ):
        super().__init__()
        self.work, self.shards, self.config = str(work), shards, config
        self.index_prefixes = [str(p) for p in index_prefixes]

    @property
    def tasks(self) -> int:
        return self.config.bands + 1

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        cfg = self.config
        sets = _sources(self.index_prefixes, self.work, self.shards, cfg.num_perm)
        hasher = MinHasher(cfg)
        exact_task = rank == cfg.bands
        keys, nodes, fixed = [], [], []
        with self.track_time():
            for s, sset in enumerate(sets):
                sset.check()
                usable = sset.kind != EMPTY if exact_task else sset.kind == HAS_SIGNATURE
                rows = np.flatnonzero(usable)
                keys.append(sset.exact[rows] if exact_task else _band_keys(hasher, sset, rank)[rows])
                nodes.append(node_ids(s, len(sset))[rows])
                fixed.append(np.full(len(rows), s < len(self.index_prefixes)))
            a, b, j = bucket_pairs(
                np.concatenate(keys),
                np.concatenate(nodes),
                fixed=np.concatenate(fixed),
                signatures=None if exact_task else (lambda n: gather(sets, n, cfg.num_perm)),
                threshold=cfg.threshold,
                max_checks=cfg.max_checks,
            )
            out = Path(self.work) / "pairs" / f"{rank:03d}.npz"
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out.with_suffix(".tmp"), "wb") as f:
                np.savez(f, a=a, b=b, j=j)
            out.with_suffix(".tmp").replace(out)
        self.stat_update("pairs", value=len(a))
        return iter(())


class DedupCluster(PipelineStep):
    """Stage 3 (one task): clusters, survivors, and per shard what to drop and why."""

    type = "jinglian"
    name = "dedup cluster"

    def __init__(
        self, work: str | Path, shards: int, config: DedupConfig = DEFAULT_CONFIG, index_prefixes=()
    ):
        super().__init__()
        self.work, self.shards, self.config = str(work), shards, config
        self.index_prefixes = [str(p) for p in index_prefixes]

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        cfg, work = self.config, Path(self.work)
        sets = _sources(self.index_prefixes, work, self.shards, cfg.num_perm)
        first_shard = len(self.index_prefixes)
        with self.track_time():
            parts = []
            for task in range(cfg.bands + 1):
                with np.load(work / "pairs" / f"{task:03d}.npz") as f:
                    parts.append(np.stack([f["a"], f["b"]], axis=1))
            edges = np.unique(np.concatenate(parts), axis=0) if parts else np.zeros((0, 2), np.uint64)
            survivors = cluster(edges[:, 0], edges[:, 1])
            dups = np.array(sorted(d for d in survivors if d >> 32 >= first_shard), np.uint64)
            keeps = np.array([survivors[int(d)] for d in dups], np.uint64)
            sims = (gather(sets, dups, cfg.num_perm) == gather(sets, keeps, cfg.num_perm)).mean(axis=1)
            exact_of = lambda nodes: np.array(  # noqa: E731
                [sets[int(n) >> 32].exact[int(n) & 0xFFFFFFFF] for n in nodes], np.uint64
            )
            is_exact = exact_of(dups) == exact_of(keeps)
            sims = np.where(is_exact, 1.0, sims).astype(np.float32)
            shard_of = (dups >> np.uint64(32)).astype(np.int64) - first_shard
            out = work / "remove"
            out.mkdir(parents=True, exist_ok=True)
            for shard in range(self.shards):
                mask = shard_of == shard
                of_ids = [sets[int(k) >> 32].ids[int(k) & 0xFFFFFFFF] for k in keeps[mask]]
                of_path = out / f"{shard:05d}.json"
                of_path.with_suffix(".tmp").write_text(
                    json.dumps(of_ids, ensure_ascii=False), encoding="utf-8"
                )
                with open(out / f"{shard:05d}.npz.tmp", "wb") as f:
                    np.savez(
                        f,
                        pos=(dups[mask] & np.uint64(0xFFFFFFFF)).astype(np.uint32),
                        j=sims[mask],
                        exact=is_exact[mask],
                    )
                (out / f"{shard:05d}.npz.tmp").replace(out / f"{shard:05d}.npz")
                of_path.with_suffix(".tmp").replace(of_path)
            kinds = (
                np.concatenate([s.kind for s in sets[first_shard:]]) if self.shards else np.zeros(0, np.uint8)
            )
            summary = {
                "documents": int(len(kinds)),
                "exact_only_short": int((kinds == SHORT).sum()),
                "not_deduplicated_empty": int((kinds == EMPTY).sum()),
                "candidate_edges": int(len(edges)),
                "duplicates": int(len(dups)),
                "exact_duplicates": int(is_exact.sum()),
                "near_duplicates": int((~is_exact).sum()),
                "duplicates_of_index": int((keeps >> np.uint64(32) < first_shard).sum()),
                "clusters": int(len(set(keeps.tolist()))),
                "largest_cluster": int(np.unique(keeps, return_counts=True)[1].max() + 1)
                if len(keeps)
                else 1,
            }
            (work / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return iter(())


class DedupFilter(AccountedStep):
    """Stage 4: drops the duplicates stage 3 found; needs the documents in stage 1's order."""

    name = "dedup"

    def __init__(
        self, work: str | Path, config: DedupConfig = DEFAULT_CONFIG, rejects_dir: str | None = None
    ):
        super().__init__(rejects_dir)
        self.work, self.config = str(work), config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        work = Path(self.work)
        shard = SignatureSet(shard_prefix(work, rank), self.config.num_perm)
        shard.check()
        with np.load(work / "remove" / f"{rank:05d}.npz") as f:
            pos, sims, exact = f["pos"], f["j"], f["exact"]
        of_ids = json.loads((work / "remove" / f"{rank:05d}.json").read_text(encoding="utf-8"))
        drops = {
            int(p): (float(j), bool(e), of) for p, j, e, of in zip(pos, sims, exact, of_ids, strict=True)
        }
        kind = shard.kind
        seen = 0
        with self.rejects() as rejects:
            for i, doc in enumerate(data or ()):
                seen = i + 1
                self.stat_update(IN)
                if i >= len(kind):
                    raise RuntimeError(
                        f"dedup task {rank}: more documents than stage 1 saw; did the input change?"
                    )
                if kind[i] == SHORT:
                    self.stat_update("exact_only_short")
                elif kind[i] == EMPTY:
                    self.stat_update("not_deduplicated_empty")
                if i in drops:
                    j, is_exact, of = drops[i]
                    doc.metadata["duplicate_of"] = of
                    doc.metadata["dedup_jaccard"] = round(j, 4)
                    self.drop(
                        doc, (EXACT_DUPLICATE if is_exact else NEAR_DUPLICATE, round(j, 4)), rank, rejects
                    )
                else:
                    self.stat_update(KEPT)
                    yield doc
        if seen != len(kind):
            raise RuntimeError(
                f"dedup task {rank}: {seen} documents, stage 1 saw {len(kind)}; did the input change?"
            )
