"""Benchmark decontamination: an index of evaluation items, matching, span cutting."""
