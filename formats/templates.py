"""The one template registry: how a conversation becomes text and tokens, and which tokens are trained.

A template renders a dialogue into :class:`Segment` s instead of one string. Each segment says
whether it is template markup (``special``: may hold control tokens such as ``<|im_start|>`` or
EOS) or user/assistant content, and whether it is trained. Two guarantees follow from that shape:

* **Masks are exact.** Labels are built per segment, so the trained tokens are the assistant text
  plus its end-of-turn token and nothing else; no offset arithmetic on a joined string.
* **User text cannot inject control tokens.** Content segments are tokenized with
  ``split_special_tokens=True``, so a user who types ``<|im_start|>`` or ``</s>`` gets the
  characters, never the control id; and since turn boundaries come from the segment structure (not
  from parsing text), a literal ``### Response:`` inside an instruction is just text.

Segments are tokenized one by one (not the joined string). Tokens therefore never merge across a
boundary between prompt and response, which is what makes the mask exact; the price is that a
handful of boundary merges differ from tokenizing the whole string at once.

Templates: ``alpaca`` (``### Instruction:\\n{instruction}\\n{input}\\n\\n### Response:\\n``, see
:func:`jinglian.formats.schema.alpaca_user_text` for how ``input`` joins), ``chatml`` (Qwen
style; the end-of-turn token ``<|im_end|>`` is the trained EOS), and ``tokenizer`` (the tokenizer's
own ``chat_template``, masked by rendering prefixes; see :class:`TokenizerChatTemplate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinglian.formats.schema import Message

# Strings that must never act as markup when they appear inside user or assistant text.
KNOWN_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "</s>", "<s>", "### Instruction:", "### Response:")

CHATML_JINJA = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
"""The ``chatml`` template as a Jinja ``chat_template`` (installed on tokenizers we train), with
``{% generation %}`` marks so TRL's ``assistant_only_loss`` works on ``messages`` datasets."""


@dataclass(frozen=True)
class Segment:
    text: str
    special: bool  # template markup: control tokens are recognised here and only here
    trained: bool = False


class Template:
    """Renders ``(system, messages)`` into segments; ``trained`` are indexes of assistant messages."""

    name = ""
    end_of_turn: str | None = None  # token closing an assistant turn; None = the tokenizer's EOS

    def render(
        self, messages: list[Message], system: str | None, trained: set[int], eos: str = "", add_generation_prompt: bool = False
    ) -> list[Segment]:
        raise NotImplementedError

    def eos_for(self, tokenizer: Any | None) -> str:
        """The string that closes a trained response: the template's own, or the tokenizer's EOS."""
        if self.end_of_turn is not None:
            return self.end_of_turn
        return getattr(tokenizer, "eos_token", None) or "" if tokenizer is not None else ""

    def text(self, messages: list[Message], system: str | None, eos: str = "", add_generation_prompt: bool = False) -> str:
        return "".join(s.text for s in self.render(messages, system, set(), eos, add_generation_prompt))


class AlpacaTemplate(Template):
    """The LLaMA/Alpaca format of the seed notes; later turns repeat the Instruction/Response pair."""

    name = "alpaca"

    def render(self, messages, system, trained, eos="", add_generation_prompt=False):
        out: list[Segment] = []
        if system:
            out += [Segment(system, False), Segment("\n\n", True)]
        for i, m in enumerate(messages):
            if m.role == "user":
                out += [Segment("### Instruction:\n", True), Segment(m.content, False), Segment("\n\n### Response:\n", True)]
            else:
                t = i in trained
                out.append(Segment(m.content, False, t))
                if eos:
                    out.append(Segment(eos, True, t))
                if i + 1 < len(messages):
                    out.append(Segment("\n\n", True))
        return out


class ChatMLTemplate(Template):
    """Qwen-style ChatML; identical text to :data:`CHATML_JINJA` (a test checks it)."""

    name = "chatml"
    end_of_turn = "<|im_end|>"

    def render(self, messages, system, trained, eos="", add_generation_prompt=False):
        out: list[Segment] = []
        if system:
            out += [Segment("<|im_start|>system\n", True), Segment(system, False), Segment("<|im_end|>\n", True)]
        for i, m in enumerate(messages):
            if m.role == "user":
                out += [Segment("<|im_start|>user\n", True), Segment(m.content, False), Segment("<|im_end|>\n", True)]
            else:
                t = i in trained
                out += [
                    Segment("<|im_start|>assistant\n", True),
                    Segment(m.content, False, t),
                    Segment("<|im_end|>", True, t),
                    Segment("\n", True),
                ]
        if add_generation_prompt:
            out.append(Segment("<|im_start|>assistant\n", True))
        return out


