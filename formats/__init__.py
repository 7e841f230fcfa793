"""jinglian.formats"""
