"""``jinglian dedup``: exact + MinHash near-duplicate removal, optionally against an incremental index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import (
    SlurmOption,
    WorkersOption,
    console,
    executor_workers,
    fail,
    finish_run,
    save_books,
    stage_progress,
    user_errors,
)
from jinglian.corpus.dedup.minhash import SHORT_BELOW
from jinglian.runs import OVERWRITE_HELP, claim

DEDUP_EXAMPLE = """
Example:

    jinglian sample docs.jsonl && jinglian dedup docs.jsonl --out deduped --index corpus-index

Exact duplicates (same text once normalized: NFKC, 繁→简, lower case, punctuation and whitespace
removed) and near-duplicates (MinHash LSH on the character 3-grams and 5-grams of that text,
estimated Jaccard >= --threshold) are removed; the earliest document in input order (files in the order given, then
line order) survives. Writes OUT/documents/, OUT/rejected/dedup/ (each with `duplicate_of` and
`dedup_jaccard`), OUT/stats.json and OUT/dedup/ (work files, summary.json, logs). With --index, the
input is also deduplicated against every batch indexed before, and what it keeps is added.
Run the same command again after an interruption: finished tasks are skipped.
"""


def dedup(
    inputs: Annotated[list[str], typer.Argument(help="Input files or folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    threshold: Annotated[
        float,
        typer.Option(
            help="Estimated Jaccard (character n-grams) at or above which two documents are duplicates."
        ),
    ] = 0.7,
    index: Annotated[
        Path | None, typer.Option("--index", help="Incremental index folder (created when new).")
    ] = None,
    workers: WorkersOption = None,
    executor: Annotated[
        str, typer.Option(help="local | ray | slurm (the four stages as chained Slurm jobs)")
    ] = "local",
    slurm_option: SlurmOption = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    t2s: Annotated[
        bool, typer.Option("--t2s/--no-t2s", help="Compare traditional and simplified script as one.")
    ] = True,
    ngram: Annotated[int, typer.Option(help="Characters per shingle.")] = 5,
    short_ngram: Annotated[int, typer.Option(help="Second shingle size, for short texts (every text gets both).")] = 3,
    short_below: Annotated[
        int, typer.Option(help="0: --ngram shingles only; any other value: --ngram and --short-ngram shingles.")
    ] = SHORT_BELOW,
    bands: Annotated[
        int | None, typer.Option(help="LSH bands (default: chosen from --threshold; 16 at 0.7).")
    ] = None,
    rows: Annotated[
        int | None, typer.Option(help="Signature values per band (default: from --threshold; 7 at 0.7).")
    ] = None,
    txt_mode: Annotated[str, typer.Option(help="For .txt inputs: 'file' or 'paragraph'.")] = "file",
    on_error: Annotated[
        str, typer.Option(help="Bad records: 'fail' (stop with file:line) or 'skip' (to rejected/).")
    ] = "fail",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
) -> None:
    """Remove exact and near-duplicate documents (MinHash LSH), optionally against an incremental index."""
    from jinglian.corpus.dedup.minhash import DedupConfig
    from jinglian.corpus.dedup.runner import run_dedup
    from jinglian.corpus.executors import parse_slurm_options
    from jinglian.corpus.readers import expand_inputs

    with user_errors():
        files = expand_inputs(inputs)
        if (bands is None) != (rows is None):
            fail("give both --bands and --rows, or neither (then they follow --threshold)")
        rule = {"ngram": ngram, "short_ngram": short_ngram, "short_below": short_below, "t2s": t2s}
        config = (
            DedupConfig.for_threshold(threshold, **rule)
            if bands is None
            else DedupConfig(bands=bands, rows=rows, threshold=threshold, **rule)
        )
        reader = {"text_key": text_key, "id_key": id_key, "txt_mode": txt_mode, "on_error": on_error}
        claim(out, "dedup", files, {"dedup": vars(config), "index": index, "format": fmt, "reader": reader},
              overwrite, say=console.print)
        with stage_progress("dedup") as on_stage:
            result = run_dedup(
                files,
                out,
                config=config,
                index_dir=index,
                workers=executor_workers(executor, workers),
                executor=executor,
                slurm_options=parse_slurm_options(slurm_option),
                fmt=fmt,
                reader_options=reader,
                on_stage=on_stage,
            )
    if result is None:
        console.print(f"submitted to Slurm as 4 chained jobs; logs and stats will appear under {out / 'dedup'}")
        return
    save_books(result.books, out, f"jinglian dedup: {len(files)} file(s)")
    s = result.summary
    console.print(
        f"clusters: {s['clusters']} (largest {s['largest_cluster']} documents); "
        f"{s['exact_duplicates']} exact + {s['near_duplicates']} near duplicates"
        + (f", {s['duplicates_of_index']} of them already in the index" if index else "")
        + f"; {s['exact_only_short']} too short for MinHash (exact only), {s['not_deduplicated_empty']} with no letters"
    )
    if index:
        added = "batch already indexed" if result.indexed is None else f"{result.indexed} documents added"
        console.print(f"index: {index} ({added})")
    finish_run(result.books, out, result.wall_seconds)


def register(app: typer.Typer) -> None:
    app.command(help=(dedup.__doc__ or "") + "\n\n" + DEDUP_EXAMPLE)(dedup)
