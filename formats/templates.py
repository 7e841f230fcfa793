"""The one template registry: how a conversation becomes text and tokens, and which tokens are trained.

A template renders a dialogue into :class:`Segment` s instead of one string. Each segment says
whether it is template markup (``special``: may hold control tokens such as ``<|im_start|>`` or
EOS) or user/assistant content, and whether it is trained. Two guarantees follow from that shape:

* **Masks are exact.** A token is trained when it overlaps a trained segment (the assistant text
  plus its end-of-turn token), read from the tokenizer's character offsets.
* **User text cannot inject control tokens.** Content that holds a control string is encoded with
  ``split_special_tokens=True``, so a user who types ``<|im_start|>`` or ``</s>`` gets the
  characters, never the control id; and since turn boundaries come from the segment structure (not
  from parsing text), a literal ``### Response:`` inside an instruction is just text.

The joined text is tokenized once (:class:`SegmentTokenizer`), and character offsets say which
tokens fall inside trained segments: the ids are the tokenizer's own encoding of the whole
conversation, so training sees what inference sees.

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
KNOWN_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "</s>", "<s>", "### Instruction:", "### Response:",
                 "[INST]", "[/INST]", "<|eot_id|>", "<|start_header_id|>", "<start_of_turn>", "<end_of_turn>",
                 "<|user|>", "<|assistant|>")

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
    writes_bos = False  # the rendered text starts with the model's BOS itself

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
    """The Alpaca (Stanford Alpaca) format of the seed notes; later turns repeat the Instruction/Response pair."""

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
        real = [{"role": "system", "content": system}] if system else []
        real += [{"role": m.role, "content": m.content} for m in messages]
        return _as_rendered(out, self._render(real, add_generation_prompt))


def _as_rendered(segments: list[Segment], rendered: str) -> list[Segment]:
    """``segments`` with each content as the chat template really writes it.

    Templates may transform content (``| trim`` in Llama-3 and Gemma, ``.strip()`` in Llama-2):
    sentinels do not show that, so the conversation is rendered again with its real contents and each
    content is matched there (as written, or stripped on either side) between the markup around it.
    The result joins to exactly what ``apply_chat_template`` gives, or this raises.
    """
    out: list[Segment] = []
    pos = 0
    for k, seg in enumerate(segments):
        if seg.special:
            if not rendered.startswith(seg.text, pos):
                break
            out.append(seg)
            pos += len(seg.text)
            continue
        after = next((s.text for s in segments[k + 1:] if s.special and s.text), None)
        for text in dict.fromkeys((seg.text, seg.text.strip(), seg.text.lstrip(), seg.text.rstrip())):
            end = pos + len(text)
            if rendered.startswith(text, pos) and (rendered.startswith(after, end) if after is not None else end == len(rendered)):
                out.append(Segment(text, False, seg.trained))
                pos = end
                break
        else:
            break
    if pos != len(rendered) or len(out) != len(segments):
        raise ValueError("this chat_template changes message content in a way jinglian cannot map back to the messages "
                         "(it does more than strip whitespace); use a named template (--template llama3, chatml, ...)")
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


@dataclass(frozen=True)
class Family:
    """One model family's chat format, written as the strings around each part.

    An assistant turn is ``generation`` (the prompt inference ends with; not trained), then
    ``lead`` + answer + ``end_of_turn`` (trained: what the model must write), then ``after`` (not
    trained). ``system=None``: the family has no system role of its own; a system prompt goes in
    front of the first user message, inside ``system_wrap``. ``trim``: contents are stripped, as the
    family's own template does (``| trim``, ``.strip()``). ``shared_user_open``: the end of an
    answer is the next user turn's opening token (GLM-4 stops on ``<|user|>``), so that token is
    written once, as the answer's end.
    """

    name: str
    user: tuple[str, str]
    generation: str
    end_of_turn: str
    prefix: str = ""
    system: tuple[str, str] | None = None
    system_wrap: tuple[str, str] = ("", "\n\n")  # around a system prompt put in the first user turn
    lead: str = ""
    after: str = ""
    trim: bool = False
    shared_user_open: bool = False
    writes_bos: bool = False  # the prefix or user turns hold the BOS: no BOS is added in front


class FamilyTemplate(Template):
    """A :class:`Family` as a template (see ``FAMILIES`` for the formats)."""

    def __init__(self, family: Family):
        self.family = family
        self.name = family.name
        self.end_of_turn = family.end_of_turn
        self.writes_bos = family.writes_bos

    def render(self, messages, system, trained, eos="", add_generation_prompt=False):
        f = self.family
        clean = (lambda t: t.strip()) if f.trim else (lambda t: t)
        out: list[Segment] = [Segment(f.prefix, True)] if f.prefix else []
        merge_system = bool(system) and f.system is None
        if system and f.system is not None:
            out += [Segment(f.system[0], True), Segment(clean(system), False), Segment(f.system[1], True)]
        for i, m in enumerate(messages):
            if m.role == "user":
                opened = f.shared_user_open and i > 0 and messages[i - 1].role == "assistant"
                out.append(Segment(f.user[0].removeprefix(f.end_of_turn) if opened else f.user[0], True))
                if merge_system and i == 0:
                    out += [Segment(f.system_wrap[0], True), Segment(clean(system), False), Segment(f.system_wrap[1], True)]
                out += [Segment(clean(m.content), False), Segment(f.user[1], True)]
            else:
                t = i in trained
                out += [Segment(f.generation, True)] + ([Segment(f.lead, True, t)] if f.lead else [])
                out += [Segment(clean(m.content), False, t), Segment(f.end_of_turn, True, t)]
                out += [Segment(f.after, True)] if f.after else []
        if add_generation_prompt:
            out.append(Segment(f.generation, True))
        return [s for s in out if s.text or not s.special]


# Each format as the family's own chat template writes it (the tests spell every one out).
FAMILIES = [
    # meta-llama/Llama-2-*-chat: BOS on every user turn, content stripped, " answer </s>"
    Family("llama2", user=("<s>[INST] ", " [/INST]"), generation="", lead=" ", end_of_turn=" </s>",
           system_wrap=("<<SYS>>\n", "\n<</SYS>>\n\n"), trim=True, writes_bos=True),
    # meta-llama/Meta-Llama-3(.1)-*-Instruct: header blocks, content | trim, <|eot_id|> ends every turn
    Family("llama3", prefix="<|begin_of_text|>", system=("<|start_header_id|>system<|end_header_id|>\n\n", "<|eot_id|>"),
           user=("<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"),
           generation="<|start_header_id|>assistant<|end_header_id|>\n\n", end_of_turn="<|eot_id|>", trim=True, writes_bos=True),
    # mistralai/Mistral-7B-Instruct-v0.1/v0.2: no system role (it goes before the first question)
    Family("mistral", prefix="<s>", user=("[INST] ", " [/INST]"), generation="", end_of_turn="</s>", writes_bos=True),
    # google/gemma(-2)-*-it: "model" turns, content | trim; no system role (as Gemma 3: before the first question)
    Family("gemma", prefix="<bos>", user=("<start_of_turn>user\n", "<end_of_turn>\n"), generation="<start_of_turn>model\n",
           end_of_turn="<end_of_turn>", after="\n", trim=True, writes_bos=True),
    # THUDM/glm-4-9b-chat: [gMASK]<sop>, role tokens, an answer ends where the next <|user|> starts
    Family("glm4", prefix="[gMASK]<sop>", system=("<|system|>\n", ""), user=("<|user|>\n", ""), generation="<|assistant|>",
           lead="\n", end_of_turn="<|user|>", shared_user_open=True),
    # baichuan-inc/Baichuan2-*-Chat: <reserved_106> user, <reserved_107> assistant, system text first;
    # each answer ends with </s> (Baichuan2 trains that EOS; its chat history leaves it out)
    Family("baichuan2", system=("", ""), user=("<reserved_106>", ""), generation="<reserved_107>", end_of_turn="</s>"),
    # deepseek-ai/deepseek-llm-*-chat (and DeepSeek-V2-Chat): "User: ...\n\nAssistant: ...<｜end▁of▁sentence｜>"
    Family("deepseek", prefix="<｜begin▁of▁sentence｜>", system=("", "\n\n"), user=("User: ", "\n\n"), generation="Assistant:",
           lead=" ", end_of_turn="<｜end▁of▁sentence｜>", writes_bos=True),
]
# Families that write ChatML (<|im_start|>role ... <|im_end|>): Qwen (1.5, 2, 2.5 given a system
# prompt, 3 without thinking), Yi-*-Chat, and models trained with it.
CHATML_ALIASES = ("qwen", "yi")

TEMPLATES: dict[str, Template] = {
    "alpaca": AlpacaTemplate(), "chatml": ChatMLTemplate(), **{name: ChatMLTemplate() for name in CHATML_ALIASES},
    **{f.name: FamilyTemplate(f) for f in FAMILIES},
}
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
    """Tokenizes a rendered conversation once and labels tokens by character offsets.

    The segments are joined into the conversation's text and that text is encoded in one call
    (``return_offsets_mapping``), so ``input_ids`` are exactly what the tokenizer gives the whole
    conversation, as at inference, for byte-level and Metaspace/SentencePiece-style tokenizers alike
    (segment-by-segment encoding gives every segment its own ``▁`` prefix). A token is trained when it
    starts inside a trained segment's characters.

    When user or assistant text holds a control-token string (``<|im_start|>``, ``</s>``), encoding
    the whole text would turn it into the control id. Such a conversation is cut at the template's own
    control tokens instead; those become their ids, and the text between them is encoded with
    ``split_special_tokens=True``, so the characters stay characters. Encoded texts are cached: ``expand``
    and ``--max-length`` re-encode the same prefixes many times.
    """

    def __init__(self, tokenizer: Any, max_cache: int = 50_000):
        self.tokenizer, self.max_cache = tokenizer, max_cache
        self.cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}
        self.bos: dict[str, list[Segment]] = {}  # template name -> BOS segment (or none), probed once
        specials = set(getattr(tokenizer, "all_special_tokens", []) or [])
        specials |= {t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if getattr(t, "special", False)}
        self.specials = sorted((s for s in specials if s), key=len, reverse=True)

    def _encode(self, text: str, split_special: bool) -> tuple[list[int], list[tuple[int, int]]]:
        key = ("\x00" if split_special else "") + text
        hit = self.cache.get(key)
        if hit is None:
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, split_special_tokens=split_special)
            hit = (list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]])
            if len(self.cache) >= self.max_cache:
                self.cache.clear()
            self.cache[key] = hit
        return hit

    def _pieces(self, segments: list[Segment]) -> list[tuple[str, bool]]:
        """(text, is_control_token): control tokens of markup segments cut out, the rest joined."""
        pieces: list[tuple[str, bool]] = []
        buf = ""
        for seg in segments:
            text = seg.text
            while seg.special and text:
                at = [(text.find(s), s) for s in self.specials if s in text]
                if not at:
                    break
                pos, tok = min(at, key=lambda p: (p[0], -len(p[1])))
                buf += text[:pos]
                if buf:
                    pieces.append((buf, False))
                pieces.append((tok, True))
                buf, text = "", text[pos + len(tok):]
            buf += text
        if buf:
            pieces.append((buf, False))
        return pieces

    def encode(self, segments: list[Segment]) -> tuple[list[int], list[tuple[int, int]]]:
        """``(input_ids, character offsets)`` of the joined segments (see the class docstring)."""
        text = "".join(s.text for s in segments)
        content = [s.text for s in segments if not s.special]
        if not any(sp in c for c in content for sp in self.specials):
            return self._encode(text, split_special=False)
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        pos = 0
        for piece, control in self._pieces(segments):
            if control:
                ids.append(self.tokenizer.convert_tokens_to_ids(piece))
                offsets.append((pos, pos + len(piece)))
            else:
                p_ids, p_off = self._encode(piece, split_special=True)
                ids += p_ids
                offsets += [(pos + a, pos + b) for a, b in p_off]
            pos += len(piece)
        return ids, offsets

    def __call__(self, segments: list[Segment]) -> tuple[list[int], list[int]]:
        """Segments → ``(input_ids, labels)``; labels are -100 on every untrained token."""
        spans, pos = [], 0
        for seg in segments:
            if seg.trained and seg.text:
                if spans and spans[-1][1] == pos:
                    spans[-1] = (spans[-1][0], pos + len(seg.text))
                else:
                    spans.append((pos, pos + len(seg.text)))
            pos += len(seg.text)
        ids, offsets = self.encode(segments)
        labels = [-100] * len(ids)
        k = 0
        for i, (start, end) in enumerate(offsets):
            while k < len(spans) and spans[k][1] <= start:
                k += 1
            # trained when it overlaps a trained span; a zero-width token (e.g. a bare ``▁``) when it sits inside
            if k < len(spans) and (spans[k][0] < end if end > start else spans[k][0] <= start) and start < spans[k][1]:
                labels[i] = ids[i]
        return ids, labels


def tokenize_segments(segments: list[Segment], tokenizer: Any) -> tuple[list[int], list[int]]:
    """One-off form of :class:`SegmentTokenizer` (no cache kept)."""
    return SegmentTokenizer(tokenizer)(segments)


def bos_segment(tokenizer: Any | None, template: Template) -> list[Segment]:
    """A BOS segment by the rule every stage follows (:func:`jinglian.formats.tokenizer.bos_prefix`):
    text rendered by the tokenizer's chat template as written, other templates' text with the BOS the
    tokenizer adds."""
    from jinglian.formats.tokenizer import adds_bos

    if tokenizer is None or isinstance(template, TokenizerChatTemplate) or template.writes_bos or not adds_bos(tokenizer):
        return []
    return [Segment(tokenizer.bos_token, True)]


def markers_in(text: str, tokenizer: Any | None = None) -> list[str]:
    """Control strings (template markers, special tokens) found inside user/assistant text."""
    markers = set(KNOWN_MARKERS)
    if tokenizer is not None:
        markers |= set(getattr(tokenizer, "all_special_tokens", []) or [])
    return sorted(m for m in markers if m and m in text)
