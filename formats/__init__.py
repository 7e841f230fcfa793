"""jinglian.formats: records → training-ready datasets with exact loss masks.

Python use (the CLI ``jinglian build ...`` is a thin layer over the same calls)::

    from jinglian.formats.collect import collect
    from jinglian.formats.schema import parse_conversation
    from jinglian.formats.sft import build_dialogue_rows
    from jinglian.formats.templates import get_template
    from jinglian.formats.export import save_dataset

    convs, rejects, books = collect(["alpaca_zh.json"], parse_conversation, on_error="skip")
    rows = build_dialogue_rows(convs, "all", get_template("chatml"), books, tokenizer=tok, max_length=2048)
    save_dataset(rows, Path("out"), books, {"kind": "multiturn"})

Preference: ``collect(files, preference.parse_preference)`` + ``preference.build_preference_rows``;
RL prompts: ``prompts.parse_any_prompt`` + ``prompts.build_prompt_rows``; pretraining:
``shards.build_shards(pretrain.read_texts(files), tok, out, block_size)`` (streamed Arrow shards);
tokenizer: ``tokenizer.train_tokenizer``.
"""
