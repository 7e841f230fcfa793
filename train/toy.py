"""A toy world to train on: a small tokenizer and tiny datasets in every format the trainers read.

Nothing can be downloaded in tests or the demo, so the example configs in ``pipelines/train_*.yaml``
and the tests use this: ``python -m jinglian.train.toy OUT`` writes

    OUT/tokenizer/        character-level BPE (PreTrainedTokenizerFast) with a ChatML template
    OUT/pretrain/         packed blocks ``input_ids`` (DatasetDict train/test)
    OUT/sft/              ``prompt``/``completion``            (train/test)
    OUT/sft_messages/     ``messages``                         (train/test)
    OUT/sft_tokenized/    ``input_ids``/``labels`` (-100 on the prompt)
    OUT/preference/       ``prompt``/``chosen``/``rejected``  (train/test)
    OUT/prompts/          ``prompt`` only, for PPO and GRPO

The task is learnable by a 2-layer model in a few dozen steps: answers copy the subject of the
question, and the planted preference is that a good answer says 好 and a bad one says 坏. The SFT
demonstrations mix good (60%) and bad (40%) answers, so the reward model and PPO have work to do. The reward
for PPO/GRPO is known exactly: the share of 好 in the response (``jinglian.train.rewards``).

The tokenizer is character-level (a BPE whose alphabet is the characters of the toy text, plus a few
merges) rather than byte-level: with ~100 tokens instead of 256 bytes a random policy already says 好
now and then, so PPO's signal shows up in seconds on a CPU. Real runs use ``jinglian tokenizer train``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

SUBJECTS = ["天气", "饭菜", "电影", "工作", "学校", "公园", "音乐", "城市", "朋友", "小说", "茶", "山水"]
GOOD = ["很好", "真好", "好极了", "非常好"]
BAD = ["很坏", "太坏了", "不太行", "坏透了"]
FILLER = "今天我们的生活学习一个大小上下人中日月是有不了在这来去说"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>", "<unk>"]

# ChatML; {% generation %} marks the assistant tokens so TRL can build assistant-only loss masks.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def question(subject: str) -> str:
    return f"问：{subject}怎么样？"


def good_answer(subject: str, rng: random.Random) -> str:
    return f"答：{subject}{rng.choice(GOOD)}。"


def bad_answer(subject: str, rng: random.Random) -> str:
    return f"答：{subject}{rng.choice(BAD)}。"


def toy_text(n: int, seed: int = 0) -> list[str]:
    """Short Chinese lines: questions, answers and filler, the tokenizer's and pretraining's corpus."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        s = rng.choice(SUBJECTS)
        filler = "".join(rng.choice(FILLER) for _ in range(rng.randint(4, 12)))
        lines.append(f"{question(s)}{good_answer(s, rng)}{filler}。" if rng.random() < 0.7 else bad_answer(s, rng))
    return lines


def build_tokenizer(out: Path | None = None, vocab_size: int = 128):
    """Train the toy tokenizer on ``toy_text`` and wrap it as a ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, trainers
    from transformers import PreTrainedTokenizerFast

    # Questions, answers and filler are separate training texts, so no merge crosses the prompt/completion
    # boundary (TRL warns when the tokenized prompt is not a prefix of the tokenized prompt+completion).
    rng = random.Random(1)
    text = [question(s) for s in SUBJECTS] * 20 + [f(s, rng) for s in SUBJECTS * 20 for f in (good_answer, bad_answer)]
    text += ["".join(rng.choice(FILLER) for _ in range(8)) + "。" for _ in range(400)] + ["\n" + "".join(SPECIALS)]
    alphabet = sorted(set("".join(text)) | set("\n：？。，！") | {" "})
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(text, trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|pad|>", bos_token=None, unk_token="<unk>",
        additional_special_tokens=["<|endoftext|>", "<|im_start|>"],
    )
    hf.chat_template = CHAT_TEMPLATE
    if out is not None:
        hf.save_pretrained(out)
    return hf


def toy_records(n: int, seed: int = 0) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    sft, messages, pref, prompts = [], [], [], []
    for _ in range(n):
        s = rng.choice(SUBJECTS)
        q, a, b = question(s), good_answer(s, rng), bad_answer(s, rng)
        # SFT demonstrations are a mix, as scraped data is: 60% good answers, 40% bad ones. An SFT
        # model then answers badly ~40% of the time, which the reward model and PPO can fix.
        a_sft = a if rng.random() < 0.6 else b
        sft.append({"prompt": q, "completion": a_sft})
        messages.append({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a_sft}]})
        pref.append({"prompt": q, "chosen": a, "rejected": b})
        prompts.append({"prompt": q})
    return {"sft": sft, "sft_messages": messages, "preference": pref, "prompts": prompts}


def tokenize_sft(rows: list[dict], tokenizer) -> list[dict]:
    """Pre-tokenized SFT rows as ``formats`` builds them: labels are -100 on the prompt tokens."""
    out = []
    for r in rows:
        p = tokenizer(r["prompt"], add_special_tokens=False)["input_ids"]
        c = tokenizer(r["completion"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        out.append({"input_ids": p + c, "labels": [-100] * len(p) + c})
    return out


def pack_blocks(lines: list[str], tokenizer, block_size: int) -> list[dict]:
    """Concatenate documents separated by EOS and cut into equal blocks (the packed pretraining format)."""
    ids: list[int] = []
    for line in lines:
        ids += tokenizer(line, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return [{"input_ids": ids[i:i + block_size]} for i in range(0, len(ids) - block_size + 1, block_size)]


def _split(rows: list[dict], n_test: int):
    from datasets import Dataset, DatasetDict

    return DatasetDict(train=Dataset.from_list(rows[n_test:]), test=Dataset.from_list(rows[:n_test]))


def build_toy(out: Path | str, n: int = 240, n_test: int = 40, block_size: int = 32, seed: int = 0) -> Path:
    """Write the tokenizer and every toy dataset under ``out``; return ``out``."""
    out = Path(out)
    tokenizer = build_tokenizer(out / "tokenizer")
    records = toy_records(n, seed)
    for name, rows in records.items():
        _split(rows, n_test).save_to_disk(str(out / name))
    _split(tokenize_sft(records["sft"], tokenizer), n_test).save_to_disk(str(out / "sft_tokenized"))
    blocks = pack_blocks(toy_text(n * 4, seed + 1), tokenizer, block_size)
    _split(blocks, max(4, len(blocks) // 10)).save_to_disk(str(out / "pretrain"))
    return out


if __name__ == "__main__":  # python -m jinglian.train.toy OUT
    target = build_toy(sys.argv[1] if len(sys.argv) > 1 else "demo-out/toy")
    print(f"wrote the toy tokenizer and datasets to {target}")
