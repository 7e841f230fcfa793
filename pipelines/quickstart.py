"""The whole path on bundled sample data, on a CPU, in a few minutes (what `make demo` runs).

    python -m jinglian.pipelines.quickstart --out demo-out        # or: jinglian quickstart --out demo-out

1. corpus: serve the sample Chinese site on 127.0.0.1, crawl, extract, normalize, filter, dedup,
   export a Hugging Face dataset (web_corpus.py); curate generated sample documents the same way;
2. tokenizer: a byte-level BPE trained on both corpora; pretraining blocks packed from them;
3. data: SFT, multi-turn, preference and prompt datasets from the sample records
   (sft_data.py, preference_data.py);
4. training: a tiny Qwen2-style model pretrained a few steps, then SFT, a reward model and a few
   PPO iterations, with the example configs in this folder;
5. report: OUT/report.html, and one summary table here.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from jinglian.pipelines import config, jinglian
from jinglian.pipelines.preference_data import build_preference
from jinglian.pipelines.sft_data import build_sft
from jinglian.pipelines.web_corpus import build_corpus

# Knobs: sizes that keep the whole run within minutes on 2 CPU cores
SAMPLE_DOCS = 3000  # generated documents added to the crawled corpus
VOCAB_SIZE = 2000
BLOCK_SIZE = 128  # tokens per pretraining block
MODEL = "{hidden_size: 128, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2}"
STEPS = {"pretrain": 300, "sft": 60, "rm": 60, "ppo": 20}
# PPO on the sample prompts: a small step (approx-KL per update stays below 0.01-0.05, where PPO's
# clipping is meant to work), responses long enough to reach EOS, and the adaptive KL controller
# (Ziegler et al. 2019) holding the policy near 2 nats per response from the SFT model. A short
# horizon because the demo has only 20 steps: with 50 the coefficient rose too slowly and the KL
# ended at 6.7 nats; with 10 it ends at 3.4 (same seed, same data).
PPO = ("args.learning_rate=1e-4", "args.response_length=48", "args.kl_coef=0.2", "args.kl_target=2",
       "args.kl_horizon=10")


def train(stage: str, out: Path, *overrides: str) -> float:
    return jinglian("train", stage, "--config", config(f"train_{stage}.yaml"),
                    f"args.output_dir={out / 'train' / stage}", f"args.max_steps={STEPS[stage]}", *overrides)


def run(out: Path) -> dict[str, float]:
    times = build_corpus(out)
    times["sample + curate"] = jinglian("sample", out / "sample" / "docs.jsonl", "--n", SAMPLE_DOCS) + jinglian(
        "curate", out / "sample" / "docs.jsonl", "--out", out / "sample" / "curated")
    corpora = [out / "corpus" / "documents", out / "sample" / "curated" / "documents"]
    tok = out / "tokenizer"
    times["tokenizer"] = jinglian("tokenizer", "train", *corpora, "--out", tok, "--vocab-size", VOCAB_SIZE)
    times["build pretrain"] = jinglian("build", "pretrain", *corpora, "--out", out / "data" / "pretrain",
                                       "--tokenizer", tok, "--block-size", BLOCK_SIZE, "--model-params", "1M",
                                       "--val-ratio", "0.1")
    times |= build_sft(out / "data", tokenizer=tok)
    times |= build_preference(out / "data", records=out / "data" / "records")
    t = out / "train"
    times["train pretrain"] = train("pretrain", out, f"model.tokenizer={tok}", f"model.config={MODEL}",
                                    f"data.train={out / 'data' / 'pretrain'}", "data.eval_fraction=0.1")
    times["train sft"] = train("sft", out, f"model.path={t / 'pretrain'}", f"data.train={out / 'data' / 'sft'}")
    times["train rm"] = train("rm", out, f"model.path={t / 'sft'}", f"data.train={out / 'data' / 'preference'}",
                              "data.eval_fraction=0.3")
    times["train ppo"] = train("ppo", out, f"model.path={t / 'sft'}", f"data.train={out / 'data' / 'prompts'}",
                               f"rewards=[{{model: {t / 'rm'}}}]", "args.save_steps=0", *PPO)
    times["report"] = jinglian("report", out)
    return times


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def summary_rows(out: Path, times: dict[str, float]) -> list[tuple[str, str, str]]:
    """(stage, result, where) for the closing table, read back from what each stage wrote."""
    rows = []
    for name in ("corpus", "sample/curated"):
        books = _json(out / name / "stats.json")
        drops = sum(books.get("dropped", {}).values())
        rows.append((f"curate {name}", f"{books.get('in')} in = {books.get('kept')} kept + {drops} dropped",
                     str(out / name / "documents")))
    rows.append(("export", f"{_json(out / 'corpus' / 'hf' / 'export.json').get('rows')} rows", str(out / "corpus" / "hf")))
    report = _json(out / "tokenizer" / "tokenizer_report.json")
    rows.append(("tokenizer", f"vocab {report.get('vocab_size')}, {report.get('chars_per_token')} chars/token held out",
                 str(out / "tokenizer")))
    for name in ("pretrain", "sft", "multiturn", "preference", "prompts"):
        stats = _json(out / "data" / name / "stats.json")
        tokens = (stats.get("tokens") or {}).get("tokens")
        rows.append((f"build {name}", f"{stats.get('splits')}" + (f", {tokens} tokens" if tokens else ""),
                     str(out / "data" / name)))
    for stage in STEPS:
        s = _json(out / "train" / stage / "jinglian_summary.json")
        curve = s.get("loss_curve") or []
        result = f"loss {curve[0]:.2f} → {curve[-1]:.2f}" if len(curve) > 1 else ""
        for key in ("eval_perplexity", "pairwise_accuracy", "score_first", "score_last", "kl_last"):
            if key in s:
                result += f", {key} {s[key]:.3f}"
        rows.append((f"train {stage}", result.strip(", "), str(out / "train" / stage)))
    rows.append(("report", "funnel, histograms, datasets, training curves", str(out / "report.html")))
    return rows


def main(out: Path | None = None) -> None:
    if out is None:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--out", type=Path, default=Path("demo-out"))
        out = parser.parse_args().out
    from rich.console import Console
    from rich.table import Table

    started = time.perf_counter()
    times = run(out)
    table = Table(title=f"jinglian quickstart: {time.perf_counter() - started:.0f} s")
    for column in ("stage", "result", "output"):
        table.add_column(column)
    for row in summary_rows(out, times):
        table.add_row(*row)
    console = Console(width=140)
    console.print(table)
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
    console.print(f"peak memory of one stage: {peak_mb:.0f} MB; wall time by stage: "
                  + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()), soft_wrap=True, highlight=False)


if __name__ == "__main__":
    main()
