"""Main-text extraction quality and speed: jinglian against each single extractor, side by side.

    python bench/extract.py [--data ../shared/data/extraction] [--repeat 2]
    python bench/extract.py --train-selector     # refit corpus/selector.json on these pages

Sets: ``magic_html_zh`` (modern UTF-8 pages) and ``gbk_pages`` (2005-era GB2312/GBK pages), each
``htmls/<id>.html`` (raw bytes) with ``gold.jsonl`` (``id``, ``url``, ``text``). Score: F1 between
the multisets of character bigrams of the extracted and the gold text, whitespace removed. Per set:
mean and median F1, pages under 0.2 ("failed"), pages/s on one core: CPU seconds of this process
(``time.process_time``), best of ``--repeat`` passes, so other work on a shared machine disturbs
the figure less than wall-clock time would; the extractors take turns page by page, so what
disturbs one disturbs all and the ratios hold.

Single extractors get the raw bytes, as a user would call them (each decodes by itself):
trafilatura ``extract`` with defaults, ``favor_precision`` and ``favor_recall``; readability-lxml
``Document(bytes).summary()``; resiliparse ``extract_plain_text(main_content=True)`` after its
own ``bytes_to_str``. ``jinglian`` is :func:`jinglian.corpus.extract.charset.decode_html` then
:func:`jinglian.corpus.extract.extract_main_text`, exactly what the ``extract`` step runs.

``jinglian (leave-one-out)``: the same candidates, chosen by a selector refit without the page
being scored (41 fits), so the number is that of a selector that never saw the page; it is the
honest estimate for pages of the same kind that are not in this folder. Also printed: which
candidate won how often (the ``extractor`` metadata of the extract step, and in the
leave-one-out fits) and on how many pages a leave-one-out fit chooses differently from the
shipped selector.
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
SETS = ("magic_html_zh", "magic_html_forum_zh", "gbk_pages")
FAILED = 0.2  # F1 under which a page counts as failed (empty, garbled or the wrong block)
RESCUABLE = 0.5  # a failure counts against jinglian when some single extractor scored above this


def bigram_f1(predicted: str, gold: str) -> float:
    from jinglian.corpus.extract.select import bigram_f1 as f1

    return f1(predicted, gold)


def load_set(folder: Path) -> list[tuple[dict, bytes]]:
    rows = [json.loads(line) for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(row, (folder / "htmls" / f"{row['id']}.html").read_bytes()) for row in rows]


def extractors() -> dict[str, Callable[[bytes, str | None], str]]:
    import lxml.html
    import trafilatura
    from readability import Document
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    from jinglian.corpus.extract import extract_main_text
    from jinglian.corpus.extract.candidates import element_text
    from jinglian.corpus.extract.charset import decode_html

    def ours(body: bytes, url: str | None) -> str:
        result = extract_main_text(decode_html(body).text, url)
        return result[0] if result is not None else ""

    def readability(body: bytes, url: str | None) -> str:
        summary = Document(body, url=url).summary(html_partial=True)
        return element_text(lxml.html.fromstring(summary)) if summary.strip() else ""

    def resiliparse(body: bytes, url: str | None) -> str:
        html = bytes_to_str(body, detect_encoding(body))
        return extract_plain_text(HTMLTree.parse(html), main_content=True)

    return {
        "trafilatura": lambda body, url: trafilatura.extract(body, url=url) or "",
        "trafilatura precision": lambda body, url: (
            trafilatura.extract(body, url=url, favor_precision=True) or ""
        ),
        "trafilatura recall": lambda body, url: trafilatura.extract(body, url=url, favor_recall=True) or "",
        "readability": readability,
        "resiliparse": resiliparse,
        "jinglian": ours,
    }


def evaluate(
    extractors: dict[str, Callable[[bytes, str | None], str]], pages: list[tuple[dict, bytes]], repeat: int
) -> dict[str, tuple[list[float], float]]:
    """Per extractor: F1 per page and the best CPU seconds of ``repeat`` passes over the pages.

    Within a pass the extractors take turns page by page, so a burst of other work on a shared
    machine slows all of them alike and the ratios between them hold."""
    scores = {
        n: [bigram_f1(fn(body, gold["url"]), gold["text"]) for gold, body in pages]
        for n, fn in extractors.items()
    }
    best = dict.fromkeys(extractors, float("inf"))
    for _ in range(repeat):
        spent = dict.fromkeys(extractors, 0.0)
        for gold, body in pages:
            for name, fn in extractors.items():
                started = time.process_time()
                fn(body, gold["url"])
                spent[name] += time.process_time() - started
        best = {n: min(best[n], spent[n]) for n in extractors}
    return {n: (scores[n], best[n] if repeat else float("nan")) for n in extractors}


def page_candidates(pages: list[tuple[dict, bytes]]) -> list[dict]:
    """Per page: the features and the gold F1 of every candidate the ``extract`` step considers."""
    from trafilatura.utils import load_html

    from jinglian.corpus.extract import page_metadata
    from jinglian.corpus.extract.charset import decode_html
    from jinglian.corpus.extract.page import candidates, looks_like_forum
    from jinglian.corpus.extract.select import PageSignals, candidate_features

    rows = []
    for gold, body in pages:
        html = decode_html(body).text
        tree = load_html(html)
        signals = PageSignals.from_tree(tree, page_metadata(tree, html).get("title", ""))
        texts = candidates(html, gold["url"], tree, frozenset(signals.link_texts))
        scored = {n: t for n, t in texts.items() if n != "posts"}
        rows.append(
            {
                "features": candidate_features(scored, signals) if scored else {},
                "f1": {n: bigram_f1(t, gold["text"]) for n, t in texts.items()},
                "texts": texts,
                "signals": signals,
                "forum": looks_like_forum(html, gold["url"]),
                "gold": gold["text"],
            }
        )
    return rows


def training_pairs(rows: list[dict]) -> list[tuple[dict, dict]]:
    return [(r["features"], {n: r["f1"][n] for n in r["features"]}) for r in rows if len(r["features"]) > 1]


def leave_one_out(rows: list[dict]) -> tuple[list[float], Counter, int]:
    """F1 per page when the selector is refit without that page; how often each candidate won;
    and on how many pages that choice differs from the shipped selector's (0: a stable selector)."""
    from jinglian.corpus.extract.page import choose
    from jinglian.corpus.extract.select import Selector, train_selector

    shipped = Selector.load()
    scores, wins, changed = [], Counter(), 0
    for i, row in enumerate(rows):
        selector = train_selector(training_pairs(rows[:i] + rows[i + 1 :]))
        result = choose(row["texts"], row["signals"], selector, row["forum"])
        full = choose(row["texts"], row["signals"], shipped, row["forum"])
        changed += (result and result.extractor) != (full and full.extractor)
        if result is None:
            scores.append(0.0)
            continue
        wins[result.extractor] += 1
        scores.append(bigram_f1(result.text, row["gold"]))  # the text as chosen, trimmed and all
    return scores, wins, changed


