"""Samples longer than a trainer's ``max_length``: counted before TRL cuts or drops them.

TRL handles an over-long sample without a word: ``SFTTrainer`` keeps its first ``max_length``
tokens (the end of the answer and its EOS are lost, so the model learns answers that never stop),
``DPOTrainer``'s collator does the same to prompt+chosen / prompt+rejected, and ``RewardTrainer``
drops the pair. jinglian's builders write ``max_length`` into ``OUT/stats.json`` (``settings``:
the ``--max-length`` asked for; ``tokens``: the longest sample written), and the trainers here check
every sample against their own ``max_length``, with the tokenization TRL itself does.

Decision: an error by default, naming how many samples would be cut, the longest one and the
builder's ``--max-length``; ``data.allow_truncation: true`` turns it into a warning and trains on
what TRL keeps. Silent truncation is the mistake the user can least see afterwards, and the fix
(raise ``args.max_length`` or rebuild) is one key.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

# what TRL does to a sample that does not fit
FATE = {"sft": "keep only their first max_length tokens (answer ends and EOS lost)",
        "dpo": "keep only the first max_length tokens of prompt+chosen and prompt+rejected",
        "rm": "drop them from training"}


def sample_lengths(stage: str, dataset) -> list[int]:
    """Tokens of each prepared row, as TRL counts them against ``max_length`` (list lengths read
    from the Arrow columns: no row is turned into Python objects)."""
    import pyarrow.compute as pc

    def n(column: str):
        return pc.list_value_length(dataset.select_columns([column]).with_format("arrow")[:][column])

    if stage == "sft":
        total = n("input_ids")
    elif stage == "rm":
        total = pc.max_element_wise(n("chosen_ids"), n("rejected_ids"))
    elif stage == "dpo":
        total = pc.add(n("prompt_ids"), pc.max_element_wise(n("chosen_ids"), n("rejected_ids")))
    else:
        raise ValueError(f"no length rule for stage {stage!r}")
    return total.to_pylist()


def built_max_length(path: str | None) -> int | None:
    """The ``--max-length`` a jinglian builder recorded for the dataset at ``path`` (None if none)."""
    stats = Path(path or "") / "stats.json"
    if not path or not stats.is_file():
        return None
    try:
        return (json.loads(stats.read_text(encoding="utf-8")).get("settings") or {}).get("max_length")
    except (ValueError, AttributeError):
        return None


def length_check_options(data_cfg) -> dict:
    """The ``LengthCheckMixin`` keywords for a run's ``data`` section (one place for SFT, RM and DPO)."""
    return {"allow_truncation": data_cfg.allow_truncation,
            "built_max_length": built_max_length(data_cfg.train)}


# what a user can do about it besides raising args.max_length: only the SFT builders have --max-length
REMEDY = {"sft": "rebuild with `jinglian build sft|multiturn --max-length N` (drops the oldest whole exchanges, "
                 "never cuts an answer)",
          "dpo": "remove or shorten those pairs in the data (`jinglian build preference` keeps pairs whole)",
          "rm": "remove or shorten those pairs in the data (`jinglian build preference` keeps pairs whole)"}


def check_lengths(stage: str, lengths: list[int], max_length: int, split: str, allow: bool = False,
                  built: int | None = None) -> int:
    """Raise (or, with ``allow``, warn) when samples exceed ``max_length``; returns how many do."""
    over = [n for n in lengths if n > max_length]
    if not over:
        return 0
    share = f"{len(over) / len(lengths):.0%}"
    msg = (f"{stage}: {len(over)} of {len(lengths)} {split} samples ({share}) are longer than max_length {max_length} "
           f"(longest {max(over)} tokens); TRL would {FATE[stage]}")
    if built is not None:
        msg += f". The dataset was built with --max-length {built}"
    if allow:
        if stage == "rm":
            msg = (f"rm: dropping {len(over)} of {len(lengths)} {split} pairs ({share}) longer than max_length {max_length}; "
                   f"training on {len(lengths) - len(over)} (data.allow_truncation: true)")
        log.warning(msg if stage == "rm" else msg + " (data.allow_truncation: true)")
        return len(over)
    raise ValueError(msg + f". Set args.max_length={max(over)} (or more), {REMEDY[stage]}, "
                     "or set data.allow_truncation=true to train on what TRL keeps")


class LengthCheckMixin:
    """Put in front of TRL's SFT/Reward/DPO trainer: its dataset preparation runs once without
    ``max_length`` (tokenize only), every sample is checked, then the preparation runs again on the
    tokenized rows with ``max_length`` (SFT and RM skip tokenizing then; DPO tokenizes again)."""

    length_stage = ""

    def __init__(self, *args, allow_truncation: bool = False, built_max_length: int | None = None, **kwargs):
        self._jl_allow_truncation, self._jl_built_max_length = allow_truncation, built_max_length
        self.length_counts: dict[str, int] = {}
        super().__init__(*args, **kwargs)

    def _prepare_dataset(self, dataset, processing_class, args, *rest):
        from datasets import Dataset

        limit = getattr(args, "max_length", None)
        # packing strategies other than bfd split long samples instead of cutting them
        splits = self.length_stage == "sft" and rest[0] and getattr(args, "packing_strategy", "bfd") != "bfd"
        if limit is None or splits or not isinstance(dataset, Dataset):  # an IterableDataset cannot be counted ahead
            return super()._prepare_dataset(dataset, processing_class, args, *rest)
        first = (False, *rest[1:]) if self.length_stage == "sft" else rest  # SFT: (packing, formatting_func, name)
        args.max_length = None
        try:
            full = super()._prepare_dataset(dataset, processing_class, args, *first)
        finally:
            args.max_length = limit
        lengths = sample_lengths(self.length_stage, full)
        self.length_counts[rest[-1]] = check_lengths(self.length_stage, lengths, limit, rest[-1],
                                                     self._jl_allow_truncation, self._jl_built_max_length)
        return super()._prepare_dataset(full, processing_class, args, *rest)
