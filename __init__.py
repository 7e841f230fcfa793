"""jinglian (精炼): turn the Chinese web into LLM training data, and train on it."""

__version__ = "0.1.0"
