"""Record types for SFT, multi-turn and preference data, and the readers that validate them.

Every input format is turned into one internal shape, a :class:`Conversation` (system prompt plus
alternating user/assistant :class:`Message` s), so templates, masking and strategies are written
once. Accepted record formats, auto-detected per record:

* Alpaca / LLaMA-Factory: ``instruction``, ``input`` (optional), ``output``, optional ``system``
  and ``history`` (a list of ``[user, assistant]`` pairs that came before).
* OpenAI / TRL conversational: ``messages`` = ``[{"role", "content"}, ...]``.
* ShareGPT / LLaMA-Factory sharegpt: ``conversations`` = ``[{"from", "value"}, ...]`` with
  ``from`` in human/user, gpt/assistant/model, system; optional top-level ``system``.

Files are JSONL (one record a line) or a JSON array. A bad record raises (``on_error="fail"``) or is
returned (``"skip"``) as :class:`InputError` naming the file, the line (JSONL) or ``[index]`` (JSON
array) and the field, e.g. ``data.jsonl:59: field 'conversations[4].value': empty``. We reuse the
corpus reader's ``InputError`` so every command prints bad input the same way.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from jinglian.corpus.readers import InputError, expand_inputs

RECORD_SUFFIXES = (".json", ".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")
ROLE_ALIASES = {
    "human": "user", "user": "user",
    "gpt": "assistant", "assistant": "assistant", "model": "assistant", "bot": "assistant", "chatgpt": "assistant",
    "system": "system",
}


@dataclass(frozen=True)
class Message:
    role: str  # "user" | "assistant" (a system prompt lives on the Conversation)
    content: str


@dataclass
class Conversation:
    """A validated dialogue: optional system prompt, then user/assistant turns alternating, user first."""

    messages: list[Message]
    system: str | None = None
    source: str = ""  # "file:line" or "file[index]": where it came from, for rejects and the card
    notes: list[str] = field(default_factory=list)  # what validation repaired (e.g. "dropped_trailing_user")

    def as_dicts(self, with_system: bool = True) -> list[dict[str, str]]:
        """TRL conversational form: ``[{"role", "content"}, ...]`` with the system prompt first."""
        head = [{"role": "system", "content": self.system}] if with_system and self.system else []
        return head + [{"role": m.role, "content": m.content} for m in self.messages]

    @property
    def n_assistant(self) -> int:
        return sum(m.role == "assistant" for m in self.messages)


@dataclass(frozen=True)
class Located:
    """A raw record and where it is: ``path`` plus a JSONL line or a JSON-array index."""

    record: object
    path: str
    line: int | None = None
    index: int | None = None

    @property
    def where(self) -> str:
        if self.line is not None:
            return f"{self.path}:{self.line}"
        return f"{self.path}[{self.index}]"

    def error(self, reason: str, detail: str) -> InputError:
        if self.line is not None:
            return InputError(self.path, self.line, reason, detail)
        return InputError(f"{self.path}[{self.index}]", None, reason, detail)


def expand_record_files(inputs: list[str]) -> list[str]:
    """Input files in a stable order; folders are searched recursively for JSON/JSONL files."""
    return expand_inputs(inputs, RECORD_SUFFIXES)


def iter_raw_records(path: str) -> Iterator[Located | InputError]:
    """Raw records of one file. A JSON array is detected by its first non-blank byte ``[``."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if not data.strip():
        yield InputError(path, None, "empty_file", "file is empty")
        return
    if data.lstrip()[:1] == b"[":
        try:
            array = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as err:
            yield InputError(path, None, "invalid_utf8", f"invalid UTF-8 at byte {err.start}")
            return
        except json.JSONDecodeError as err:
            yield InputError(path, err.lineno, "malformed_json", f"malformed JSON array ({err.msg.removesuffix(' at')} at column {err.colno})")
            return
        for i, record in enumerate(array):
            yield Located(record, path, index=i)
        return
    if path.endswith((".json", ".json.gz")) and b"\n" in data.strip():
        # a .json holding one pretty-printed object (not JSONL): one record
        try:
            whole = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            whole = None
        if isinstance(whole, dict):
            yield Located(whole, path, index=0)
            return
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            yield InputError(path, lineno, "invalid_utf8", f"invalid UTF-8 at byte {err.start} of the line")
            continue
        except json.JSONDecodeError as err:
            yield InputError(path, lineno, "malformed_json", f"malformed JSON ({err.msg.removesuffix(' at')} at column {err.colno})")
            continue
        yield Located(record, path, line=lineno)


class NothingToTrain(InputError):
    """A well-formed record that yields no sample (no assistant turn, a blank answer). Builders drop
    it into ``rejected.jsonl`` with its reason and go on, whatever ``--on-error`` says."""


def _answer_field(loc: Located, value: object, name: str) -> str:
    """An assistant text: must be a string; blank means "nothing to train on", not malformed."""
    text = _text_field(loc, value, name, allow_empty=True)
    if not text.strip():
        raise NothingToTrain(*_where(loc), "empty_answer", f"field '{name}': blank answer, nothing to train on")
    return text


def _where(loc: Located) -> tuple[str, int | None]:
    return (loc.path, loc.line) if loc.line is not None else (f"{loc.path}[{loc.index}]", None)


def _text_field(loc: Located, value: object, name: str, allow_empty: bool = False) -> str:
    if value is None:
        raise loc.error("missing_field", f"field '{name}': missing")
    if not isinstance(value, str):
        raise loc.error("not_a_string", f"field '{name}': expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise loc.error("empty_field", f"field '{name}': empty")
    return value


def alpaca_user_text(instruction: str, input_text: str) -> str:
    """How Alpaca's ``input`` joins the instruction: one newline, and nothing when ``input`` is empty.

    The template ``### Instruction:\\n{instruction}\\n{input}\\n\\n### Response:\\n`` would otherwise
    leave a stray blank line for the ~86% of records without an input.
    """
    return f"{instruction}\n{input_text}" if input_text.strip() else instruction


def _from_alpaca(loc: Located, rec: dict) -> Conversation:
    instruction = _text_field(loc, rec.get("instruction"), "instruction")
    input_text = _text_field(loc, rec.get("input", ""), "input", allow_empty=True)
    output = _answer_field(loc, rec.get("output"), "output")
    system = rec.get("system")
    if system is not None:
        system = _text_field(loc, system, "system", allow_empty=True) or None
    messages: list[Message] = []
    history = rec.get("history") or []
    if not isinstance(history, list):
        raise loc.error("bad_history", f"field 'history': expected a list of [user, assistant] pairs, got {type(history).__name__}")
    for i, pair in enumerate(history):
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise loc.error("bad_history", f"field 'history[{i}]': expected a [user, assistant] pair")
        messages.append(Message("user", _text_field(loc, pair[0], f"history[{i}][0]")))
        messages.append(Message("assistant", _answer_field(loc, pair[1], f"history[{i}][1]")))
    messages += [Message("user", alpaca_user_text(instruction, input_text)), Message("assistant", output)]
    return Conversation(messages, system, loc.where)


def _turn_keys(turns: list) -> tuple[str, str]:
    """ShareGPT (``from``/``value``) or OpenAI (``role``/``content``) keys, judged by the first turn."""
    first = turns[0] if turns and isinstance(turns[0], dict) else {}
    return ("from", "value") if "from" in first else ("role", "content")


def _validate_turns(loc: Located, turns: object, key: str) -> tuple[list[Message], str | None]:
    """Turns → (user/assistant messages alternating from user, system prompt or None)."""
    if not isinstance(turns, list) or not turns:
        raise loc.error("bad_turns", f"field '{key}': expected a non-empty list of turns")
    role_key, text_key = _turn_keys(turns)
    messages: list[Message] = []
    system = None
    for i, turn in enumerate(turns):
        name = f"{key}[{i}]"
        if not isinstance(turn, dict):
            raise loc.error("bad_turns", f"field '{name}': expected an object, got {type(turn).__name__}")
        raw_role = turn.get(role_key)
        role = ROLE_ALIASES.get(str(raw_role).lower()) if raw_role is not None else None
        if role is None:
            raise loc.error("unknown_role", f"field '{name}.{role_key}': unknown role {raw_role!r}")
        if role == "assistant":
            text = _answer_field(loc, turn.get(text_key), f"{name}.{text_key}")
        else:
            # a blank user turn is kept (scraped dialogues lose menu picks and "continue" presses; the
            # answers around it still teach), and counted as a note by _from_turns
            text = _text_field(loc, turn.get(text_key), f"{name}.{text_key}", allow_empty=True)
        if role == "system":
            if messages:
                raise loc.error("misplaced_system", f"field '{name}': a system turn is only allowed first")
            system = text or None
            continue
        expected = "user" if not messages or messages[-1].role == "assistant" else "assistant"
        if role != expected:
            raise loc.error("roles_not_alternating", f"field '{name}.{role_key}': expected a {expected} turn, got {role}")
        messages.append(Message(role, text))
    return messages, system


def _from_turns(loc: Located, turns: object, key: str, system: str | None) -> Conversation:
    messages, turn_system = _validate_turns(loc, turns, key)
    conv = Conversation(messages, turn_system or system, loc.where)
    conv.notes += ["blank_user_turn"] * sum(m.role == "user" and not m.content.strip() for m in messages)
    # A dialogue that ends on a user turn has nothing to learn from that last turn: drop it and say so.
    if messages and messages[-1].role == "user":
        messages.pop()
        conv.notes.append("dropped_trailing_user")
    if not conv.n_assistant:
        raise NothingToTrain(*_where(loc), "no_assistant_turn", f"field '{key}': no assistant turn to train on")
    return conv


def parse_conversation(loc: Located) -> Conversation:
    """Any supported SFT / dialogue record → a validated :class:`Conversation` (raises InputError)."""
    rec = loc.record
    if not isinstance(rec, dict):
        raise loc.error("not_an_object", f"expected a JSON object, got {type(rec).__name__}")
    system = rec.get("system")
    if system is not None:
        system = _text_field(loc, system, "system", allow_empty=True) or None
    if "messages" in rec:
        return _from_turns(loc, rec["messages"], "messages", system)
    if "conversations" in rec:
        return _from_turns(loc, rec["conversations"], "conversations", system)
    if "instruction" in rec or "output" in rec:
        return _from_alpaca(loc, rec)
    keys = ", ".join(sorted(rec)) or "none"
    raise loc.error("unknown_format", f"no 'messages', 'conversations' or 'instruction'/'output' field (fields: {keys})")


def parse_prompt_turns(loc: Located, value: object, name: str, cut_to_last_user: bool = False) -> tuple[list[Message], str | None]:
    """A preference/RL prompt: a string, or a message list ending on a user turn → (messages, system).

    With ``cut_to_last_user`` a list that goes on past its last user turn (a whole dialogue) is cut
    there: the prompt keeps the whole history up to and including the last question."""
    if isinstance(value, str):
        return [Message("user", _text_field(loc, value, name))], None
    if isinstance(value, list):
        messages, system = _validate_turns(loc, value, name)
        if cut_to_last_user:
            while messages and messages[-1].role != "user":
                messages.pop()
        if not messages or messages[-1].role != "user":
            raise loc.error("prompt_not_ending_on_user", f"field '{name}': a prompt must end with a user turn")
        return messages, system
    raise loc.error("bad_prompt", f"field '{name}': expected a string or a list of turns, got {type(value).__name__}")


def response_text(loc: Located, value: object, name: str) -> str:
    """A response given as a string, ``{"from"/"role", "value"/"content"}``, or a one-message list."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        role = ROLE_ALIASES.get(str(value.get("role", value.get("from", "assistant"))).lower())
        if role != "assistant":
            raise loc.error("unknown_role", f"field '{name}': a response must come from the assistant, not {role!r}")
        value = value.get("content", value.get("value"))
    return _text_field(loc, value, name)
