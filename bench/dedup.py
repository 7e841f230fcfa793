"""Benchmark: jinglian dedup against datasketch, rensa and datatrove on the same Chinese corpus.

    .venv/bin/python bench/dedup.py                      # 10,000 documents, all four engines
    .venv/bin/python bench/dedup.py --docs 1000000 --engines jinglian --workers 2 --files 16   # the 1M run

~700-character documents from real Chinese sentences, a fifth of them planted variants (character
edits at known rates, 繁体 + ASCII punctuation, swapped sentences, whitespace-only copies); true
Jaccard (character 5-grams of the normalized text) by brute force for every planted pair and a
sample of each engine's reported pairs. Each engine runs in its own process. What each engine
runs exactly, and the results, are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# bench/ is on sys.path when run as a script
from dedup_corpus import NGRAM, LazyKeys, build_corpus, true_jaccard

NUM_PERM, THRESHOLD = 112, 0.7


# --- engines (each in a child process) ---------------------------------------------------------


def best_rate(sign, sample: list[str], repeats: int = 3) -> float:
    """Documents/s of ``sign(sample)``, best of ``repeats``: other load on a shared machine only slows."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sign(sample)
        best = min(best, time.perf_counter() - started)
    return len(sample) / best


def shingle_strings(key: str) -> list[str]:
    return [key[i : i + NGRAM] for i in range(len(key) - NGRAM + 1)]


def read_rejected_pairs(out: Path) -> list[tuple[int, int]]:
    import gzip

    pairs = []
    for path in sorted((out / "rejected" / "dedup").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                pairs.append((int(record["metadata"]["duplicate_of"]), int(record["id"])))
    return pairs


def engine_jinglian(docs: list[str], folder: Path, workers: int, memory) -> dict:
    from jinglian.corpus.dedup.minhash import DedupConfig, MinHasher
    from jinglian.corpus.dedup.runner import run_dedup
    from jinglian.corpus.dedup.shingles import dedup_key

    bands, rows = map(int, os.environ.get("BENCH_LAYOUT", "16x7").split("x"))
    config = DedupConfig(bands=bands, rows=rows)
    hasher = MinHasher(config)
    hasher.signatures([dedup_key(t) for t in docs[:10]])  # builds the lookup tables once

    def sign(texts):  # as DedupSignature does: key per document, signatures per batch of 512
        for i in range(0, len(texts), 512):
            hasher.signatures([dedup_key(t) for t in texts[i : i + 512]])

    sig_rate = best_rate(sign, docs[:5000])
    files = sorted(str(p) for p in (folder / "corpus").glob("*.jsonl"))
    memory.start()
    started = time.perf_counter()
    run_dedup(
        files,
        folder / "out-jinglian",
        config=config,
        workers=workers,
        fmt=os.environ.get("BENCH_FORMAT", "jsonl"),
    )
    e2e = time.perf_counter() - started
    return {"sig_docs_per_s": sig_rate, "e2e_s": e2e, "pairs": read_rejected_pairs(folder / "out-jinglian")}


def _in_memory_engine(docs: list[str], memory, sign_one, make_lsh, insert) -> dict:
    """datasketch and rensa: signatures on jinglian's shingles, then their LSH, all in memory."""
    from jinglian.corpus.dedup.shingles import dedup_key

    def sign(texts):
        return [sign_one(shingle_strings(dedup_key(t))) for t in texts]

    dedup_key("預熱")  # lookup tables built outside the timing, as for jinglian
    sig_rate = best_rate(sign, docs[:2000])
    memory.start()
    started = time.perf_counter()
    sigs = sign(docs)
    lsh = make_lsh()
    for i, sig in enumerate(sigs):
        insert(lsh, i, sig)
    pairs = [(j, i) for i, sig in enumerate(sigs) for j in lsh.query(sig) if j < i]
    return {"sig_docs_per_s": sig_rate, "e2e_s": time.perf_counter() - started, "pairs": pairs, "lsh": lsh}


def engine_datasketch(docs: list[str], folder: Path, workers: int, memory) -> dict:
    from datasketch import MinHash, MinHashLSH

    def sign_one(shingles):
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode("utf-8") for s in shingles])
        return m

    make_lsh = lambda: MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)  # noqa: E731
    result = _in_memory_engine(docs, memory, sign_one, make_lsh, lambda lsh, i, m: lsh.insert(i, m))
    lsh = result.pop("lsh")
    return result | {"note": f"LSH bands x rows chosen by datasketch: {lsh.b}x{lsh.r}"}


