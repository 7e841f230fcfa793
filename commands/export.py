"""``jinglian export``: a curated corpus as a Hugging Face dataset, Parquet or JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import UserError, console, user_errors

FORMATS = ("hf", "parquet", "jsonl")


def export(
    inputs: Annotated[list[str], typer.Argument(help="Document files or folders (e.g. OUT/documents of curate).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    fmt: Annotated[str, typer.Option("--format", help="hf (save_to_disk + card) | parquet | jsonl.")] = "hf",
) -> None:
    """Export documents (datatrove JSONL.gz or Parquet) as one dataset with `id`, `text`, `metadata`.

    Example:

        jinglian export curated/documents --out corpus-hf        # then datasets.load_from_disk("corpus-hf")
    """
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar

    from jinglian.corpus.readers import PARQUET_SUFFIXES, expand_inputs
    from jinglian.formats.export import dataset_card, write_documents_parquet

    disable_progress_bar()
    with user_errors():
        if fmt not in FORMATS:
            raise UserError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
        files = expand_inputs(inputs)
        kinds = {f.endswith(PARQUET_SUFFIXES) for f in files}
        if len(kinds) > 1:
            raise UserError("mix of Parquet and JSONL inputs: export them separately")
        builder = "parquet" if kinds == {True} else "json"
        ds = load_dataset(builder, data_files=files, split="train")
        if "text" not in ds.column_names:
            raise UserError(f"{files[0]}: field 'text': no such column (columns: {', '.join(ds.column_names)})")
        out.mkdir(parents=True, exist_ok=True)
        if fmt == "hf":
            ds.save_to_disk(str(out))
            chars = sum(len(t) for t in ds["text"])
            stats = {"settings": {"kind": "corpus", "command": f"jinglian export {' '.join(inputs)} --out {out}",
                                  "characters": chars}, "splits": {"train": ds.num_rows}}
            (out / "README.md").write_text(dataset_card(stats, ds.column_names), encoding="utf-8")
            (out / "export.json").write_text(json.dumps({"rows": ds.num_rows, "characters": chars, "sources": files},
                                                        ensure_ascii=False, indent=2))
        elif fmt == "parquet":
            write_documents_parquet(ds, out / "corpus.parquet")
        else:
            ds.to_json(str(out / "corpus.jsonl"), force_ascii=False)
    console.print(f"exported {ds.num_rows} documents ({fmt}) to {out}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(export)
