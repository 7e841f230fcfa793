"""A tiny model config and the training overrides that keep a one-step trainer test fast."""

TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 1}
FAST = ["gradient_checkpointing=false", "report_to=none", "dataloader_pin_memory=false", "max_steps=1"]
