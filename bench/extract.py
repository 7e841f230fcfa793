"""Main-text extraction quality and speed: jinglian against plain trafilatura, side by side.

    python bench/extract.py [--data ../shared/data/extraction] [--repeat 3]

Sets: ``magic_html_zh`` (modern UTF-8 pages) and ``gbk_pages`` (2005-era GB2312/GBK pages), each
``htmls/<id>.html`` (raw bytes) with ``gold.jsonl`` (``id``, ``url``, ``text``). Score: F1 between
the multisets of character bigrams of the extracted and the gold text, whitespace removed; the
mean per set is printed, with the pages scoring under 0.5 ("garbled or empty") and pages/s on
one core: CPU seconds of this process (``time.process_time``), best of ``--repeat`` passes, so
other work on a shared machine disturbs the figure less than wall-clock time would.

Extractors, all given the page's raw bytes and its URL:
- ``trafilatura``: ``trafilatura.extract(bytes)`` with default settings;
- ``trafilatura precision``: the same with ``favor_precision=True``;
- ``jinglian``: :func:`jinglian.corpus.charset.decode_html` then
  :func:`jinglian.corpus.extract.extract_main_text` (precision, no comments, title/author/date),
  exactly what the ``extract`` step runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction"
SETS = ("magic_html_zh", "gbk_pages")


def bigram_f1(predicted: str, gold: str) -> float:
    """F1 of the character-bigram multisets of two texts, whitespace removed."""

    def bigrams(text: str) -> Counter:
        text = "".join(text.split())
        return Counter(text[i : i + 2] for i in range(len(text) - 1))

    pred, ref = bigrams(predicted), bigrams(gold)
    overlap = sum((pred & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def load_set(folder: Path) -> list[tuple[dict, bytes]]:
    rows = [json.loads(line) for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(row, (folder / "htmls" / f"{row['id']}.html").read_bytes()) for row in rows]


def extractors() -> dict[str, Callable[[bytes, str | None], str]]:
    import trafilatura

    from jinglian.corpus.charset import decode_html
    from jinglian.corpus.extract import extract_main_text

    def ours(body: bytes, url: str | None) -> str:
        result = extract_main_text(decode_html(body).text, url)
        return result[0] if result is not None else ""

    return {
        "trafilatura": lambda body, url: trafilatura.extract(body, url=url) or "",
        "trafilatura precision": lambda body, url: (
            trafilatura.extract(body, url=url, favor_precision=True) or ""
        ),
        "jinglian": ours,
    }


def evaluate(
    extract: Callable[[bytes, str | None], str], pages: list[tuple[dict, bytes]], repeat: int
) -> dict:
    scores = [bigram_f1(extract(body, gold["url"]), gold["text"]) for gold, body in pages]
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        for gold, body in pages:
            extract(body, gold["url"])
        timings.append(time.process_time() - started)
    return {
        "f1": statistics.mean(scores),
        "low": sum(s < 0.5 for s in scores),
        "pages_per_s": len(pages) / min(timings),
        "seconds": min(timings),
        "n": len(pages),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding magic_html_zh/ and gbk_pages/"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes per extractor and set (best is kept)"
    )
    args = parser.parse_args(argv)
    if not all((args.data / name / "gold.jsonl").exists() for name in SETS):
        raise SystemExit(f"no extraction sets under {args.data} (expected {', '.join(SETS)})")
    pages = {name: load_set(args.data / name) for name in SETS}
    results = {
        name: {s: evaluate(fn, pages[s], args.repeat) for s in SETS} for name, fn in extractors().items()
    }
    header = (
        f"{'extractor':<24}"
        + "".join(f"{s + ' F1':>18}{'<0.5':>6}{'pages/s':>9}" for s in SETS)
        + f"{'all pages/s':>13}"
    )
    print(header)
    print("-" * len(header))
    for name, per_set in results.items():
        cells = "".join(f"{r['f1']:>18.3f}{r['low']:>6}{r['pages_per_s']:>9.1f}" for r in per_set.values())
        overall = sum(r["n"] for r in per_set.values()) / sum(r["seconds"] for r in per_set.values())
        print(f"{name:<24}{cells}{overall:>13.1f}")
    print(
        f"pages: {', '.join(f'{s} {len(pages[s])}' for s in SETS)}; F1 = character-bigram F1, whitespace removed; one core"
    )
    return results


if __name__ == "__main__":
    main()
