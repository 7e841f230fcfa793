"""Pretraining data build: jinglian's streamed shards vs the HF run_clm recipe vs datatrove's DocumentTokenizer.

One run, same generated corpus (JSONL with ``text``), same local byte-level BPE (jinglian's demo
tokenizer), block size 1,024. Each engine runs in its own child process, single process, with the
tokenizers' Rust thread pool off (``TOKENIZERS_PARALLELISM=false``, ``RAYON_NUM_THREADS=1``), so peak
RSS (``wait4``'s ru_maxrss) and CPU seconds are that engine's alone; tokens/s per core = document
tokens / (user + sys CPU seconds of the child, imports included). The machine is shared with other
jobs: compare the ratios of one run. datatrove runs with its defaults (it also shuffles the documents
of a task; jinglian and run_clm keep input order).

    nice -n 10 .venv/bin/python bench/pretrain_data.py --tokens 10000000,100000000
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
from pathlib import Path

BLOCK = 1024
ENGINES = ("jinglian", "hf_map_group_texts", "datatrove")
ALPHABET = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"


def generate_corpus(path: Path, chars: int, seed: int = 0) -> int:
    """Documents of 200-3,000 characters of Chinese-like text with punctuation; returns documents."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
    written = docs = 0
    with path.open("w", encoding="utf-8") as f:
        while written < chars:
            n = rng.randint(200, 3000)
            parts: list[str] = []
            size = 0
            while size < n:
                w = rng.choice(words) + ("，" if rng.random() < 0.15 else "。" if rng.random() < 0.05 else "")
                parts.append(w)
                size += len(w)
            text = "".join(parts)
            f.write(json.dumps({"id": str(docs), "text": text}, ensure_ascii=False) + "\n")
            written += len(text)
            docs += 1
    return docs


def run_engine(engine: str, corpus: Path, tok_dir: Path, out: Path) -> int:
    """Build blocks with one engine; returns document tokens (EOS included) it tokenized."""
    if engine == "jinglian":
        from jinglian.formats.pretrain import read_texts
        from jinglian.formats.shards import build_shards
        from jinglian.formats.tokenizer import load_pretrain_tokenizer

        _, report = build_shards(read_texts([str(corpus)]), load_pretrain_tokenizer(str(tok_dir)), out, BLOCK)
        return report.tokens
    if engine == "hf_map_group_texts":  # transformers examples/pytorch/language-modeling/run_clm.py
        from datasets import load_dataset
        from datasets.utils.logging import disable_progress_bar

        from jinglian.formats.tokenizer import load_tokenizer

        disable_progress_bar()
        tok = load_tokenizer(str(tok_dir))
        raw = load_dataset("json", data_files=str(corpus), split="train", cache_dir=str(out / "cache"))

        def tokenize(batch):
            ids = tok(batch["text"], add_special_tokens=False)["input_ids"]
            return {"input_ids": [x + [tok.eos_token_id] for x in ids]}

        def group_texts(batch):
            flat = [t for ids in batch["input_ids"] for t in ids]
            n = len(flat) // BLOCK * BLOCK
            return {"input_ids": [flat[i:i + BLOCK] for i in range(0, n, BLOCK)]}

        tokenized = raw.map(tokenize, batched=True, remove_columns=raw.column_names)
        total = sum(tokenized.map(lambda b: {"n": [len(x) for x in b["input_ids"]]}, batched=True, remove_columns=["input_ids"])["n"])
        tokenized.map(group_texts, batched=True).save_to_disk(str(out / "blocks"))
        return total
    if engine == "datatrove":
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.tokens import DocumentTokenizer

        LocalPipelineExecutor(pipeline=[
            JsonlReader(str(corpus.parent), glob_pattern=corpus.name),
            DocumentTokenizer(str(out / "tokens"), str(tok_dir / "tokenizer.json"), eos_token="<|endoftext|>"),
        ], tasks=1, workers=1, logging_dir=str(out / "logs")).run()
        meta = next((out / "tokens").glob("*.metadata"))
        return int(meta.read_text().split("\n")[1])
    raise ValueError(f"unknown engine {engine!r}")


def measure(engine: str, corpus: Path, tok_dir: Path, work: Path) -> dict:
    out = work / engine
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.time()
    proc = subprocess.Popen([sys.executable, __file__, "--child", engine, "--corpus", str(corpus), "--tok", str(tok_dir),
                             "--out", str(out)], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - started
    if status != 0:
        raise RuntimeError(f"{engine} failed ({status})")
    tokens = int(proc.stdout.read().strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime
    return {"engine": engine, "tokens": tokens, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "tokens_per_s_per_core": round(tokens / cpu), "peak_mb": round(usage.ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", default="10000000,100000000", help="corpus sizes in tokens (approximate), comma-separated")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--child")
    parser.add_argument("--corpus")
    parser.add_argument("--tok")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one core per engine
        os.environ["RAYON_NUM_THREADS"] = "1"
        print(run_engine(args.child, Path(args.corpus), Path(args.tok), Path(args.out)))
        return
    from jinglian.formats.samples import train_demo_tokenizer
    from jinglian.formats.tokenizer import load_tokenizer

    work = Path(args.work or tempfile.mkdtemp(prefix="pretrain_bench_"))
    tok_dir = work / "tok"
    if not (tok_dir / "tokenizer.json").exists():
        train_demo_tokenizer(tok_dir)
    tok = load_tokenizer(str(tok_dir))
    sample = work / "sample.jsonl"
    generate_corpus(sample, 200_000, seed=1)
    texts = [json.loads(line)["text"] for line in sample.open(encoding="utf-8")]
    chars_per_token = sum(map(len, texts)) / sum(len(x) for x in tok(texts, add_special_tokens=False)["input_ids"])
    print(f"tokenizer: {chars_per_token:.2f} chars/token on the generated text; shared machine: compare ratios")
    print(f"{'tokens':>12} {'engine':<20} {'tokens/s/core':>14} {'cpu s':>8} {'wall s':>8} {'peak MB':>8}")
    peaks: dict[str, list[tuple[int, int]]] = {}
    for target in map(int, args.tokens.split(",")):
        corpus = work / f"corpus_{target}.jsonl"
        if not corpus.exists():
            generate_corpus(corpus, int(target * chars_per_token), seed=0)
        rows = [measure(e, corpus, tok_dir, work) for e in args.engines.split(",")]
        best_alt = max((r["tokens_per_s_per_core"] for r in rows if r["engine"] != "jinglian"), default=None)
        for r in rows:
            peaks.setdefault(r["engine"], []).append((r["tokens"], r["peak_mb"]))
            ratio = f"  ({r['tokens_per_s_per_core'] / best_alt:.2f}x best alternative)" if best_alt and r["engine"] == "jinglian" else ""
            print(f"{r['tokens']:>12,} {r['engine']:<20} {r['tokens_per_s_per_core']:>14,} {r['cpu_s']:>8} {r['wall_s']:>8} {r['peak_mb']:>8}{ratio}", flush=True)
        for e in args.engines.split(","):
            shutil.rmtree(work / e, ignore_errors=True)
    for engine, points in peaks.items():  # the memory goal: flat in corpus size
        steps = ", ".join(f"{b / a:.0f}x tokens: {pb - pa:+,} MB" for (a, pa), (b, pb) in zip(points, points[1:], strict=False))
        print(f"peak growth {engine}: {steps or 'one size only'}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
