"""``jinglian filter`` (quality filtering by profile) and ``jinglian quality train|score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinglian.cli import (
    console,
    default_workers,
    finish_run,
    save_books,
    task_progress,
    user_errors,
)

FILTER_EXAMPLE = """
Example:

    jinglian sample docs.jsonl && jinglian filter docs.jsonl --out filtered
    jinglian filter crawl/documents --out filtered --profile my-profile.yaml

Reads documents (JSONL(.gz), Parquet, .txt; files or folders), normalizes them (--no-normalize to
skip), then runs the profile's steps: language ID, Chinese heuristics, web-spam rules, weighted
blocklists, the optional fastText quality model and PII redaction. Writes `OUT/documents/`,
`OUT/rejected/<step>/` (each dropped document with `reject_reason` = rule and `reject_value`),
`OUT/stats.json` and `OUT/logs/`. The statistics every rule measured stay in each document's
metadata. `--profile` is `zh-web` (built in) or a YAML file; `extends: zh-web` in your own file
overrides only what you set.
"""


def _pii_counts(logging_dir: Path) -> dict[str, int]:
    """Sum the ``pii/<kind>`` counters every task saved."""
    totals = _step_counters(logging_dir)
    return {key[4:]: n for key, n in totals.items() if key.startswith("pii/")}


def _step_counters(logging_dir: Path, step_name: str | None = None) -> dict[str, int]:
    """Sum the counters every task saved, over all steps or over the step named ``step_name``."""
    totals: dict[str, int] = {}
    for path in sorted((logging_dir / "stats").glob("*.json")):
        for step in json.loads(path.read_text()):
            if step_name is not None and step["name"].split(": ", 1)[-1] != step_name:
                continue
            for key, value in step["stats"].items():
                n = int(value["total"] if isinstance(value, dict) else value)
                totals[key] = totals.get(key, 0) + n
    return totals


def _line_cleaning(logging_dir: Path) -> str | None:
    """One line on what line cleaning removed, from the ``lines`` step's counters."""
    c = _step_counters(logging_dir, "lines")
    if not c.get("in"):
        return None
    share = c.get("chars_removed", 0) / max(c.get("chars_seen", 0), 1)
    return (
        f"line cleaning: {c.get('lines_removed', 0)} boilerplate lines removed from {c['in']} pages "
        f"({share:.1%} of their characters)"
    )


def _run(pipeline, out: Path, files: list[str], tasks: int, workers: int, executor: str, title: str):
    from jinglian.corpus.executors import run_pipeline

    n_tasks = tasks or len(files)
    with task_progress(f"{title} ({executor}, {min(workers, n_tasks)} workers)") as update:
        result = run_pipeline(
            pipeline, out, tasks=n_tasks, workers=min(workers, n_tasks), executor=executor, on_progress=update
        )
    if executor == "slurm":
        console.print(f"submitted to Slurm; logs and stats will appear under {result.logging_dir}")
        raise typer.Exit()
    save_books(result.books, out, f"jinglian {title}: {len(files)} file(s)")
    pii = _pii_counts(result.logging_dir)
    if pii:
        console.print("PII replaced: " + ", ".join(f"{k} {v}" for k, v in sorted(pii.items())))
    cleaning = _line_cleaning(result.logging_dir)
    if cleaning:
        console.print(cleaning)
    finish_run(result.books, out, result.wall_seconds)