def engine_rensa(docs: list[str], folder: Path, workers: int, memory) -> dict:
    from rensa import RMinHash, RMinHashLSH

    def sign_one(shingles):
        m = RMinHash(num_perm=NUM_PERM, seed=1)
        m.update(shingles)
        return m

    make_lsh = lambda: RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)  # noqa: E731
    result = _in_memory_engine(docs, memory, sign_one, make_lsh, lambda lsh, i, m: lsh.insert(i, m))
    result.pop("lsh")
    return result


def engine_datatrove(docs: list[str], folder: Path, workers: int, memory) -> dict:
    import datatrove.pipeline.dedup.minhash as dt
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    sha1 = HashConfig(hash_fc="sha1")
    config = dt.MinhashConfig(n_grams=NGRAM, num_buckets=14, hashes_per_bucket=8, hash_config=sha1)
    signer = dt.MinhashDedupSignature(str(folder / "dt-sig-probe"), config=config, language="zh")
    signer.get_shingles(docs[0])  # loads spaCy and jieba outside the timing
    sig_rate = best_rate(
        lambda texts: [signer.get_signature(signer.get_shingles(t)) for t in texts], docs[:500]
    )

    corpus, w = str(folder / "corpus"), str(folder / "dt")
    tasks = len(list((folder / "corpus").glob("*.jsonl")))
    stages = [
        ([JsonlReader(corpus), dt.MinhashDedupSignature(f"{w}/sigs", config=config, language="zh")], tasks),
        ([dt.MinhashDedupBuckets(f"{w}/sigs", f"{w}/buckets", config=config)], config.num_buckets),
        ([dt.MinhashDedupCluster(f"{w}/buckets", f"{w}/remove", config=config, save_cluster_id=True)], 1),
        ([JsonlReader(corpus), dt.MinhashDedupFilter(f"{w}/remove"), JsonlWriter(f"{w}/out")], tasks),
    ]
    memory.start()
    started = time.perf_counter()
    for n, (pipeline, t) in enumerate(stages):
        LocalPipelineExecutor(pipeline, tasks=t, workers=min(workers, t), logging_dir=f"{w}/logs/{n}").run()
    e2e = time.perf_counter() - started
    return {"sig_docs_per_s": sig_rate, "e2e_s": e2e, "pairs": _datatrove_pairs(folder, Path(w))}


def _datatrove_pairs(folder: Path, work: Path) -> list[tuple[int, int]]:
    """Cluster membership from stage 3's ``.clusters`` files, mapped to document ids."""
    import struct

    ids_by_file = {}
    for k, path in enumerate(sorted((folder / "corpus").glob("*.jsonl"))):
        ids_by_file[k] = [int(json.loads(line)["id"]) for line in path.open(encoding="utf-8")]
    clusters = defaultdict(list)
    for path in sorted((work / "remove").glob("*.clusters")):
        for doc, cid in struct.iter_unpack("<2I", path.read_bytes()):
            clusters[cid].append(ids_by_file[int(path.stem)][doc])
    return [(members[0], other) for members in clusters.values() for other in members[1:]]


ENGINES = {
    "jinglian": engine_jinglian,
    "datasketch": engine_datasketch,
    "rensa": engine_rensa,
    "datatrove": engine_datatrove,
}


