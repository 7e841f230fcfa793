"""Reward functions for PPO and GRPO: rule-based ones, and a trained reward model used as one.

A reward function has TRL GRPO's signature, ``fn(prompts, completions, **kwargs) -> list[float]``, so
the same function serves both trainers. In a run config they are named by import path, with keyword
arguments: ``{function: jinglian.train.rewards:char_share, kwargs: {char: 好}, weight: 1.0}``; any
importable function works, jinglian keeps no registry of names.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable


def _text(completion) -> str:
    """A completion as text: strings pass through, conversational completions give their contents;
    ``None`` (a missing completion or message content) is empty text."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    return "".join((m.get("content") or "") if isinstance(m, dict) else _text(m) for m in completion)


def _words(words) -> tuple[str, ...]:
    """A YAML scalar (``words: 谢谢你``) is one word, not a sequence of characters."""
    words = (words,) if isinstance(words, str) else tuple(words)
    if not words or not all(isinstance(w, str) and w for w in words):
        raise ValueError(f"contains_any: words must be non-empty strings, got {words!r}")
    return words


def char_share(prompts, completions, char: str = "好", **_) -> list[float]:
    """Share of the characters of each completion that are ``char`` (0.0 for an empty completion).

    The known reward of the toy task: its optimum (every character is ``char``) is plain to see, so a
    test can check that RL actually raises it. ``char`` must be one character (a share of an empty
    or longer string is not a share of characters).
    """
    if not isinstance(char, str) or len(char) != 1:
        raise ValueError(f"char_share: char must be exactly one character, got {char!r}")
    out = []
    for c in completions:
        text = "".join(_text(c).split())
        out.append(text.count(char) / len(text) if text else 0.0)
    return out


def contains_any(prompts, completions, words: tuple[str, ...] = ("谢谢",), **_) -> list[float]:
    """1.0 when the completion contains any of ``words`` (a list, or one word as a string), else 0.0."""
    words = _words(words)
    return [float(any(w in _text(c) for w in words)) for c in completions]


def length_in_range(prompts, completions, low: int = 10, high: int = 200, **_) -> list[float]:
    """1.0 when the completion has between ``low`` and ``high`` characters, else 0.0."""
    return [float(low <= len(_text(c)) <= high) for c in completions]


def load_function(path: str, kwargs: dict | None = None) -> Callable:
    """``"package.module:name"`` → the function, with ``kwargs`` bound (TRL logs it under its name)."""
    if ":" not in path:
        raise ValueError(f"reward function {path!r} must be 'module:name', e.g. jinglian.train.rewards:char_share")
    module, name = path.split(":", 1)
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import reward function {path!r}: {err}") from err
    if not kwargs:
        return fn
    bound = functools.partial(fn, **kwargs)
    bound.__name__ = name  # type: ignore[attr-defined]
    return bound
