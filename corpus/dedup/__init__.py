"""jinglian.corpus.dedup"""
