"""Build preference pairs (reward model, DPO) and prompt sets (PPO, GRPO).

    python -m jinglian.pipelines.preference_data --out data-out [--records DIR]

Ranked lists of K responses become K·(K−1)/2 pairs, the InstructGPT way; identical chosen and
rejected are rejected with a reason.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jinglian.pipelines import jinglian

# Knobs
TEMPLATE = "alpaca"  # string columns (alpaca) or message lists (chatml)
MARGIN = True  # add the score / rank difference as a `margin` column


def build_preference(out: Path, records: Path | None = None) -> dict[str, float]:
    if records is None:
        from jinglian.formats.samples import write_samples

        records = out / "records"
        write_samples(records)
    margin = ["--margin"] if MARGIN else []
    return {
        "build preference": jinglian("build", "preference", records / "preference.jsonl", "--out",
                                     out / "preference", "--template", TEMPLATE, *margin),
        "build prompts": jinglian("build", "prompts", records / "alpaca.json", records / "preference.jsonl",
                                  "--out", out / "prompts", "--template", TEMPLATE),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data-out"))
    parser.add_argument("--records", type=Path, help="folder with preference.jsonl and alpaca.json")
    args = parser.parse_args()
    build_preference(args.out, args.records)


if __name__ == "__main__":
    main()
