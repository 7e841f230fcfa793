"""``jinglian quality train|score``: the learned 0-5 quality score and fastText good/bad classifiers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinglian.cli import console, default_workers, user_errors
from jinglian.commands.filter import _run

quality_app = typer.Typer(
    help="Train and apply quality models for Chinese: the learned 0-5 score, or a fastText good/bad classifier.",
    no_args_is_help=True,
)


def _read_texts(paths: list[str], text_key: str) -> list[str]:
    from jinglian.corpus.readers import DocumentReader, expand_inputs

    reader = DocumentReader(expand_inputs(paths), text_key=text_key)
    return [doc.text for doc in reader.run()]


@quality_app.command("train")
def quality_train(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Model to write: a folder (scored labels) or model.bin (--pos/--neg).")
    ],
    labels: Annotated[
        Path | None,
        typer.Argument(help="JSONL with 'text' and 'score' (0-5, null skipped) or binary 'label'.", show_default=False),
    ] = None,
    pos: Annotated[list[str] | None, typer.Option("--pos", help="fastText path: good documents (repeatable).")] = None,
    neg: Annotated[list[str] | None, typer.Option("--neg", help="fastText path: bad documents (repeatable).")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Drop threshold written to the card (0-5; default: the shipped model's).")
    ] = None,
    buckets: Annotated[
        str, typer.Option(help="quality_bucket edges, comma-separated scores (default: the shipped model's).")
    ] = "",
    document_mode: Annotated[
        str, typer.Option(help="How documents are scored: excerpt | windows | whole (default: the shipped model's).")
    ] = "",
    segmentation: Annotated[
        str, typer.Option(help="fastText path: auto (measure both, keep the better) | jieba | char.")
    ] = "auto",
    epoch: Annotated[int, typer.Option(help="fastText path: epochs.")] = 25,
    seed: Annotated[int, typer.Option(help="Seed (fastText split and training; sampling with --fraction).")] = 0,
    fraction: Annotated[float, typer.Option(help="Scored labels: train on this share (seeded sample).")] = 1.0,
    text_key: Annotated[str, typer.Option(help="fastText path: field holding the text.")] = "text",
) -> None:
    """Train a quality model: the 0-5 score from scored labels, or a fastText good/bad classifier.

    Examples:

        jinglian quality train labels.jsonl --out my_quality        # 'score' 0-5 or binary 'label'
        jinglian quality train --pos good.jsonl --neg spam.jsonl --out quality.bin

    Scored labels (the output of `jinglian quality annotate`, or hplt_zh_annotated's
    excerpts.jsonl) train the ridge model on hashed character n-grams that the zh-web profile's
    `quality` step uses (`quality: {model: my_quality}`); records with score null are skipped
    and counted. Binary labels are learned on the same 0-5 scale (bad 0, good 5). Same data,
    options and seed give the same model bytes.
    """
    with user_errors():
        if labels is not None:
            if pos or neg:
                raise ValueError("give either a labels file or --pos/--neg, not both")
            from jinglian.corpus.quality.model import load_model, train_model

            shipped = load_model().card
            edges = [float(x) for x in buckets.split(",") if x.strip()] or shipped["buckets"]
            card = train_model(
                labels, out, threshold=shipped["threshold"] if threshold is None else threshold, buckets=edges,
                document_mode=document_mode or shipped["document_mode"], fraction=fraction, seed=seed,
            )
            data = card["training_data"]
            console.print(
                f"trained on {data['used']} labelled texts ({card['target']}); skipped {data['skipped_null_score']} "
                f"with score null"
            )
            console.print(f"model: {out}/weights.npy + {out}/card.json   (use it with quality: {{model: {out}}})")
            return
        if not pos or not neg:
            raise ValueError("give a labels file (JSONL with score or label), or both --pos and --neg")
        from jinglian.corpus.quality.classifier import train_quality_model

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
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Model folder or fastText model.bin (default: the shipped 0-5 model)."),
    ] = None,
    segmentation: Annotated[str, typer.Option(help="jieba | char (default: read from MODEL.json).")] = "",
    workers: Annotated[int, typer.Option(help="Tasks run at once.")] = default_workers(),
    tasks: Annotated[int, typer.Option(help="Tasks (default: one per file).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
) -> None:
    """Add `quality_score` to every document's metadata; drop nothing.

    With the shipped model or a model folder: the 0-5 score and `quality_bucket`; with a fastText
    model.bin: the probability of good (0-1).

    Example:

        jinglian quality score docs.jsonl --out scored
    """
    from jinglian.corpus.quality.classifier import QualityScorer
    from jinglian.corpus.quality.model import QualityStep
    from jinglian.corpus.readers import DocumentReader, expand_inputs
    from jinglian.corpus.writers import document_writer

    with user_errors():
        files = expand_inputs(inputs)
        if model is None or model.is_dir():
            scorer = QualityStep(model, min_score=None)
        else:
            scorer = QualityScorer(model, min_score=None, segmentation=segmentation or None)
        pipeline = [DocumentReader(files, text_key=text_key), scorer, document_writer(out / "documents", fmt)]
        _run(pipeline, out, files, tasks, workers, "local", "quality score")


def register(app: typer.Typer) -> None:
    app.add_typer(quality_app, name="quality")
