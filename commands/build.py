"""``jinglian build sft|multiturn|preference|prompts|pretrain`` and ``jinglian tokenizer train``."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from jinglian.cli import console, fail, user_errors
from jinglian.runs import OVERWRITE_HELP, claim, tokenizer_setting

build_app = typer.Typer(help="Build training datasets (SFT, multi-turn, preference, RL prompts, pretraining blocks).", no_args_is_help=True)
tokenizer_app = typer.Typer(help="Train a tokenizer.", no_args_is_help=True)

Inputs = Annotated[list[str], typer.Argument(help="JSON / JSONL files or folders.", show_default=False)]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder (datasets save_to_disk + parquet/ + README.md + stats.json).")]
TokenizerOpt = Annotated[str | None, typer.Option("--tokenizer", help="Local tokenizer folder: adds input_ids + labels (-100 = no loss).")]
MaxLength = Annotated[int | None, typer.Option("--max-length", help="Max tokens per sample: drops oldest whole exchanges, never cuts a response (needs --tokenizer).")]
OnError = Annotated[str, typer.Option("--on-error", help="Bad records: 'fail' (stop at file:line, field) or 'skip' (to OUT/rejected.jsonl).")]
ValRatio = Annotated[float, typer.Option("--val-ratio", help="Fraction of source records for the validation split.")]
Seed = Annotated[int, typer.Option(help="Seed of the train/validation split.")]
Dedup = Annotated[bool, typer.Option("--dedup/--no-dedup", help="Write exact duplicate samples once.")]
Hub = Annotated[str | None, typer.Option("--push-to-hub", help="Also push to this Hugging Face repo id (needs network).")]
BenchmarksOpt = Annotated[list[str] | None, typer.Option("--benchmarks", help="Decontaminate: drop records containing items of these benchmark files/folders ([NAME=]PATH, repeat) to rejected.jsonl.", show_default=False)]
NearDup = Annotated[float | None, typer.Option("--near-dup", help="Drop records whose prompt near-duplicates an earlier one (MinHash Jaccard >= J, e.g. 0.8).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]


def _command_line() -> str:
    return "jinglian " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _tokenizer(path: str | None):
    if path is None:
        return None
    from jinglian.formats.tokenizer import load_tokenizer

    return load_tokenizer(path)


def _claim(out: Path, books, settings: dict[str, Any], val_ratio: float, seed: int, near_dup: float | None, overwrite: bool) -> None:
    """The run contract (jinglian.runs): the builders' inputs and settings, the tokenizer by its hash.
    Called once the inputs are read and before anything is written to ``out`` (decontamination
    writes its index there)."""
    from jinglian.formats.export import check_val_ratio

    check_val_ratio(val_ratio)
    recorded = settings | {"val_ratio": val_ratio, "seed": seed, "near_dup": near_dup,
                           "tokenizer": tokenizer_setting(settings.get("tokenizer"))}
    claim(out, f"build {settings['kind']}", books.files, recorded, overwrite, say=console.print)


def _finish(rows: list[dict[str, Any]], rejects, books, out: Path, settings: dict[str, Any], val_ratio: float, seed: int, hub: str | None, started: float, near_dup: float | None = None) -> None:
    from rich.table import Table

    if near_dup:
        from jinglian.formats.neardup import drop_near_duplicate_prompts

        rows = drop_near_duplicate_prompts(rows, near_dup, books)
        settings = settings | {"near_dup": near_dup}

    from jinglian.formats.collect import write_rejects
    from jinglian.formats.export import save_dataset

    out.mkdir(parents=True, exist_ok=True)
    rejected_path = write_rejects(rejects, out)
    counts = save_dataset(rows, out, books, settings | {"command": _command_line()}, val_ratio, seed, hub)
    table = Table(title=f"jinglian build {settings['kind']}: {len(books.files)} file(s)")
    for col in ("records in", "kept", "rejected (reason: n)", "samples", "samples dropped", "notes"):
        table.add_column(col, overflow="fold")  # fold, not "…": 80 columns cut reason names short
    fmt = lambda c: ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) or "-"  # noqa: E731
    table.add_row(str(books.records_in), str(books.kept), fmt(books.rejected), str(books.samples), fmt(books.dropped_samples), fmt(books.notes))
    console.print(table)
    mark = "[green]books balance[/]" if books.balanced else "[bold red]BOOKS DO NOT BALANCE[/]"
    console.print(f"{mark}: in {books.records_in} = kept {books.kept} + rejected {sum(books.rejected.values())}")
    console.print(f"splits: {counts}   dataset: {out}   rejected: {rejected_path}   card: {out / 'README.md'}")
    console.print(f"wall time: {time.time() - started:.1f} s")
    if not books.balanced:
        fail("the books do not balance; see stats.json", code=1)


def _decontaminate(records: list, rejects: list, books, out: Path, benchmarks: list[str] | None) -> list:
    """Records without those that contain benchmark items (counted and written to rejected.jsonl)."""
    if not benchmarks:
        return records
    from jinglian.corpus.decontam.records import decontaminate_records

    return decontaminate_records(records, rejects, books, out, benchmarks)


def _dialogues(kind: str, inputs, out, template, strategy, tokenizer, max_length, on_error, val_ratio, seed, dedup, hub, near_dup, benchmarks=None, overwrite=False) -> None:
    from jinglian.formats.collect import collect
    from jinglian.formats.schema import parse_conversation
    from jinglian.formats.sft import build_dialogue_rows
    from jinglian.formats.templates import get_template

    started = time.time()
    with user_errors():
        if max_length is not None and tokenizer is None:
            raise ValueError("--max-length counts tokens: it needs --tokenizer")
        tok = _tokenizer(tokenizer)
        tpl = get_template(template, tok)
        convs, rejects, books = collect(inputs, parse_conversation, on_error)
        settings = {"kind": kind, "template": template, "strategy": strategy, "tokenizer": tokenizer, "max_length": max_length, "dedup": dedup}
        settings |= {"benchmarks": benchmarks} if benchmarks else {}
        _claim(out, books, settings, val_ratio, seed, near_dup, overwrite)
        convs = _decontaminate(convs, rejects, books, out, benchmarks)
        rows = build_dialogue_rows(convs, strategy, tpl, books, tok, max_length, dedup, rejects)  # dropped samples too
        _finish(rows, rejects, books, out, settings, val_ratio, seed, hub, started, near_dup)


@build_app.command("sft")
def build_sft(
    inputs: Inputs, out: Out,
    template: Annotated[str, typer.Option(help="alpaca | chatml | tokenizer (the tokenizer's own chat_template) | a model family: llama2, llama3, qwen, yi, mistral, gemma, glm4, baichuan2, deepseek.")] = "alpaca",
    tokenizer: TokenizerOpt = None, max_length: MaxLength = None, on_error: OnError = "fail",
    val_ratio: ValRatio = 0.0, seed: Seed = 0, dedup: Dedup = True, near_dup: NearDup = None, push_to_hub: Hub = None,
    benchmarks: BenchmarksOpt = None,
    overwrite: Overwrite = False,
) -> None:
    """Instruction data → prompt/completion (the final answer trained; any history is context).

    Example:

        jinglian build sft alpaca_zh.json --out sft --template alpaca --tokenizer tok/

    Reads Alpaca (instruction/input/output, optional system/history), OpenAI `messages` and ShareGPT
    `conversations`, as JSON arrays or JSONL.
    """
    _dialogues("sft", inputs, out, template, "last", tokenizer, max_length, on_error, val_ratio, seed, dedup, push_to_hub, near_dup, benchmarks, overwrite)


@build_app.command("multiturn")
def build_multiturn(
    inputs: Inputs, out: Out,
    strategy: Annotated[str, typer.Option(help="last (final answer only) | expand (one sample per answer) | all (every answer, one sample).")] = "all",
    template: Annotated[str, typer.Option(help="chatml | alpaca | tokenizer | a model family: llama2, llama3, qwen, yi, mistral, gemma, glm4, baichuan2, deepseek.")] = "chatml",
    tokenizer: TokenizerOpt = None, max_length: MaxLength = None, on_error: OnError = "fail",
    val_ratio: ValRatio = 0.0, seed: Seed = 0, dedup: Dedup = True, near_dup: NearDup = None, push_to_hub: Hub = None,
    benchmarks: BenchmarksOpt = None,
    overwrite: Overwrite = False,
) -> None:
    """Dialogues → multi-turn samples with one of the three strategies.

    Example:

        jinglian build multiturn sharegpt.jsonl --out mt --strategy expand --tokenizer tok/ --max-length 2048
    """
    _dialogues("multiturn", inputs, out, template, strategy, tokenizer, max_length, on_error, val_ratio, seed, dedup, push_to_hub, near_dup, benchmarks, overwrite)


@build_app.command("preference")
def build_preference(
    inputs: Inputs, out: Out,
    template: Annotated[str, typer.Option(help="chatml (conversational columns) | alpaca (string columns).")] = "chatml",
    margin: Annotated[bool, typer.Option("--margin/--no-margin", help="Add a `margin` column (score or rank difference).")] = False,
    on_error: OnError = "fail", val_ratio: ValRatio = 0.0, seed: Seed = 0, near_dup: NearDup = None, push_to_hub: Hub = None,
    benchmarks: BenchmarksOpt = None,
    overwrite: Overwrite = False,
) -> None:
    """Pairs or ranked lists → prompt/chosen/rejected for the reward model and DPO.

    Example:

        jinglian build preference dpo_zh.jsonl ranked.jsonl --out pref --margin

    A ranked record {"prompt", "responses": [best, ..., worst], "scores"?} gives K(K-1)/2 pairs.
    """
    from jinglian.formats.collect import collect
    from jinglian.formats.preference import build_preference_rows, parse_preference
    from jinglian.formats.templates import get_template

    started = time.time()
    with user_errors():
        tpl = get_template(template)
        records, rejects, books = collect(inputs, parse_preference, on_error)
        settings = {"kind": "preference", "template": template, "margin": margin}
        settings |= {"benchmarks": benchmarks} if benchmarks else {}
        _claim(out, books, settings, val_ratio, seed, near_dup, overwrite)
        records = _decontaminate(records, rejects, books, out, benchmarks)
        rows = build_preference_rows(records, tpl, books, margin)
        _finish(rows, rejects, books, out, settings, val_ratio, seed, push_to_hub, started, near_dup)


@build_app.command("prompts")
def build_prompts(
    inputs: Inputs, out: Out,
    template: Annotated[str, typer.Option(help="chatml (message lists) | alpaca (rendered strings).")] = "chatml",
    on_error: OnError = "fail", val_ratio: ValRatio = 0.0, seed: Seed = 0, near_dup: NearDup = None, push_to_hub: Hub = None,
    overwrite: Overwrite = False,
) -> None:
    """Any SFT / dialogue / preference / {"prompt"} records → prompt-only data for PPO and GRPO.

    Example:

        jinglian build prompts alpaca_zh.json dpo_zh.jsonl --out rl_prompts
    """
    from jinglian.formats.collect import collect
    from jinglian.formats.prompts import build_prompt_rows, parse_any_prompt
    from jinglian.formats.templates import get_template

    started = time.time()
    with user_errors():
        tpl = get_template(template)
        records, rejects, books = collect(inputs, parse_any_prompt, on_error)
        settings = {"kind": "prompts", "template": template}
        _claim(out, books, settings, val_ratio, seed, near_dup, overwrite)
        rows = build_prompt_rows(records, tpl, books)
        _finish(rows, rejects, books, out, settings, val_ratio, seed, push_to_hub, started, near_dup)


def parse_params(text: str) -> int:
    """'125M', '1.5B', '7e9' or '1000000' → a parameter count."""
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    t = text.strip().upper()
    try:
        return int(float(t[:-1]) * scale[t[-1]]) if t and t[-1] in scale else int(float(t))
    except ValueError:
        raise ValueError(f"--model-params {text!r}: expected a number such as 125M, 1.5B or 7e9") from None


@build_app.command("pretrain")
def build_pretrain(
    inputs: Annotated[list[str], typer.Argument(help="Documents: JSONL(.gz) with `text`, Parquet, .txt (files or folders).", show_default=False)],
    out: Out,
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="Local tokenizer folder.")],
    block_size: Annotated[int, typer.Option("--block-size", help="Tokens per packed block.")] = 1024,
    model_params: Annotated[str | None, typer.Option("--model-params", help="Model size (e.g. 125M) for the Chinchilla budget.")] = None,
    text_key: Annotated[str, typer.Option(help="Field holding the text.")] = "text",
    on_error: OnError = "fail", val_ratio: ValRatio = 0.0, seed: Seed = 0,
    workers: Annotated[int, typer.Option("--workers", help="Processes tokenizing batches (the blocks do not depend on it).")] = 1,
    parquet: Annotated[bool, typer.Option("--parquet/--no-parquet", help="Also write a Parquet copy of each shard (OUT/parquet/<split>/).")] = False,
    overwrite: Overwrite = False,
) -> None:
    """Tokenize documents and pack them into fixed-length blocks with EOS between documents.

    Example:

        jinglian build pretrain curated/documents --out blocks --tokenizer tok/ --block-size 1024 --model-params 125M --workers 4
    """
    from jinglian.formats.export import check_val_ratio
    from jinglian.formats.pretrain import read_texts
    from jinglian.formats.shards import build_shards

    started = time.time()
    with user_errors():
        from jinglian.corpus.readers import expand_inputs
        from jinglian.formats.tokenizer import load_pretrain_tokenizer

        check_val_ratio(val_ratio)
        claim(out, "build pretrain", expand_inputs(inputs), {
            "tokenizer": tokenizer_setting(tokenizer), "block_size": block_size, "val_ratio": val_ratio, "seed": seed,
            "model_params": model_params, "text_key": text_key, "on_error": on_error, "parquet": parquet}, overwrite,
            say=console.print)

        tok = load_pretrain_tokenizer(tokenizer)  # tokenizers only: transformers' import is a third of a 10M build
        params = parse_params(model_params) if model_params else None
        settings = {"kind": "pretrain", "tokenizer": tokenizer, "block_size": block_size, "command": _command_line()}
        # streamed into Arrow shards (memory flat in corpus size; a rerun after a kill resumes per shard)
        if workers < 1:
            raise ValueError("--workers must be at least 1")
        counts, report = build_shards(read_texts(inputs, on_error, text_key), tok, Path(out), block_size,
                                      val_ratio, seed, params, settings=settings, workers=workers, parquet=parquet)
    console.print(f"documents {report.documents}, tokens {report.tokens:,} (EOS included), blocks {report.blocks} × {block_size}, "
                  f"tail dropped {report.tokens_dropped_tail} tokens; splits {counts}")
    if params:
        console.print(f"Chinchilla budget for {params:,} params ≈ 20 × params = {report.chinchilla_tokens:,} tokens; "
                      f"corpus = {report.corpus_vs_budget:.4%} of it ({report.epochs_for_budget} passes over the blocks to reach it)")
    console.print(f"dataset: {out}   wall time: {time.time() - started:.1f} s")


@build_app.command("samples")
def build_samples(out: Annotated[Path, typer.Argument(help="Folder to write the sample records to.")]) -> None:
    """Write jinglian's own small sample records (Alpaca, messages, ShareGPT, preference + ranked).

    Example:

        jinglian build samples demo/records && jinglian build sft demo/records/alpaca.json --out demo/sft
    """
    from jinglian.formats.samples import write_samples

    for name, path in write_samples(out).items():
        console.print(f"{name}: {path}")


@tokenizer_app.command("train")
def tokenizer_train(
    inputs: Annotated[list[str], typer.Argument(help="Documents: JSONL(.gz) with `text`, Parquet, .txt.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: the tokenizer (tokenizer.json, tokenizer_config.json, chat_template.jinja) for AutoTokenizer, and tokenizer_report.json (chars per token).")],
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Vocabulary size, special tokens included.")] = 16000,
    heldout_every: Annotated[int, typer.Option("--heldout-every", help="Hold out every N-th document to measure chars/token.")] = 20,
    min_frequency: Annotated[int, typer.Option(help="Minimum pair frequency for a merge.")] = 2,
    text_key: Annotated[str, typer.Option(help="Field holding the text.")] = "text",
    on_error: OnError = "fail",
    overwrite: Overwrite = False,
) -> None:
    """Train a byte-level BPE with <|endoftext|>, <|im_start|>, <|im_end|> and the chatml chat template.

    Example:

        jinglian tokenizer train curated/documents --out tok --vocab-size 32000
    """
    from jinglian.formats.pretrain import read_texts
    from jinglian.formats.tokenizer import train_tokenizer

    started = time.time()
    with user_errors():
        from jinglian.corpus.readers import expand_inputs

        claim(out, "tokenizer train", expand_inputs(inputs), {"vocab_size": vocab_size, "heldout_every": heldout_every,
              "min_frequency": min_frequency, "text_key": text_key, "on_error": on_error}, overwrite, say=console.print)
        report = train_tokenizer(read_texts(inputs, on_error, text_key), out, vocab_size, heldout_every, min_frequency)
    console.print(f"vocab {report.vocab_size}, trained on {report.train_docs} docs ({report.train_chars:,} chars); "
                  f"held-out {report.heldout_docs} docs: {report.chars_per_token} chars/token, {report.bytes_per_token} bytes/token")
    console.print(f"tokenizer: {out}   report: {out / 'tokenizer_report.json'}   wall time: {time.time() - started:.1f} s")


def register(app: typer.Typer) -> None:
    app.add_typer(build_app, name="build")
    app.add_typer(tokenizer_app, name="tokenizer")
