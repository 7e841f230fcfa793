"""jinglian.corpus.crawl"""
