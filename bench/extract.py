"""Main-text extraction quality and speed: jinglian against each single extractor, side by side.

    python bench/extract.py [--data ../shared/data/extraction] [--repeat 2]
    python bench/extract.py --train-selector     # refit corpus/selector.json on these pages

Sets: ``magic_html_zh`` (modern UTF-8 articles), ``magic_html_forum_zh`` (forum threads, reply and
comment lists, Q&A) and ``gbk_pages`` (2005-era GB2312/GBK pages), each
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

``jinglian (leave-one-page-out)``: the same candidates, chosen by a selector refit without the page
being scored (one fit per page), so the number is that of a selector that never saw the page.
``jinglian (leave-one-set-out)``: the selector refit on the two other sets only (fit on articles
and GBK pages, test on forums, and each way round): the estimate for a kind of page the weights
were not fit on. Both use :func:`jinglian.corpus.extract.select.fit_across`, as ``--train-selector``
does; ``learned priors, one-set-out`` is the former selector (one pooled fit, priors learned) under
the same split, for comparison. The hand rules (trust, threads, lists, fallback) are not fit and
score the same in every split. ``--comments`` also scores jinglian with the comments under articles
kept (``extract_main_text(comments=True)``). ``time per stage`` splits jinglian's CPU time per page
into parsing (charset decoding, the lxml tree, metadata and link texts), each candidate, the thread
finder, the rest of the candidate step (tree copies, widening) and the choice. Also printed: which
candidate won how often (the ``extractor`` metadata of the extract step, and in the held-out fits)
and on how many pages a held-out fit chooses differently from the shipped selector.
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
SHORT = {"magic_html_zh": "articles", "magic_html_forum_zh": "forums", "gbk_pages": "gbk"}
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
    """Per page: the features and the gold F1 of every candidate the ``extract`` step considers,
    and the CPU seconds of each stage (as :func:`jinglian.corpus.extract.extract_main_text` runs them)."""
    from jinglian.corpus.extract import page, page_metadata
    from jinglian.corpus.extract.candidates import EXTRACTORS, parse_page
    from jinglian.corpus.extract.charset import decode_html
    from jinglian.corpus.extract.page import candidates, choose, looks_like_forum
    from jinglian.corpus.extract.select import PageSignals, Selector, candidate_features

    shipped = Selector.load()
    rows = []
    for gold, body in pages:
        clock = time.process_time()
        html, tree = parse_page(decode_html(body).text)
        signals = PageSignals.from_tree(tree, page_metadata(tree, html).get("title", ""))
        parse = time.process_time() - clock
        spent = {}
        # each candidate wrapped in a timer while candidates() runs them
        timed = {"resiliparse": EXTRACTORS, "trafilatura": EXTRACTORS}
        originals = {n: EXTRACTORS[n] for n in timed}
        originals["readability"], originals["posts"] = page.readability_text, page.find_thread
        for name in timed:
            EXTRACTORS[name] = _timed(originals[name], name, spent)
        page.readability_text = _timed(originals["readability"], "readability", spent)
        page.find_thread = _timed(originals["posts"], "posts", spent)
        clock = time.process_time()
        try:
            texts, thread = candidates(html, gold["url"], tree, frozenset(signals.link_texts))
        finally:
            EXTRACTORS.update({n: originals[n] for n in timed})
            page.readability_text, page.find_thread = originals["readability"], originals["posts"]
        spent["other"] = time.process_time() - clock - sum(spent.values())
        forum = looks_like_forum(html, gold["url"]) or bool(thread and thread.floors)
        clock = time.process_time()
        choose(texts, signals, shipped, forum, False, thread)
        select = time.process_time() - clock
        scored = {n: t for n, t in texts.items() if n != "posts"}
        rows.append(
            {
                "features": candidate_features(scored, signals) if scored else {},
                "f1": {n: bigram_f1(t, gold["text"]) for n, t in texts.items()},
                "texts": texts,
                "signals": signals,
                "forum": forum,
                "thread": thread,
                "gold": gold["text"],
                "seconds": {"parse": parse, **spent, "selection": select},
            }
        )
    return rows


def _timed(fn: Callable, name: str, spent: dict) -> Callable:
    def run(*args, **kwargs):
        clock = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - clock

    return run


def training_pairs(rows: list[dict]) -> list[tuple[dict, dict]]:
    return [(r["features"], {n: r["f1"][n] for n in r["features"]}) for r in rows if len(r["features"]) > 1]


def held_out(
    rows: list[dict], train_rows: Callable[[int], list[list[dict]]], learned_priors: bool = False
) -> tuple[list[float], Counter, int]:
    """F1 per page when the selector is fit (:func:`fit_across`) on the sets of ``train_rows(i)``
    only; how often each candidate won; and on how many pages that choice differs from the
    shipped selector's (0: stable). ``learned_priors``: one fit on the sets pooled, priors learned
    too (the selector before fit_across), for comparison."""
    from jinglian.corpus.extract.page import choose
    from jinglian.corpus.extract.select import Selector, fit_across, train_selector

    shipped = Selector.load()
    scores, wins, changed, fits = [], Counter(), 0, {}
    for i, row in enumerate(rows):
        groups = train_rows(i)
        key = tuple(tuple(id(r) for r in group) for group in groups)
        if key not in fits:
            pairs = [training_pairs(group) for group in groups]
            fits[key] = (
                train_selector([p for ps in pairs for p in ps]) if learned_priors else fit_across(pairs)
            )
        selector = fits[key]
        result = choose(row["texts"], row["signals"], selector, row["forum"], False, row["thread"])
        full = choose(row["texts"], row["signals"], shipped, row["forum"], False, row["thread"])
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
    from jinglian.corpus.extract.select import WEIGHTS_FILE, fit_across

    groups = [page_candidates(load_set(data / name)) for name in SETS]
    selector = fit_across([training_pairs(rows) for rows in groups])
    pages = sum(map(len, groups))
    selector.save(
        note=f"python bench/extract.py --train-selector: one fit per set ({', '.join(SETS)}; {pages} pages), "
        "a feature kept where all fits agree on its sign, at the smallest weight; priors fixed"
    )
    print(f"wrote {WEIGHTS_FILE}: weights {selector.weights}, priors {selector.priors}")


def summary_row(name: str, per_set: dict[str, tuple[list[float], float]]) -> str:
    cells = ""
    for scores, seconds in per_set.values():
        speed = f"{len(scores) / seconds:>8.1f}" if seconds == seconds else f"{'-':>8}"
        cells += f"{statistics.mean(scores):>7.3f}{statistics.median(scores):>7.3f}{sum(s < FAILED for s in scores):>5}{speed}"
    return f"{name:<31}{cells}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding " + ", ".join(f"{s}/" for s in SETS)
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="timed passes per extractor and set (best is kept)"
    )
    parser.add_argument(
        "--train-selector", action="store_true", help="refit and save the selector, then exit"
    )
    parser.add_argument(
        "--comments", action="store_true", help="also score jinglian with the comments under articles kept"
    )
    args = parser.parse_args(argv)
    if not all((args.data / name / "gold.jsonl").exists() for name in SETS):
        raise SystemExit(f"no extraction sets under {args.data} (expected {', '.join(SETS)})")
    if args.train_selector:
        train(args.data)
        return {}
    pages = {name: load_set(args.data / name) for name in SETS}
    singles_and_ours = extractors()
    if args.comments:
        from jinglian.corpus.extract import extract_main_text
        from jinglian.corpus.extract.charset import decode_html

        def with_comments(body: bytes, url: str | None) -> str:
            result = extract_main_text(decode_html(body).text, url, comments=True)
            return result[0] if result is not None else ""

        singles_and_ours["jinglian (comments kept)"] = with_comments
    per_set = {s: evaluate(singles_and_ours, pages[s], args.repeat) for s in SETS}
    results = {name: {s: per_set[s][name] for s in SETS} for name in per_set[SETS[0]]}
    singles = [n for n in results if not n.startswith("jinglian")]
    results["oracle of the singles"] = {
        s: ([max(results[n][s][0][i] for n in singles) for i in range(len(pages[s]))], float("nan"))
        for s in SETS
    }
    rows = {s: page_candidates(pages[s]) for s in SETS}
    every = [row for s in SETS for row in rows[s]]
    bounds, start = {}, 0
    for s in SETS:
        bounds[s] = (start, start + len(rows[s]))
        start += len(rows[s])
    set_of = [s for s in SETS for _ in rows[s]]
    loo, wins, changed = held_out(
        every, lambda i: [[r for j, r in enumerate(every) if set_of[j] == s and j != i] for s in SETS]
    )
    loso, loso_wins, loso_changed = held_out(every, lambda i: [rows[s] for s in SETS if s != set_of[i]])
    nan = float("nan")
    results["jinglian (leave-one-page-out)"] = {s: (loo[slice(*bounds[s])], nan) for s in SETS}
    results["jinglian (leave-one-set-out)"] = {s: (loso[slice(*bounds[s])], nan) for s in SETS}
    pooled, _, _ = held_out(every, lambda i: [rows[s] for s in SETS if s != set_of[i]], learned_priors=True)
    results["  learned priors, one-set-out"] = {s: (pooled[slice(*bounds[s])], nan) for s in SETS}
    header = (
        f"{'':<31}"
        + "".join(f"{s:>26}" for s in SETS)
        + f"\n{'extractor':<31}"
        + f"{'mean':>7}{'median':>7}{'<0.2':>5}{'pages/s':>8}" * len(SETS)
    )
    print(header)
    print("-" * (31 + 26 * len(SETS)))
    for name, by_set in results.items():
        print(summary_row(name, by_set))
    for s in SETS:
        ours = results["jinglian"][s][0]
        rescuable = [
            i
            for i, v in enumerate(ours)
            if v < FAILED and max(results[n][s][0][i] for n in singles) > RESCUABLE
        ]
        below = sorted(ours)[:3]
        print(
            f"{s}: jinglian pages < {FAILED} where a single extractor gets > {RESCUABLE}: {len(rescuable)};"
            f" lowest F1: {', '.join(f'{v:.3f}' for v in below)}"
        )
        if args.repeat:
            ratios = ", ".join(f"{n} {results[n][s][1] / results['jinglian'][s][1]:.2f}" for n in singles)
            print(f"  pages/s jinglian / single: {ratios}")
    print(
        "jinglian's time per stage, CPU ms per page (one pass; 'other': tree copies, widening; trafilatura only on doubt):"
    )
    stages = ["parse", "resiliparse", "readability", "trafilatura", "posts", "other", "selection"]
    print(f"  {'set':<22}" + "".join(f"{st:>13}" for st in stages))
    for s in SETS:
        cells = ""
        for st in stages:
            ms = 1000 * sum(r["seconds"].get(st, 0.0) for r in rows[s]) / len(rows[s])
            cells += f"{ms:>13.1f}"
        ran = sum("trafilatura" in r["seconds"] for r in rows[s])
        print(f"  {s:<22}{cells}   (trafilatura ran on {ran}/{len(rows[s])})")
    for s in SETS:
        print(f"{s}: winning candidate (shipped selector):", dict(winners(pages[s]).most_common()))
    print("winning candidate (leave-one-page-out fits, all pages):", dict(wins.most_common()))
    print("winning candidate (leave-one-set-out fits, all pages):", dict(loso_wins.most_common()))
    print(
        f"pages whose choice changes from the shipped selector's: leave-one-page-out {changed}, leave-one-set-out {loso_changed}"
    )
    print(
        f"pages: {', '.join(f'{s} {len(pages[s])}' for s in SETS)}; F1 = character-bigram F1, whitespace removed; "
        "pages/s = one core, CPU time, shared machine (ratios from this one run are what count)"
    )
    return results


if __name__ == "__main__":
    main()