class TokenizerChatTemplate(Template):
    """A tokenizer's own Jinja ``chat_template``.

    Why not TRL's ``{% generation %}`` masks: most hub templates lack them. Instead each content is
    replaced by a sentinel, the conversation is rendered, and the text an assistant turn adds after
    the generation prompt (``render(msgs[:i+1])`` minus ``render(msgs[:i], add_generation_prompt)``)
    is the trained span, trailing whitespace excluded. Templates whose earlier turns render
    differently once later turns exist (e.g. ones that strip past reasoning) are refused.
    """

    name = "tokenizer"

    def __init__(self, tokenizer: Any):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("--template tokenizer: this tokenizer has no chat_template (use alpaca or chatml)")
        self.tokenizer = tokenizer
        self._eos: str | None = None

    def eos_for(self, tokenizer: Any | None) -> str:
        """What this chat template writes (and we train) after an answer, e.g. ``<|im_end|>``."""
        if self._eos is None:
            segs = self.render([Message("user", "u"), Message("assistant", "a")], None, {1})
            trained = [s for s in segs if s.trained]
            after = next(i for i, s in enumerate(trained) if not s.special) + 1  # past the answer itself
            self._eos = "".join(s.text for s in trained[after:])
        return self._eos

    @staticmethod
    def _sentinel(i: int) -> str:
        return f"\ue000{i}\ue001"

    def _render(self, msgs: list[dict], add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=add_generation_prompt)

    def render(self, messages, system, trained, eos="", add_generation_prompt=False):
        head = [{"role": "system", "content": self._sentinel(-1)}] if system else []
        msgs = head + [{"role": m.role, "content": self._sentinel(i)} for i, m in enumerate(messages)]
        full = self._render(msgs, add_generation_prompt)
        spans: list[tuple[int, int]] = []
        for i in sorted(trained):
            k = i + len(head)
            before = self._render(msgs[:k], True)
            upto = self._render(msgs[: k + 1], False)
            if not (upto.startswith(before) and full.startswith(upto)):
                raise ValueError("this chat_template renders earlier turns differently as the dialogue grows; use chatml")
            added = upto[len(before):].rstrip()
            spans.append((len(before), len(before) + len(added)))
        contents = {self._sentinel(i): m.content for i, m in enumerate(messages)}
        if system:
            contents[self._sentinel(-1)] = system
        out: list[Segment] = []
        cuts = sorted({0, len(full), *(p for s in spans for p in s)})
        for a, b in zip(cuts, cuts[1:], strict=False):
            t = any(s <= a and b <= e for s, e in spans)
            out += _split_sentinels(full[a:b], contents, t)
        return out


def _split_sentinels(text: str, contents: dict[str, str], trained: bool) -> list[Segment]:
    out: list[Segment] = []
    while text:
        start = text.find("\ue000")
        if start < 0:
            out.append(Segment(text, True, trained))
            break
        end = text.index("\ue001", start) + 1
        if start:
            out.append(Segment(text[:start], True, trained))
        out.append(Segment(contents[text[start:end]], False, trained))
        text = text[end:]
    return out


TEMPLATES: dict[str, Template] = {"alpaca": AlpacaTemplate(), "chatml": ChatMLTemplate()}
TEMPLATE_NAMES = (*TEMPLATES, "tokenizer")


def get_template(name: str, tokenizer: Any | None = None) -> Template:
    if name == "tokenizer":
        if tokenizer is None:
            raise ValueError("--template tokenizer needs --tokenizer")
        return TokenizerChatTemplate(tokenizer)
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r} (choose from {', '.join(TEMPLATE_NAMES)})")
    return TEMPLATES[name]


class SegmentTokenizer:
    """Tokenizes segments with a cache: ``expand`` and ``--max-length`` re-tokenize the same history
    turns many times (a 330-turn dialogue gives 165 samples), so each distinct text is encoded once.

    Content is tokenized with ``split_special_tokens=True``: the safety guarantee of this module.
    """

    def __init__(self, tokenizer: Any, max_cache: int = 200_000):
        self.tokenizer, self.max_cache = tokenizer, max_cache
        self.cache: dict[tuple[str, bool], list[int]] = {}
        self.bos: dict[str, list[Segment]] = {}  # template name -> BOS segment (or none), probed once

    def ids(self, text: str, special: bool) -> list[int]:
        key = (text, special)
        hit = self.cache.get(key)
        if hit is None:
            hit = self.tokenizer(text, add_special_tokens=False, split_special_tokens=not special)["input_ids"]
            if len(self.cache) >= self.max_cache:
                self.cache.clear()
            self.cache[key] = hit
        return hit

    def __call__(self, segments: list[Segment]) -> tuple[list[int], list[int]]:
        """Segments → ``(input_ids, labels)``; labels are -100 on every untrained token."""
        input_ids: list[int] = []
        labels: list[int] = []
        for seg in segments:
            if not seg.text:
                continue
            ids = self.ids(seg.text, seg.special)
            input_ids += ids
            labels += ids if seg.trained else [-100] * len(ids)
        return input_ids, labels


def tokenize_segments(segments: list[Segment], tokenizer: Any) -> tuple[list[int], list[int]]:
    """One-off form of :class:`SegmentTokenizer` (no cache kept)."""
    return SegmentTokenizer(tokenizer)(segments)


def bos_segment(tokenizer: Any | None, template: Template) -> list[Segment]:
    """A BOS segment when the tokenizer normally starts sequences with one (LLaMA-style); chat
    templates from the tokenizer already write their own."""
    if tokenizer is None or isinstance(template, TokenizerChatTemplate) or not getattr(tokenizer, "bos_token", None):
        return []
    probe = tokenizer("a")["input_ids"]
    return [Segment(tokenizer.bos_token, True)] if probe and probe[0] == tokenizer.bos_token_id else []


def markers_in(text: str, tokenizer: Any | None = None) -> list[str]:
    """Control strings (template markers, special tokens) found inside user/assistant text."""
    markers = set(KNOWN_MARKERS)
    if tokenizer is not None:
        markers |= set(getattr(tokenizer, "all_special_tokens", []) or [])
    return sorted(m for m in markers if m and m in text)
