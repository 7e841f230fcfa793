"""Normalize Chinese text: Unicode, full/half width, invisible characters, whitespace, 繁→简.

Why not plain NFKC: it turns the Chinese punctuation ``，：；！？（）`` into ASCII and ``…`` into
``...``, which Chinese text does not use. We apply NFKC to everything else (so ``ＡＢＣ１２３``
becomes ``ABC123`` and compatibility ideographs are unified) and leave that punctuation alone by
swapping it for private-use placeholders around the NFKC call (NFKC never touches private use).

Traditional → simplified uses OpenCC's ``t2s`` phrase tables. The script the text arrived in is
recorded in ``metadata["script"]`` (``hant`` / ``hans`` / ``none``), with the number of Han
characters OpenCC changed in ``metadata["t2s_changed"]`` so a user can re-threshold.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from datatrove.data import Document

from jinglian.corpus.stats import AccountedFilter, Verdict

# Full-width punctuation Chinese text uses as is (NFKC would make it ASCII).
CHINESE_PUNCTUATION = "，。、！？：；（）…～"
_PRIVATE_BASE = 0xF0000  # Supplementary Private Use Area-A: never in real text, untouched by NFKC
_PROTECT = str.maketrans({c: chr(_PRIVATE_BASE + i) for i, c in enumerate(CHINESE_PUNCTUATION)})
_RESTORE = str.maketrans({chr(_PRIVATE_BASE + i): c for i, c in enumerate(CHINESE_PUNCTUATION)})

# Zero-width and bidi marks, soft hyphen, BOM, C0/C1 controls except newline and tab, surrogates.
_INVISIBLE = (
    [0x00AD, 0x034F, 0x061C, 0x180E, 0xFEFF]
    + list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + list(range(0x2060, 0x2070))
    + [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)]
    + list(range(0x7F, 0xA0))
    + list(range(0xD800, 0xE000))  # lone surrogates (half an emoji): not Unicode, cannot be written
)
_REMOVE_INVISIBLE = dict.fromkeys(_INVISIBLE)

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")  # any whitespace except newline
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]")

# Share of Han characters OpenCC must change before we call the text traditional. Simplified
# text has a few characters t2s rewrites too (e.g. variant forms), traditional text has ~20%+.
TRADITIONAL_MIN_CHANGED = 0.03


def normalize_unicode(text: str) -> str:
    """NFKC everything except Chinese punctuation; drop invisible and control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_REMOVE_INVISIBLE).translate(_PROTECT)
    return unicodedata.normalize("NFKC", text).translate(_RESTORE)


def fold_whitespace(text: str) -> str:
    """One space for each run of spaces, no indentation, at most one blank line between paragraphs."""
    lines = (_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=1)
def t2s_converter():
    """OpenCC's traditional→simplified converter, built once per process and lazily (OpenCC objects
    do not pickle to worker processes). Every step that folds 繁→简 uses this one."""
    import opencc

    return opencc.OpenCC("t2s")


class Normalizer(AccountedFilter):
    """Datatrove step: Unicode cleanup, whitespace folding and (by default) 繁→简.

    Drops a document only when nothing is left of it (reason ``empty_after_normalize``).
    """

    name = "normalize"

    def __init__(self, t2s: bool = True, rejects_dir: str | None = None):
        super().__init__(rejects_dir)
        self.t2s = t2s

    def normalize(self, text: str) -> tuple[str, dict]:
        text = fold_whitespace(normalize_unicode(text))
        han = len(_HAN.findall(text))
        simplified = t2s_converter().convert(text)
        # Count changed characters: t2s maps character for character (same length) in practice.
        changed = sum(a != b for a, b in zip(text, simplified, strict=True)) if len(simplified) == len(text) else han
        script = "none" if han == 0 else ("hant" if changed >= TRADITIONAL_MIN_CHANGED * han else "hans")
        return (simplified if self.t2s else text), {"script": script, "t2s_changed": changed}

    def check(self, doc: Document) -> Verdict:
        doc.text, info = self.normalize(doc.text)
        doc.metadata.update(info)
        return None if doc.text else "empty_after_normalize"
