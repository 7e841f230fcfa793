"""Build SFT and multi-turn datasets from instruction records.

    python -m jinglian.pipelines.sft_data --out data-out [--records DIR] [--tokenizer DIR]

Without --records it writes jinglian's own sample records (Alpaca, OpenAI messages, ShareGPT).
With a tokenizer the datasets also get ``input_ids`` and ``labels`` (-100 on every prompt token).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jinglian.pipelines import jinglian

# Knobs
SFT_TEMPLATE = "alpaca"  # "### Instruction:\n{instruction}\n{input}\n\n### Response:\n"
CHAT_TEMPLATE = "chatml"  # multi-turn dialogues
STRATEGY = "all"  # last | expand | all: which assistant turns are trained
MAX_LENGTH = 512  # tokens; the oldest whole exchanges go first, a response is never cut


def build_sft(out: Path, records: Path | None = None, tokenizer: Path | None = None) -> dict[str, float]:
    if records is None:
        from jinglian.formats.samples import write_samples

        records = out / "records"
        write_samples(records)
    tok = ["--tokenizer", tokenizer, "--max-length", MAX_LENGTH] if tokenizer else []
    return {
        "build sft": jinglian("build", "sft", records / "alpaca.json", "--out", out / "sft",
                              "--template", SFT_TEMPLATE, *tok),
        "build multiturn": jinglian("build", "multiturn", records / "messages.jsonl", records / "sharegpt.jsonl",
                                    "--out", out / "multiturn", "--strategy", STRATEGY,
                                    "--template", CHAT_TEMPLATE, *tok),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data-out"))
    parser.add_argument("--records", type=Path, help="folder with alpaca.json, messages.jsonl, sharegpt.jsonl")
    parser.add_argument("--tokenizer", type=Path)
    args = parser.parse_args()
    build_sft(args.out, args.records, args.tokenizer)


if __name__ == "__main__":
    main()
