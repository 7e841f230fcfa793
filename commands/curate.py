"""``jinglian curate`` (the corpus pipeline) and ``jinglian sample`` (sample documents)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import console, default_workers, fail, print_books, task_progress, user_errors

CURATE_EXAMPLE = """
Example:

    jinglian sample docs.jsonl && jinglian curate docs.jsonl --out curated

Reads datatrove JSONL(.gz), JSONL with a `text` field, Parquet, or .txt files (files or folders),
normalizes the text (NFKC without breaking Chinese punctuation, invisible characters, whitespace,
繁→简) and writes `OUT/documents/`, `OUT/rejected/<step>/`, `OUT/stats.json` and `OUT/logs/`.
Run the same command again after an interruption: finished tasks are skipped.
"""


def curate(
    inputs: Annotated[list[str], typer.Argument(help="Input files or folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    workers: Annotated[int, typer.Option(help="Tasks run at once (default: number of cores).")] = default_workers(),
    tasks: Annotated[int, typer.Option(help="Tasks to split the input files into (default: one per file).")] = 0,
    executor: Annotated[str, typer.Option(help="local | ray | slurm")] = "local",
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    t2s: Annotated[bool, typer.Option("--t2s/--no-t2s", help="Convert traditional to simplified (OpenCC t2s).")] = True,
    txt_mode: Annotated[str, typer.Option(help="For .txt inputs: 'file' (one doc per file) or 'paragraph' (per blank-line block).")] = "file",
    on_error: Annotated[str, typer.Option(help="Bad records: 'fail' (stop with file:line) or 'skip' (to rejected/).")] = "fail",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
) -> None:
    """Run the corpus pipeline (read → normalize → write) on a datatrove executor."""
    from jinglian.corpus.curate import curate_pipeline
    from jinglian.corpus.executors import run_pipeline
    from jinglian.corpus.readers import expand_inputs

    with user_errors():
        files = expand_inputs(inputs)
        pipeline = curate_pipeline(
            files, out, t2s=t2s, fmt=fmt, txt_mode=txt_mode, on_error=on_error, text_key=text_key, id_key=id_key
        )
        n_tasks = tasks or len(files)
        with task_progress(f"curate ({executor}, {min(workers, n_tasks)} workers)") as update:
            result = run_pipeline(pipeline, out, tasks=n_tasks, workers=min(workers, n_tasks), executor=executor, on_progress=update)
    if executor == "slurm":
        console.print(f"submitted to Slurm; logs and stats will appear under {result.logging_dir}")
        return
    result.books.save(out / "stats.json")
    print_books(result.books, title=f"jinglian curate: {len(files)} file(s)")
    for label, path in (("documents", out / "documents"), ("rejected", out / "rejected"), ("stats", out / "stats.json")):
        console.print(f"{label:>9}: {path}", soft_wrap=True, highlight=False)
    console.print(f"wall time: {result.wall_seconds:.1f} s")
    if not result.books.balanced:
        fail("the books do not balance; see stats.json", code=1)


def sample(
    out: Annotated[Path, typer.Argument(help="JSONL file to write.")],
    n: Annotated[int, typer.Option("--n", help="Number of documents.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same corpus).")] = 0,
) -> None:
    """Write realistic sample Chinese documents (articles, forum posts, lists, some traditional, some noisy).

    Example:

        jinglian sample docs.jsonl --n 500
    """
    from jinglian.corpus.sample import write_sample_jsonl

    path = write_sample_jsonl(out, n=n, seed=seed)
    console.print(f"wrote {n} sample documents to {path}")


def register(app: typer.Typer) -> None:
    app.command(help=(curate.__doc__ or "") + "\n\n" + CURATE_EXAMPLE)(curate)
    app.command()(sample)
