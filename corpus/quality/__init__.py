"""Learned quality: LLM rubric labels (annotate) → a fast classifier (train) → the shipped default
model with its model card → the ``quality`` step that scores and buckets every document."""