def _rss(proc) -> int:
    try:
        return proc.memory_info().rss
    except Exception:  # the worker exited meanwhile
        return 0


class PeakMemory:
    """Peak of the summed RSS of this process and all its descendants, sampled every 20 ms.

    Not ``ru_maxrss``: Linux carries it over from the parent across fork + exec, so every engine
    would report the benchmark driver's own peak.
    """

    def __init__(self):
        import threading

        import psutil

        self.peak, self._stop = 0, threading.Event()
        self._me = psutil.Process()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        """Called by each engine after its signature-rate phase: the sampler costs CPU and the GIL."""
        self._thread.start()

    def _watch(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, sum(map(_rss, [self._me, *self._me.children(recursive=True)])))

    def stop(self) -> float:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.peak / 2**20


def child(engine: str, folder: Path, workers: int) -> None:
    if engine == "jinglian":  # only a sample in memory: the pipeline reads the files itself
        with (folder / "corpus" / "000.jsonl").open(encoding="utf-8") as f:
            docs = [json.loads(line)["text"] for _, line in zip(range(5000), f, strict=False)]
    else:
        docs = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
    memory = PeakMemory()
    result = ENGINES[engine](docs, folder, workers, memory)
    result["peak_mb"] = memory.stop()
    (folder / f"result-{engine}.json").write_text(json.dumps(result))


# --- measuring -----------------------------------------------------------------------------------


def roots(pairs: list[tuple[int, int]]) -> dict[int, int]:
    from jinglian.corpus.dedup.clusters import UnionFind

    uf = UnionFind()
    for a, b in pairs:
        uf.union(a, b)
    return {x: uf.find(x) for x in list(uf.parent)}


