"""jinglian.train"""
