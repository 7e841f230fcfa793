"""``jinglian quality train|score``: the learned quality classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinglian.cli import console, default_workers, user_errors
from jinglian.commands.filter import _run
from jinglian.runs import OVERWRITE_HELP, claim

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
    from jinglian.corpus.quality.classifier import train_quality_model

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
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
) -> None:
    """Add `quality_score` (probability of good, 0-1) to every document's metadata; drop nothing.

    Example:

        jinglian quality score docs.jsonl --model quality.bin --out scored
    """
    from jinglian.corpus.quality.classifier import QualityScorer
    from jinglian.corpus.readers import DocumentReader, expand_inputs
    from jinglian.corpus.writers import document_writer

    with user_errors():
        files = expand_inputs(inputs)
        scorer = QualityScorer(model, min_score=None, segmentation=segmentation or None)
        claim(out, "quality score", [*files, model], {"segmentation": segmentation, "tasks": tasks, "format": fmt,
                                                      "text_key": text_key}, overwrite, say=console.print)
        pipeline = [DocumentReader(files, text_key=text_key), scorer, document_writer(out / "documents", fmt)]
        _run(pipeline, out, files, tasks, workers, "local", "quality score")


def register(app: typer.Typer) -> None:
    app.add_typer(quality_app, name="quality")
