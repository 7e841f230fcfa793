"""``jinglian decontaminate``: remove benchmark items (C-Eval, CMMLU, GAOKAO-Bench, ...) from documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import console, default_workers, finish_run, save_books, task_progress, user_errors
from jinglian.runs import OVERWRITE_HELP, claim

EXAMPLE = """
Examples:

    jinglian decontaminate curated/documents --benchmarks ceval=ceval-exam/test --benchmarks gaokao=GAOKAO-Bench/Data/Objective_Questions --out clean

    jinglian decontaminate docs.jsonl --benchmarks my_eval.jsonl --item-fields stem,choices --mode cut --out clean

Benchmarks are files you have: C-Eval / CMMLU CSV, GAOKAO-Bench JSON, or any JSONL / JSON / CSV /
Parquet / `datasets` save_to_disk folder (NAME=PATH names the benchmark; a folder is read whole). The
item is the question and its options (--item-fields to name other fields). Text and items are
compared after NFKC, 繁→简 and removal of punctuation, whitespace and option labels, by character
n-grams: an item is found when --min-share of it is covered, or a covered stretch of --long-run
characters (long items such as reading passages). --mode drop (default) sends the document to
OUT/rejected/decontaminate/; --mode cut removes the copied spans and keeps the rest. Outputs:
OUT/documents/, OUT/rejected/, OUT/decontam/index/ (built once, memory-mapped by every worker),
OUT/decontam/matches/ (every match: benchmark, item id, span, share), OUT/stats.json. Run the same
command again after an interruption: finished tasks are skipped.
"""

Benchmarks = Annotated[list[str], typer.Option("--benchmarks", "-b", help="[NAME=]PATH of a benchmark file or folder (repeat for several).", show_default=False)]
ItemFields = Annotated[str | None, typer.Option("--item-fields", help="Comma-separated fields that form an item (default: question + options A-H / options / choices).")]
N = Annotated[int, typer.Option("--ngram", help="Characters per n-gram of the normalized text.")]
MinShare = Annotated[float, typer.Option("--min-share", help="Share of an item that must be covered (short items).")]
LongRun = Annotated[int, typer.Option("--long-run", help="Or a covered stretch of this many characters (long items).")]


def match_config(n: int, min_share: float, long_run: int):
    from jinglian.corpus.decontam.index import MatchConfig

    if n < 4 or not 0 < min_share <= 1 or long_run < n:
        raise ValueError("--ngram must be >= 4, --min-share in (0, 1], --long-run >= --ngram")
    return MatchConfig(n=n, min_share=min_share, long_run=long_run)


def split_fields(item_fields: str | None) -> list[str] | None:
    return [f.strip() for f in item_fields.split(",") if f.strip()] if item_fields else None


def print_contamination(out: Path) -> None:
    from rich.table import Table

    from jinglian.corpus.decontam.report import contamination_summary

    summary = contamination_summary(out) or {}
    table = Table(title="contamination")
    for col in ("benchmark", "items", "items found", "documents affected", "dropped", "cut"):
        table.add_column(col, justify="left" if col == "benchmark" else "right")
    for bench, s in summary.items():
        table.add_row(bench, str(s["items"]), str(s["items_found"]), str(s["documents"]), str(s["dropped"]), str(s["cut"]))
    console.print(table)
    (out / "decontam" / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")


def decontaminate(
    inputs: Annotated[list[str], typer.Argument(help="Document files or folders (JSONL(.gz), Parquet, .txt).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    benchmarks: Benchmarks,
    item_fields: ItemFields = None,
    mode: Annotated[str, typer.Option(help="drop (the whole document) | cut (the copied spans).")] = "drop",
    ngram: N = 10, min_share: MinShare = 0.8, long_run: LongRun = 50,
    workers: Annotated[int, typer.Option(min=1, help="Tasks run at once (default: number of cores).")] = default_workers(),
    tasks: Annotated[int, typer.Option(help="Tasks to split the input files into (default: one per file).")] = 0,
    executor: Annotated[str, typer.Option(help="local | ray | slurm")] = "local",
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    on_error: Annotated[str, typer.Option(help="Bad records: 'fail' (stop with file:line) or 'skip' (to rejected/).")] = "fail",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
) -> None:
    """Find benchmark test items in documents; drop those documents or cut the copies out."""
    from jinglian.corpus.decontam import index_dir, matches_dir, prepare_index
    from jinglian.corpus.decontam.benchmarks import parse_spec
    from jinglian.corpus.decontam.step import Decontaminate
    from jinglian.corpus.executors import run_pipeline
    from jinglian.corpus.readers import DocumentReader, expand_inputs
    from jinglian.corpus.writers import document_writer

    with user_errors():
        if mode not in ("drop", "cut"):
            raise ValueError(f"--mode must be drop or cut, not {mode!r}")
        files = expand_inputs(inputs)
        claim(out, "decontaminate", [*files, *(parse_spec(b)[1] for b in benchmarks)], {
            "benchmarks": benchmarks, "item_fields": item_fields, "mode": mode, "ngram": ngram, "min_share": min_share,
            "long_run": long_run, "tasks": tasks, "format": fmt, "on_error": on_error, "text_key": text_key,
            "id_key": id_key}, overwrite, say=console.print)
        meta = prepare_index(out, benchmarks, split_fields(item_fields), match_config(ngram, min_share, long_run))
        console.print(f"index: {meta['items']} items ({meta['items_too_short']} too short to index), "
                      f"{meta['ngrams']:,} n-grams in {index_dir(out)}", soft_wrap=True)
        rejects = str(out / "rejected")
        pipeline = [
            DocumentReader(files, text_key=text_key, id_key=id_key, on_error=on_error, rejects_dir=rejects),
            Decontaminate(index_dir(out), mode=mode, rejects_dir=rejects, matches_dir=matches_dir(out)),
            document_writer(out / "documents", fmt),
        ]
        n_tasks = tasks or len(files)
        with task_progress(f"decontaminate ({executor}, {min(workers, n_tasks)} workers)") as update:
            result = run_pipeline(pipeline, out, tasks=n_tasks, workers=min(workers, n_tasks), executor=executor,
                                  on_progress=update)
    if executor == "slurm":
        console.print(f"submitted to Slurm; logs and stats will appear under {result.logging_dir}")
        return
    save_books(result.books, out, f"jinglian decontaminate: {len(files)} file(s)")
    print_contamination(out)
    finish_run(result.books, out, result.wall_seconds)


def register(app: typer.Typer) -> None:
    app.command(help=(decontaminate.__doc__ or "") + "\n\n" + EXAMPLE)(decontaminate)
