"""jinglian.corpus"""
