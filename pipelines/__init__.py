"""jinglian.pipelines"""