def winners(pages: list[tuple[dict, bytes]]) -> Counter:
    """``extractor`` (and ``page_kind`` where not an article) of each page, as the extract step records them."""
    from jinglian.corpus.extract import extract_main_text
    from jinglian.corpus.extract.charset import decode_html

    counts = Counter()
    for gold, body in pages:
        result = extract_main_text(decode_html(body).text, gold["url"])
        if result is None:
            counts["(no text)"] += 1
            continue
        kind = result[1]["page_kind"]
        counts[result[1]["extractor"] + ("" if kind == "article" else f" ({kind})")] += 1
    return counts


def train(data: Path) -> None:
    from jinglian.corpus.extract.select import WEIGHTS_FILE, train_selector

    rows = [row for name in SETS for row in page_candidates(load_set(data / name))]
    selector = train_selector(training_pairs(rows))
    selector.save(note=f"python bench/extract.py --train-selector on {len(rows)} pages ({', '.join(SETS)})")
    print(f"wrote {WEIGHTS_FILE}: weights {selector.weights}, priors {selector.priors}")


def summary_row(name: str, per_set: dict[str, tuple[list[float], float]]) -> str:
    cells = ""
    for scores, seconds in per_set.values():
        speed = f"{len(scores) / seconds:>8.1f}" if seconds == seconds else f"{'-':>8}"
        cells += f"{statistics.mean(scores):>8.3f}{statistics.median(scores):>8.3f}{sum(s < FAILED for s in scores):>5}{speed}"
    return f"{name:<27}{cells}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding magic_html_zh/ and gbk_pages/"
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="timed passes per extractor and set (best is kept)"
    )
    parser.add_argument(
        "--train-selector", action="store_true", help="refit and save the selector, then exit"
    )
    args = parser.parse_args(argv)
    if not all((args.data / name / "gold.jsonl").exists() for name in SETS):
        raise SystemExit(f"no extraction sets under {args.data} (expected {', '.join(SETS)})")
    if args.train_selector:
        train(args.data)
        return {}
    pages = {name: load_set(args.data / name) for name in SETS}
    per_set = {s: evaluate(extractors(), pages[s], args.repeat) for s in SETS}
    results = {name: {s: per_set[s][name] for s in SETS} for name in per_set[SETS[0]]}
    singles = [n for n in results if n != "jinglian"]
    results["oracle of the singles"] = {
        s: ([max(results[n][s][0][i] for n in singles) for i in range(len(pages[s]))], float("nan"))
        for s in SETS
    }
    rows = {s: page_candidates(pages[s]) for s in SETS}
    every = [row for s in SETS for row in rows[s]]
    loo, wins, changed = leave_one_out(every)
    results["jinglian (leave-one-out)"] = {
        s: (loo[:n], float("nan")) if i == 0 else (loo[len(rows[SETS[0]]) :], float("nan"))
        for i, (s, n) in enumerate((s, len(rows[s])) for s in SETS)
    }
    header = (
        f"{'':<27}"
        + "".join(f"{s:>29}" for s in SETS)
        + f"\n{'extractor':<27}"
        + f"{'mean':>8}{'median':>8}{'<0.2':>5}{'pages/s':>8}" * len(SETS)
    )
    print(header)
    print("-" * 89)
    for name, per_set in results.items():
        print(summary_row(name, per_set))
    for s in SETS:
        ours = results["jinglian"][s][0]
        rescuable = [
            i
            for i, v in enumerate(ours)
            if v < FAILED and max(results[n][s][0][i] for n in singles) > RESCUABLE
        ]
        print(f"{s}: jinglian pages < {FAILED} where a single extractor gets > {RESCUABLE}: {len(rescuable)}")
        for n in singles:
            ratio = (len(pages[s]) / results["jinglian"][s][1]) / (len(pages[s]) / results[n][s][1])
            print(f"  pages/s jinglian / {n}: {ratio:.2f}")
    for s in SETS:
        print(f"{s}: winning candidate (shipped selector):", dict(winners(pages[s]).most_common()))
    print("winning candidate (leave-one-out runs, all pages):", dict(wins.most_common()))
    print(f"pages whose choice changes when the page is left out of the selector's training: {changed}")
    print(
        f"pages: {', '.join(f'{s} {len(pages[s])}' for s in SETS)}; F1 = character-bigram F1, whitespace removed; "
        "pages/s = one core, CPU time, shared machine (ratios from this one run are what count)"
    )
    return results


if __name__ == "__main__":
    main()