def filter_command(
    inputs: Annotated[list[str], typer.Argument(help="Input files or folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    profile: Annotated[str, typer.Option(help="Built-in profile name (zh-web) or a YAML file.")] = "zh-web",
    normalize: Annotated[
        bool,
        typer.Option(
            "--normalize/--no-normalize",
            help="Run jinglian's normalizer first (NFKC without breaking Chinese punctuation, 繁→简).",
        ),
    ] = True,
    workers: Annotated[
        int, typer.Option(help="Tasks run at once (default: number of cores).")
    ] = default_workers(),
    tasks: Annotated[
        int, typer.Option(help="Tasks to split the input files into (default: one per file).")
    ] = 0,
    executor: Annotated[str, typer.Option(help="local | ray | slurm")] = "local",
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    on_error: Annotated[
        str, typer.Option(help="Bad records: 'fail' (stop with file:line) or 'skip' (to rejected/).")
    ] = "fail",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
    txt_mode: Annotated[str, typer.Option(help="For .txt inputs: 'file' or 'paragraph'.")] = "file",
) -> None:
    """Filter Chinese documents by a profile: every rule named, every drop explained."""
    from jinglian.corpus.filters import filter_steps, load_profile
    from jinglian.corpus.normalize import Normalizer
    from jinglian.corpus.readers import DocumentReader, expand_inputs
    from jinglian.corpus.writers import document_writer

    with user_errors():
        files = expand_inputs(inputs)
        steps_profile = load_profile(profile)
        rejects = str(out / "rejected")
        pipeline = [
            DocumentReader(
                files,
                text_key=text_key,
                id_key=id_key,
                txt_mode=txt_mode,
                on_error=on_error,
                rejects_dir=rejects,
            ),
            *([Normalizer(rejects_dir=rejects)] if normalize else []),
            *filter_steps(steps_profile, rejects),
            document_writer(out / "documents", fmt),
        ]
        _run(pipeline, out, files, tasks, workers, executor, f"filter --profile {profile}")


quality_app = typer.Typer(
    help="Train and apply a fastText quality classifier for Chinese.", no_args_is_help=True
)


def _read_texts(paths: list[str], text_key: str) -> list[str]:
    from jinglian.corpus.readers import DocumentReader, expand_inputs

    reader = DocumentReader(expand_inputs(paths), text_key=text_key)
    return [doc.text for doc in reader.run()]


@quality_app.command("train")
def quality_train(
    pos: Annotated[list[str], typer.Option("--pos", help="Good documents (files or folders; repeatable).")],
    neg: Annotated[list[str], typer.Option("--neg", help="Bad documents (files or folders; repeatable).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Model file to write (model.bin; model.bin.json beside it).")
    ],
    segmentation: Annotated[
        str, typer.Option(help="auto (measure both, keep the better) | jieba | char.")
    ] = "auto",
    epoch: Annotated[int, typer.Option(help="fastText epochs.")] = 25,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation/test split and of fastText.")] = 0,
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
) -> None:
    """Train a fastText quality classifier on segmented Chinese; print precision/recall on held-out data.

    Example:

        jinglian quality train --pos good.jsonl --neg spam.jsonl --out quality.bin

    70% of each class trains, 15% picks the segmentation (jieba words vs characters), 15% is
    held out for the precision / recall / F1 printed at the end.
    """
    from jinglian.corpus.filters.quality import train_quality_model

    with user_errors():
        positives, negatives = _read_texts(pos, text_key), _read_texts(neg, text_key)
        console.print(f"training on {len(positives)} good and {len(negatives)} bad documents")
        report = train_quality_model(
            positives, negatives, out, segmentation=segmentation, epoch=epoch, seed=seed
        )
    table = Table(title="quality model (positive class = good)")
    for column in ("split", "segmentation", "precision", "recall", "F1", "accuracy", "docs"):
        table.add_column(column)
    for mode, m in report.validation.items():
        table.add_row(
            "validation",
            mode,
            *(f"{m[k]:.3f}" for k in ("precision", "recall", "f1", "accuracy")),
            str(m["n"]),
        )
    t = report.test
    table.add_row(
        "[bold]held-out test",
        f"[bold]{report.segmentation}",
        *(f"[bold]{t[k]:.3f}" for k in ("precision", "recall", "f1", "accuracy")),
        str(t["n"]),
    )
    console.print(table)
    console.print(f"model: {out}   (segmentation {report.segmentation}, recorded in {out}.json)")


@quality_app.command("score")
def quality_score(
    inputs: Annotated[list[str], typer.Argument(help="Input files or folders.", show_default=False)],
    model: Annotated[Path, typer.Option("--model", "-m", help="Model from `jinglian quality train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    segmentation: Annotated[str, typer.Option(help="jieba | char (default: read from MODEL.json).")] = "",
    workers: Annotated[int, typer.Option(help="Tasks run at once.")] = default_workers(),
    tasks: Annotated[int, typer.Option(help="Tasks (default: one per file).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
) -> None:
    """Add `quality_score` (probability of good, 0-1) to every document's metadata; drop nothing.

    Example:

        jinglian quality score docs.jsonl --model quality.bin --out scored
    """
    from jinglian.corpus.filters.quality import QualityScorer
    from jinglian.corpus.readers import DocumentReader, expand_inputs
    from jinglian.corpus.writers import document_writer

    with user_errors():
        files = expand_inputs(inputs)
        scorer = QualityScorer(model, min_score=None, segmentation=segmentation or None)
        pipeline = [DocumentReader(files, text_key=text_key), scorer, document_writer(out / "documents", fmt)]
        _run(pipeline, out, files, tasks, workers, "local", "quality score")


def register(app: typer.Typer) -> None:
    app.command(name="filter", help=(filter_command.__doc__ or "") + "\n\n" + FILTER_EXAMPLE)(filter_command)
    app.add_typer(quality_app, name="quality")