def evaluate(
    result: dict, keys: list[str], planted: list[dict], rng: random.Random, sample_pairs: int
) -> dict:
    pairs = [tuple(p) for p in result["pairs"]]
    root = roots(pairs)
    found = [root.get(p["a"], p["a"]) == root.get(p["b"], p["b"]) for p in planted]
    high = [f for f, p in zip(found, planted, strict=True) if p["true_j"] >= 0.8]
    checked = rng.sample(pairs, min(sample_pairs, len(pairs)))
    low = sum(true_jaccard(keys, a, b, cache=False) < 0.5 for a, b in checked)
    curve = defaultdict(lambda: [0, 0])
    for f, p in zip(found, planted, strict=True):
        b = min(int(p["true_j"] * 10), 9)
        curve[b][0] += f
        curve[b][1] += 1
    return {
        "recall": sum(high) / max(1, len(high)),
        "recall_080": sum(f for f, p in zip(found, planted, strict=True) if 0.8 <= p["true_j"] < 0.85)
        / max(1, sum(0.8 <= p["true_j"] < 0.85 for p in planted)),
        "below_05": low / max(1, len(checked)),
        "reported": len(pairs),
        "checked": len(checked),
        "curve": {b: curve[b][0] / curve[b][1] for b in sorted(curve)},
        "curve_n": {b: curve[b][1] for b in sorted(curve)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--engines", default="jinglian,datasketch,rensa,datatrove")
    parser.add_argument("--workers", type=int, default=1, help="worker processes for the pipeline engines")
    parser.add_argument("--files", type=int, default=4, help="input files (tasks) for the pipeline engines")
    parser.add_argument("--sample-pairs", type=int, default=3000, help="reported pairs to brute-force")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", default="jsonl", help="jinglian's output: jsonl (gzip) | parquet")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and outputs")
    parser.add_argument("--layout", default="16x7", help="jinglian LSH bands x rows, to compare layouts")
    parser.add_argument("--short-pairs", type=int, default=3000, help="short-text pairs (dedup_short.py); 0: skip")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.folder), args.workers)
        return

    from jinglian.corpus.dedup.minhash import DedupConfig

    folder = Path(tempfile.mkdtemp(prefix="jinglian-bench-dedup-"))
    started = time.perf_counter()
    docs, planted = build_corpus(folder / "corpus", args.docs, args.seed, args.files)
    if args.engines != "jinglian":
        (folder / "docs.json").write_text(json.dumps(list(docs), ensure_ascii=False), encoding="utf-8")
    keys = LazyKeys(docs)
    rng = random.Random(args.seed)
    probe = rng.sample(range(len(docs) * 4 // 5), min(300, len(docs) * 4 // 5))
    background = max(true_jaccard(keys, a, b) for i, a in enumerate(probe) for b in probe[i + 1 :])
    mean_len = sum(map(len, docs)) / len(docs)  # one pass over the files
    print(
        f"corpus: {len(docs)} documents, mean {mean_len:.0f} characters, {len(planted)} planted pairs "
        f"({sum(p['true_j'] >= 0.8 for p in planted)} with true J >= 0.8); max true J among 300 random "
        f"unplanted documents: {background:.3f}; built in {time.perf_counter() - started:.0f} s; folder {folder}"
    )

    rows = []
    for engine in args.engines.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            engine,
            "--folder",
            str(folder),
            "--workers",
            str(args.workers),
        ]
        env = {**os.environ, "BENCH_FORMAT": args.format, "BENCH_LAYOUT": args.layout}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        path = folder / f"result-{engine}.json"
        if proc.returncode != 0 or not path.exists():
            print(f"{engine}: failed ({(proc.stderr.strip().splitlines() or [proc.returncode])[-1]})")
            continue
        result = json.loads(path.read_text())
        result |= evaluate(result, keys, planted, rng, args.sample_pairs)
        rows.append((engine, result))

    print(
        f"\nsignatures: one core; end to end: {args.workers} worker(s), {args.files} input files, "
        f"jinglian writes {args.format}; "
        f"{NUM_PERM} hash values; true J on character {NGRAM}-grams of normalized text"
    )
    print(
        "| engine | signatures docs/s | end to end s | peak MB | recall J>=0.8 | recall 0.8<=J<0.85 "
        "| reported pairs | J<0.5 among checked |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for engine, r in rows:
        print(
            f"| {engine} | {r['sig_docs_per_s']:,.0f} | {r['e2e_s']:.1f} | {r['peak_mb']:.0f} | {r['recall']:.3f} | "
            f"{r['recall_080']:.3f} | "
            f"{r['reported']} | {r['below_05']:.2%} of {r['checked']} |"
        )
    for engine, r in rows:
        if r.get("note"):
            print(f"{engine}: {r['note']}")
    bands, rows_per_band = map(int, args.layout.split("x"))
    config = DedupConfig(bands=bands, rows=rows_per_band)
    print(
        "\nS-curve: share of planted pairs detected, by true Jaccard; theory at the bin centre: "
        f"bands only = 1-(1-J^{rows_per_band})^{bands}, with verification = that x P[estimate >= {config.threshold}]"
    )
    bins = sorted({b for _, r in rows for b in r["curve"]}, key=int)
    print("| true J | pairs | theory: bands | theory: verified | " + " | ".join(e for e, _ in rows) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(rows))
    for b in bins:
        n = next((r["curve_n"][b] for _, r in rows if b in r["curve_n"]), 0)
        mid = (int(b) + 0.5) / 10
        cells = " | ".join(f"{r['curve'].get(b, float('nan')):.2f}" for _, r in rows)
        band = config.detection_probability(mid)
        verified = config.detection_probability(mid, verified=True)
        print(f"| {int(b) / 10:.1f}-{(int(b) + 1) / 10:.1f} | {n} | {band:.2f} | {verified:.2f} | {cells} |")

    if args.short_pairs:  # the short-text set, same run: recall at 3-gram J >= 0.8 by length
        print("\n" + "\n".join(__import__("dedup_short").evaluate_short(args.short_pairs, args.seed)))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
