"""jinglian.corpus.filters"""
