"""Chat templates by family name (issue 24 item 8) and the tokenizer's own template with content
transforms (issue 25 item 7).

Each family's format is written out below as its own chat template renders it (system prompt, two
turns), and the masks are checked as in test_formats: trained tokens decode to exactly what the model
must write after the generation prompt.
"""

from __future__ import annotations

import copy

import pytest

from jinglian.formats.multiturn import apply_strategy
from jinglian.formats.samples import train_demo_tokenizer
from jinglian.formats.schema import Conversation, Message
from jinglian.formats.sft import tokenize_sample
from jinglian.formats.templates import get_template

SYSTEM, U1, A1, U2, A2 = "你是助手。", "你好 \n", "你好！", "再见", "再见。"

PUBLISHED = {
    "llama2": "<s>[INST] <<SYS>>\n你是助手。\n<</SYS>>\n\n你好 [/INST] 你好！ </s><s>[INST] 再见 [/INST] 再见。 </s>",
    "llama3": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n你是助手。<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n你好！<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n再见<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n再见。<|eot_id|>",
    "qwen": "<|im_start|>system\n你是助手。<|im_end|>\n<|im_start|>user\n你好 \n<|im_end|>\n<|im_start|>assistant\n你好！<|im_end|>\n"
            "<|im_start|>user\n再见<|im_end|>\n<|im_start|>assistant\n再见。<|im_end|>\n",
    "yi": "<|im_start|>system\n你是助手。<|im_end|>\n<|im_start|>user\n你好 \n<|im_end|>\n<|im_start|>assistant\n你好！<|im_end|>\n"
          "<|im_start|>user\n再见<|im_end|>\n<|im_start|>assistant\n再见。<|im_end|>\n",
    "mistral": "<s>[INST] 你是助手。\n\n你好 \n [/INST]你好！</s>[INST] 再见 [/INST]再见。</s>",
    "gemma": "<bos><start_of_turn>user\n你是助手。\n\n你好<end_of_turn>\n<start_of_turn>model\n你好！<end_of_turn>\n"
             "<start_of_turn>user\n再见<end_of_turn>\n<start_of_turn>model\n再见。<end_of_turn>\n",
    "glm4": "[gMASK]<sop><|system|>\n你是助手。<|user|>\n你好 \n<|assistant|>\n你好！<|user|>\n再见<|assistant|>\n再见。<|user|>",
    "baichuan2": "你是助手。<reserved_106>你好 \n<reserved_107>你好！</s><reserved_106>再见<reserved_107>再见。</s>",
    "deepseek": "<｜begin▁of▁sentence｜>你是助手。\n\nUser: 你好 \n\n\nAssistant: 你好！<｜end▁of▁sentence｜>User: 再见\n\nAssistant: 再见。<｜end▁of▁sentence｜>",
}
# what each family's generation prompt leaves for the model to write after an answer: (before it, after it)
TRAINED = {"llama2": (" ", " </s>"), "llama3": ("", "<|eot_id|>"), "qwen": ("", "<|im_end|>"), "yi": ("", "<|im_end|>"),
           "mistral": ("", "</s>"), "gemma": ("", "<end_of_turn>"), "glm4": ("\n", "<|user|>"),
           "baichuan2": ("", "</s>"), "deepseek": (" ", "<｜end▁of▁sentence｜>")}
PROMPTS = {"llama2": "[/INST]", "llama3": "<|start_header_id|>assistant<|end_header_id|>\n\n", "qwen": "<|im_start|>assistant\n",
           "mistral": "[/INST]", "gemma": "<start_of_turn>model\n", "glm4": "<|assistant|>", "baichuan2": "<reserved_107>",
           "deepseek": "Assistant:"}


def dialogue() -> Conversation:
    turns = [Message("user", U1), Message("assistant", A1), Message("user", U2), Message("assistant", A2)]
    return Conversation(turns, SYSTEM, "t:1")


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    tok = train_demo_tokenizer(tmp_path_factory.mktemp("tok"))
    markers = ["<s>", "</s>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<bos>",
               "<start_of_turn>", "<end_of_turn>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
               "<reserved_106>", "<reserved_107>", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"]
    tok.add_special_tokens({"additional_special_tokens": markers})
    return tok


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_family_template_writes_the_published_format(name):
    tpl = get_template(name)
    c = dialogue()
    assert tpl.text(c.messages, c.system, eos=tpl.eos_for(None)) == PUBLISHED[name]
    if name in PROMPTS:
        assert tpl.text(c.messages[:3], c.system, add_generation_prompt=True).endswith(PROMPTS[name])


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_family_template_masks_exactly_what_the_model_writes(name, tok):
    tpl = get_template(name, tok)
    lead, end = TRAINED[name]
    strip = name in ("llama2", "llama3", "gemma")
    for sample in apply_strategy(dialogue(), "all"):
        ids, labels = tokenize_sample(sample, tpl, tok)
        assert tok.decode(ids) == PUBLISHED[name]  # no BOS added in front of a template that writes its own
        runs, cur = [], []
        for i, lab in zip(ids, labels, strict=True):
            if lab != -100:
                cur.append(i)
            elif cur:
                runs, cur = runs + [cur], []
        runs += [cur] if cur else []
        assert [tok.decode(r) for r in runs] == [lead + (a.strip() if strip else a) + end for a in (A1, A2)]


def test_unknown_template_names_the_families():
    with pytest.raises(ValueError, match="llama3.*") as err:
        get_template("llama9")
    for name in ("llama2", "llama3", "qwen", "glm4", "baichuan2", "yi", "deepseek", "mistral", "gemma"):
        assert name in str(err.value)


# issue 25 item 7: the tokenizer's own template, when it transforms content ------------------------

LLAMA3_JINJA = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA_JINJA = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim "
    "+ '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)


@pytest.mark.parametrize("jinja,bos", [(LLAMA3_JINJA, "<|begin_of_text|>"), (GEMMA_JINJA, "<bos>")])
def test_tokenizer_template_trains_on_what_apply_chat_template_gives(tok, jinja, bos):
    foreign = copy.deepcopy(tok)
    foreign.bos_token = bos
    foreign.chat_template = jinja
    c = Conversation([Message("user", "\n  问题是什么？ \n"), Message("assistant", "\n\n答案是42。\n\n")], None, "t:1")
    tpl = get_template("tokenizer", foreign)
    sample = apply_strategy(c, "last")[0]
    segments = tpl.render(sample.messages, sample.system, set(sample.trained), tpl.eos_for(foreign))
    inference = foreign.apply_chat_template(c.as_dicts(), tokenize=False)
    assert "".join(s.text for s in segments) == inference  # the text trained is the text inference sees
    ids, labels = tokenize_sample(sample, tpl, foreign)
    assert ids == foreign(inference, add_special_tokens=False)["input_ids"]
    trained = foreign.decode([i for i, lab in zip(ids, labels, strict=True) if lab != -100])
    assert trained == "答案是42。" + tpl.eos_for(foreign)


def test_tokenizer_template_that_rewrites_content_is_refused(tok):
    foreign = copy.deepcopy(tok)
    foreign.chat_template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] | upper }}</s>{% endfor %}"
    c = Conversation([Message("user", "abc"), Message("assistant", "def")], None, "t:1")
    with pytest.raises(ValueError, match="changes message content"):
        tokenize_sample(apply_strategy(c, "last")[0], get_template("tokenizer", foreign), foreign)
