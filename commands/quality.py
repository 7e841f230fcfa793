"""``jinglian quality train|score``: the learned 0-5 quality score and fastText good/bad classifiers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinglian.cli import console, default_workers, user_errors
from jinglian.commands.filter import _run
from jinglian.runs import OVERWRITE_HELP, claim

quality_app = typer.Typer(
    help="Train and apply quality models for Chinese: the learned 0-5 score, or a fastText good/bad classifier.",
    no_args_is_help=True,
)


def _read_texts(paths: list[str], text_key: str) -> list[str]:
    from jinglian.corpus.readers import DocumentReader, expand_inputs

    reader = DocumentReader(expand_inputs(paths), text_key=text_key)
    return [doc.text for doc in reader.run()]


@quality_app.command("annotate")
def quality_annotate(
    inputs: Annotated[list[str], typer.Argument(help="Input files or folders (JSONL, Parquet, txt).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (labels.jsonl; rerun the same command to resume).")],
    endpoint: Annotated[
        str, typer.Option(help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vLLM, SGLang, llama.cpp server, a hosted API).")
    ] = "",
    model: Annotated[str, typer.Option("--model", "-m", help="Model name the endpoint serves (recorded in every label).")] = "",
    local_model: Annotated[
        Path | None, typer.Option(help="A local transformers causal-LM folder instead of an endpoint.")
    ] = None,
    rubric: Annotated[
        Path | None, typer.Option(help="Your own rubric prompt file ({text} marks where the document goes; default: jinglian's).")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key (never pass a key on the command line).")
    ] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once (the batch size with --local-model).")] = 8,
    full_text: Annotated[
        bool, typer.Option(help="Send the document (its first --max-chars characters) instead of the two-window excerpt the labels were made on.")
    ] = False,
    max_chars: Annotated[int, typer.Option(help="With --full-text: characters sent at most.")] = 8000,
    max_tokens: Annotated[int, typer.Option(help="Reply length limit in tokens.")] = 512,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (endpoint; the local model decodes greedily).")] = 0.0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one reply.")] = 120.0,
    retries: Annotated[int, typer.Option(help="Retries of a request after a timeout, connection error, 429 or 5xx.")] = 5,
    retry_wait: Annotated[float, typer.Option(help="First backoff in seconds (doubles per retry, at most 60).")] = 1.0,
    device: Annotated[str, typer.Option(help="With --local-model: auto | cpu | cuda | cuda:N.")] = "auto",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
) -> None:
    """Label documents 0-5 with an LLM and a rubric; the output feeds `jinglian quality train`.

    Examples:

        vllm serve Qwen/Qwen2.5-7B-Instruct --port 8000          # or: llama-server -m model.gguf --port 8000

        jinglian quality annotate docs.jsonl --endpoint http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct --out labels

        OPENAI_API_KEY=... jinglian quality annotate docs/ --endpoint https://api.example.com/v1 --model NAME --out labels

        jinglian quality annotate docs.jsonl --local-model ./my-instruct-model --out labels

    Each document is sent as the excerpt the shipped labels were made on (500 characters from the
    start of each half, whitespace collapsed). OUT/labels.jsonl gets one flushed line per document
    (id, text, text_is, score 0-5 or null, kind, lang, note, raw reply, model, key, error); a reply
    without one clear valid score is kept with score null and the reason, never guessed. Killed at
    any point, the same command resumes and labels nothing twice; another --model or --rubric on the
    same folder is refused. jinglian ships no annotator model: you bring the endpoint or the model.
    """
    import os

    from jinglian.cli import UserError, fail, task_progress
    from jinglian.corpus.quality.annotate import EndpointAnnotator, LocalAnnotator, annotate, load_rubric
    from jinglian.corpus.readers import DocumentReader, expand_inputs

    with user_errors():
        if bool(endpoint) == (local_model is not None):
            raise UserError("give either --endpoint URL --model NAME or --local-model PATH")
        if endpoint and not model:
            raise UserError("--endpoint needs --model NAME (the model the endpoint serves)")
        for name, value in (("--concurrency", concurrency), ("--max-chars", max_chars), ("--max-tokens", max_tokens)):
            if value < 1:
                raise UserError(f"{name} must be at least 1")
        files = expand_inputs(inputs)
        prompt = load_rubric(rubric)
        if endpoint:
            annotator = EndpointAnnotator(
                endpoint, model, api_key=os.environ.get(api_key_env) or None, timeout=timeout,
                max_tokens=max_tokens, temperature=temperature, retries=max(0, retries),
                retry_wait=retry_wait, connections=concurrency, key_env=api_key_env,
            )
        else:
            console.print(f"loading {local_model} ...")
            annotator = LocalAnnotator(local_model, max_tokens=max_tokens, device=device)
            model = model or str(local_model.resolve())
        try:
            with task_progress("quality annotate") as update:
                stats = annotate(
                    lambda: DocumentReader(files, text_key=text_key, id_key=id_key).run(), out, annotator,
                    model, prompt, full_text=full_text, max_chars=max_chars, concurrency=concurrency,
                    progress=update, log=lambda message: console.print(message, highlight=False),
                )
        finally:
            annotator.close()
    table = Table(title=f"quality annotate ({model})")
    for column in ("in", "already labelled", "duplicate id", "labelled", "unparseable", "failed"):
        table.add_column(column, justify="right")
    table.add_row(*(str(stats[k]) for k in ("in", "already_labelled", "duplicate_id", "labelled", "unparseable", "failed")))
    console.print(table)
    scores = ", ".join(f"{k}: {v}" for k, v in stats["file"]["scores"].items())
    console.print(f"labels.jsonl: {stats['file']['records']} records (score {scores})", highlight=False)
    for label, name in (("labels", "labels.jsonl"), ("failed", "failed.jsonl"), ("rejected", "rejected.jsonl"),
                        ("stats", "stats.json")):
        console.print(f"{label:>9}: {out / name}", soft_wrap=True, highlight=False)
    if not stats["balanced"]:
        fail("the books do not balance; see stats.json", code=1)
    if stats["failed"]:
        fail(f"{stats['failed']} documents failed (see {out / 'failed.jsonl'}); run the same command again to retry them",
             code=1)


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
    excerpts.jsonl) train the ridge model on hashed character n-grams and the spam lexicon that
    the zh-web profile's `quality` step uses (`quality: {model: my_quality}`); records with score null are skipped
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
    workers: Annotated[int, typer.Option(min=1, help="Tasks run at once.")] = default_workers(),
    tasks: Annotated[int, typer.Option(help="Tasks (default: one per file).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
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
        claim(out, "quality score", [*files, *([model] if model is not None else [])], {"segmentation": segmentation, "tasks": tasks,
              "format": fmt, "text_key": text_key}, overwrite, say=console.print)
        pipeline = [DocumentReader(files, text_key=text_key), scorer, document_writer(out / "documents", fmt)]
        _run(pipeline, out, files, tasks, workers, "local", "quality score")


def register(app: typer.Typer) -> None:
    app.add_typer(quality_app, name="quality")
