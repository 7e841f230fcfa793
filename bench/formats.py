"""SFT data building speed: jinglian's builder beside TRL's own dataset preparation, same records, one run.

    .venv/bin/python bench/formats.py [--records PATH.json] [--repeat 3]

jinglian: read + validate + render the template + tokenize + mask (``build_dialogue_rows``).
TRL: ``SFTTrainer._prepare_dataset`` on the same records as alpaca strings (prompt/completion)
and as conversational messages (chat template). Records: ``../shared/data/sft/alpaca_zh_demo.json``
when present, else jinglian's own sample records repeated to 1,000. Best of ``--repeat`` passes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sft" / "alpaca_zh_demo.json"


def best_rate(fn, n_items: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return n_items / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=Path, default=SHARED if SHARED.exists() else None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from trl import SFTConfig, SFTTrainer

    from jinglian.formats.collect import collect
    from jinglian.formats.samples import ALPACA, train_demo_tokenizer
    from jinglian.formats.schema import parse_conversation
    from jinglian.formats.sft import build_dialogue_rows
    from jinglian.formats.templates import get_template

    disable_progress_bar()
    work = Path(tempfile.mkdtemp(prefix="jinglian-bench-formats-"))
    path = args.records
    if path is None:  # no shared data: our own records, repeated
        plain = [r for r in ALPACA if "history" not in r and "system" not in r]
        path = work / "alpaca.json"
        path.write_text(json.dumps((plain * 1000)[:1000], ensure_ascii=False), encoding="utf-8")
    records = json.loads(path.read_text(encoding="utf-8"))
    tok = train_demo_tokenizer(work / "tok")
    print(f"{len(records)} records from {path}; tokenizer vocab {len(tok)}\n")

    rates = {}
    for name in ("alpaca", "chatml"):
        def ours(name=name):
            convs, _, books = collect([str(path)], parse_conversation)
            return build_dialogue_rows(convs, "last", get_template(name), books, tok, dedup=False)

        rates[f"jinglian build sft --template {name} --tokenizer"] = best_rate(ours, len(records), args.repeat)

    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1))
    cfg = SFTConfig(output_dir=str(work / "trl"), report_to=[], use_cpu=True, max_length=None)
    trainer = SFTTrainer(model=model, args=cfg, processing_class=tok,
                         train_dataset=Dataset.from_list([{"prompt": "a", "completion": "b"}]))

    def user(r: dict) -> str:
        return r["instruction"] + (f"\n{r['input']}" if r.get("input") else "")

    strings = Dataset.from_list([{"prompt": f"### Instruction:\n{user(r)}\n\n### Response:\n", "completion": r["output"]}
                                 for r in records])
    chat = Dataset.from_list([{"prompt": [{"role": "user", "content": user(r)}],
                               "completion": [{"role": "assistant", "content": r["output"]}]} for r in records])
    for name, ds in (("alpaca strings", strings), ("chatml messages", chat)):
        rates[f"TRL SFTTrainer._prepare_dataset, {name}"] = best_rate(
            lambda ds=ds: trainer._prepare_dataset(ds, tok, cfg, False, None, "bench"), len(records), args.repeat)

    base = rates["TRL SFTTrainer._prepare_dataset, alpaca strings"]
    print(f"{'records/s':>10}  {'vs TRL strings':>14}  builder")
    for name, rate in rates.items():
        print(f"{rate:10.0f}  {rate / base:13.2f}x  {name}")


if __name__ == "__main__":
    main()
