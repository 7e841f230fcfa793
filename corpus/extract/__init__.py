"""HTML → main text, the whole stage in one package.

* :mod:`.steps`: the datatrove steps ``read_web`` (WARC / WET / HTML / JSONL reader, every record
  booked) and ``extract`` (main text per page), and :func:`extract_main_text` for one page;
* :mod:`.charset`: decoding Chinese pages (HTTP charset, BOM, ``<meta>``, detection; GBK/GB18030/Big5);
* :mod:`.candidates`: parsing (the document start), the candidate extractors (resiliparse,
  readability, trafilatura) and widening;
* :mod:`.posts`: threads, reply and comment lists found from structure, each post without its chrome;
* :mod:`.page`: page kinds (article, forum, list), the choice among candidates and the fallback;
* :mod:`.select`: the learned selector; its weights are ``selector.json`` beside it.
"""

from jinglian.corpus.extract.steps import (
    MainTextExtractor,
    WebPageReader,
    expand_web_inputs,
    extract_main_text,
    extract_steps,
    page_metadata,
)

__all__ = [
    "MainTextExtractor",
    "WebPageReader",
    "expand_web_inputs",
    "extract_main_text",
    "extract_steps",
    "page_metadata",
]
