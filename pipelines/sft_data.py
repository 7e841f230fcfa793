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


def split_records(folder: Path) -> tuple[list[str], list[str]]:
    """The record files under ``folder`` by the shape of their first record, whatever their names:
    instruction records (Alpaca) for ``build sft``, dialogues (``messages``, ``conversations``) for
    ``build multiturn``; other files (preference pairs) are left out."""
    from jinglian.formats.schema import Located, expand_record_files, iter_raw_records

    single, dialogues = [], []
    for path in expand_record_files([str(folder)]):
        first = next((r.record for r in iter_raw_records(path) if isinstance(r, Located) and isinstance(r.record, dict)), {})
        if {"messages", "conversations"} & set(first):
            dialogues.append(path)
        elif "instruction" in first:
            single.append(path)  # other shapes (preference pairs) are for pipelines/preference_data.py
    return single, dialogues


def build_sft(out: Path, records: Path | None = None, tokenizer: Path | None = None) -> dict[str, float]:
    if records is None:
        from jinglian.formats.samples import write_samples

        records = out / "records"
        write_samples(records)
    single, dialogues = split_records(records)
    tok = ["--tokenizer", tokenizer, "--max-length", MAX_LENGTH] if tokenizer else []
    times = {}
    if single:
        times["build sft"] = jinglian("build", "sft", *single, "--out", out / "sft", "--template", SFT_TEMPLATE, *tok)
    if dialogues:
        times["build multiturn"] = jinglian("build", "multiturn", *dialogues, "--out", out / "multiturn",
                                            "--strategy", STRATEGY, "--template", CHAT_TEMPLATE, *tok)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data-out"))
    parser.add_argument("--records", type=Path, help="folder of record files (JSON/JSONL, any names): Alpaca "
                        "records are built with `build sft`, messages/ShareGPT dialogues with `build multiturn`")
    parser.add_argument("--tokenizer", type=Path)
    args = parser.parse_args()
    build_sft(args.out, args.records, args.tokenizer)


if __name__ == "__main__":
    main()
