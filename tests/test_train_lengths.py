"""Samples longer than a trainer's max_length: an error with the count by default, a warning on request,
for SFT (cut), DPO (cut) and the reward model (dropped); and the example configs agree with the builders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_train import FAST, TINY

from jinglian.train.config import load_config
from jinglian.train.toy import build_toy

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return build_toy(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="module")
def built_sft(tmp_path_factory):
    """``jinglian build sft`` on the sample records with a locally trained byte-level tokenizer and
    ``--max-length 512``, as the quickstart builds it: (tokenizer folder, dataset folder)."""
    from jinglian.formats.samples import train_demo_tokenizer, write_samples

    root = tmp_path_factory.mktemp("built")
    records = write_samples(root / "records")
    train_demo_tokenizer(root / "tok", n_docs=100, vocab_size=500)
    subprocess.run([sys.executable, "-m", "jinglian.cli", "build", "sft", str(records["alpaca"]), "--out", str(root / "sft"),
                    "--tokenizer", str(root / "tok"), "--max-length", "512"], check=True, capture_output=True)
    return root / "tok", root / "sft"


def cfg(stage, tokenizer, data, out, *overrides, allow=False):
    raw = {"model": {"tokenizer": str(tokenizer), "config": TINY}, "data": {"train": str(data), "allow_truncation": allow}}
    return load_config(None, stage, [*FAST, f"output_dir={out}", *overrides], raw=raw)


def test_builders_record_their_max_length(built_sft):
    _, data = built_sft
    stats = json.loads((data / "stats.json").read_text())
    assert stats["settings"]["max_length"] == 512
    from jinglian.train.lengths import built_max_length

    assert built_max_length(str(data)) == 512 and built_max_length(str(data / "train")) is None


def test_sft_with_a_smaller_max_length_is_an_error_that_counts_the_cut_samples(built_sft, tmp_path, cli):
    from datasets import load_from_disk

    from jinglian.train.sft import build_sft

    tok, data = built_sft
    lengths = sorted(len(r) for r in load_from_disk(str(data))["train"]["input_ids"])
    limit = lengths[len(lengths) // 2]  # the median: some samples fit, some do not
    over = sum(n > limit for n in lengths)
    assert 0 < over < len(lengths)
    # as a user meets it: one line, exit 2, the count, the longest sample and the builder's --max-length
    proc = cli("train", "sft", "--config", PIPELINES / "train_sft.yaml", "model.path=", f"model.tokenizer={tok}",
               f"model.config={json.dumps(TINY)}", f"data.train={data}", f"max_length={limit}",
               f"output_dir={tmp_path / 'cli'}", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = " ".join(proc.stderr.split())  # rich wraps long lines
    assert f"sft: {over} of {len(lengths)} train samples ({over / len(lengths):.0%}) are longer than max_length {limit}" in line, line
    assert "jinglian build sft|multiturn --max-length N" in line  # the builder that has the option
    assert f"longest {lengths[-1]} tokens" in line and "built with --max-length 512" in line
    assert "data.allow_truncation=true" in line
    # allowed: a warning, and TRL trains on the cut samples
    trainer = build_sft(cfg("sft", tok, data, tmp_path / "a", f"max_length={limit}", allow=True))
    assert trainer.length_counts == {"train": over}
    assert max(len(r) for r in trainer.train_dataset["input_ids"]) == limit
    # a max_length that holds every sample: nothing cut, nothing said
    trainer = build_sft(cfg("sft", tok, data, tmp_path / "b", f"max_length={lengths[-1]}"))
    assert trainer.length_counts == {"train": 0}
    assert sorted(len(r) for r in trainer.train_dataset["input_ids"]) == lengths


def test_sft_checks_text_columns_with_trls_own_tokenization(toy, tmp_path):
    """prompt/completion strings: TRL tokenizes them (+ EOS); the check counts on that result, eval split too."""
    from datasets import load_from_disk

    from jinglian.train.sft import build_sft

    tok = build_sft(cfg("sft", toy / "tokenizer", toy / "sft", tmp_path / "probe")).processing_class
    ds = load_from_disk(str(toy / "sft"))

    def lengths(split):
        return [len(tok(p + c + tok.eos_token)["input_ids"]) for p, c in zip(ds[split]["prompt"], ds[split]["completion"], strict=True)]

    train, test = lengths("train"), lengths("test")
    limit = max(train) - 1  # the toy answers differ by a token or two
    assert 0 < sum(n > limit for n in train) < len(train)
    with pytest.raises(ValueError, match=rf"sft: {sum(n > limit for n in train)} of {len(train)} train samples"):
        build_sft(cfg("sft", toy / "tokenizer", toy / "sft", tmp_path / "x", f"max_length={limit}"))
    trainer = build_sft(cfg("sft", toy / "tokenizer", toy / "sft", tmp_path / "y", f"max_length={limit}", allow=True))
    assert trainer.length_counts == {"train": sum(n > limit for n in train), "eval": sum(n > limit for n in test)}


def test_reward_model_would_drop_long_pairs_and_dpo_would_cut_them(toy, tmp_path, caplog):
    from datasets import load_from_disk

    from jinglian.train.dpo import build_dpo
    from jinglian.train.rm import build_rm

    tok = build_rm(cfg("rm", toy / "tokenizer", toy / "preference", tmp_path / "probe")).processing_class
    ds = load_from_disk(str(toy / "preference"))["train"]
    pair = [max(len(tok(p + c + tok.eos_token)["input_ids"]), len(tok(p + r + tok.eos_token)["input_ids"]))
            for p, c, r in zip(ds["prompt"], ds["chosen"], ds["rejected"], strict=True)]
    limit = max(pair) - 1
    over = sum(n > limit for n in pair)
    assert 0 < over < len(pair)
    with pytest.raises(ValueError, match=rf"rm: {over} of {len(pair)} train samples .* drop them") as err:
        build_rm(cfg("rm", toy / "tokenizer", toy / "preference", tmp_path / "rm", f"max_length={limit}"))
    # advice one can follow: `build preference` has no --max-length (issue 24 item 6)
    assert "--max-length" not in str(err.value) and "remove or shorten those pairs" in str(err.value)
    with caplog.at_level("WARNING", logger="jinglian.train.lengths"):
        rm = build_rm(cfg("rm", toy / "tokenizer", toy / "preference", tmp_path / "rm2", f"max_length={limit}", allow=True))
    assert len(rm.train_dataset) == len(pair) - over  # what TRL does with them: dropped, and said with the share
    assert f"rm: dropping {over} of {len(pair)} train pairs ({over / len(pair):.0%})" in caplog.text
    assert rm.length_counts["train"] == over  # train_and_save puts it in the summary (samples_dropped_over_max_length_train)
    with pytest.raises(ValueError, match=rf"dpo: {over} of {len(pair)} train samples .* first max_length tokens"):
        build_dpo(cfg("dpo", toy / "tokenizer", toy / "preference", tmp_path / "dpo", f"max_length={limit}"))


def test_example_configs_train_at_the_length_the_pipelines_build():
    """pipelines/train_sft.yaml trains at the --max-length pipelines/sft_data.py builds with (the
    quickstart trains with that config on that data); a smaller one would cut samples."""
    from jinglian.pipelines import sft_data

    sft = yaml.safe_load((PIPELINES / "train_sft.yaml").read_text(encoding="utf-8"))
    assert sft["args"]["max_length"] == sft_data.MAX_LENGTH
    assert "allow_truncation" not in (sft.get("data") or {})  # the shipped configs never cut silently
