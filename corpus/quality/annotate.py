"""LLM annotation of the user's own documents with a quality rubric (``jinglian quality annotate``).

Each document becomes the two-window excerpt the shipped labels were made on (:mod:`.excerpt`; or its
first ``max_chars`` characters with ``full_text``), goes into the rubric prompt (``annotate_rubric.md``
by default, a user's file otherwise) and is sent to an annotator: an OpenAI-compatible chat endpoint
(vLLM, SGLang, llama.cpp server, a hosted API) or a local ``transformers`` causal LM. The reply is
parsed for ``score`` (integer 0-5), ``kind``, ``lang`` and ``note``; a reply without one clear valid
score is recorded with ``score: null``, the raw reply and an ``error``, never guessed.

Output folder (append-only, safe to kill at any moment and run again):

* ``labels.jsonl``: one record per document, written and flushed as soon as its reply is parsed:
  ``id, text, text_is, score, kind, lang, note, raw, model, key, error``. ``key`` hashes the rubric,
  the model and the text sent, so a rerun skips ids already labelled and refuses a document whose
  text changed under the same id instead of labelling it twice;
* ``run.json``: the model and rubric the folder was labelled with; a rerun with another model or
  rubric is refused (use a new folder), so labels from two annotators never mix in one file;
* ``failed.jsonl`` / ``rejected.jsonl``: this run's documents whose request failed after the retries
  (they are not in labels.jsonl, so the next run tries them again) and duplicate ids;
* ``stats.json``: ``in = already_labelled + duplicate_id + labelled + unparseable + failed``.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jinglian.corpus.quality.excerpt import excerpt

DEFAULT_RUBRIC = Path(__file__).with_name("annotate_rubric.md")
PLACEHOLDER = "{text}"
KINDS = ("none", "gambling", "porn", "medical_ad", "product_ad", "seo_spun", "machine_generated",
         "navigation", "gibberish", "other_spam")
LANGS = ("zh", "mixed", "other")
MIN_SCORE, MAX_SCORE = 0, 5
NOTE_CHARS = 300  # a note longer than this is cut: the rubric asks for 12 words
# Transient HTTP answers worth retrying; other 4xx are the request's fault and fail at once.
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
FATAL_STATUS = {401, 403, 404}  # wrong key, URL or model name: every request would fail the same way
MAX_WAIT_S = 60.0
# Stop when this many requests failed and none got a reply: every request is failing the same way
# (an option the server rejects with 400, say), and sending the rest would only cost time and money.
FAIL_FAST_AFTER = 10
INFO_ONLY = {"rubric"}  # run.json fields that may differ on resume (the rubric's path; its hash may not)


class AnnotateError(ValueError):
    """A mistake in what the user asked for (the CLI prints it as one line, exit 2)."""


class RequestFailed(Exception):
    """One document's request failed for good (after retries); the document is retried on the next run."""


# ---------------------------------------------------------------- rubric


@dataclass(frozen=True)
class Rubric:
    text: str
    name: str  # "default" or the file path
    sha256: str
    strict: bool  # the default rubric: kind and lang must be one of its words

    def prompt(self, document: str) -> str:
        if PLACEHOLDER in self.text:
            return self.text.replace(PLACEHOLDER, document)
        return f"{self.text.rstrip()}\n\n{document}"


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The shipped rubric, or a user's file (UTF-8; ``{text}`` marks where the document goes, else
    the document is appended after the rubric)."""
    where = Path(path) if path else DEFAULT_RUBRIC
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotateError(f"{where}: rubric file not found") from None
    except UnicodeDecodeError as err:
        raise AnnotateError(f"{where}: rubric is not UTF-8 (byte {err.start})") from None
    if not text.strip():
        raise AnnotateError(f"{where}: rubric file is empty")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Rubric(text=text, name="default" if not path else str(where), sha256=sha, strict=not path)


# ---------------------------------------------------------------- parsing a reply


@dataclass
class Parsed:
    score: int | None
    kind: str | None = None
    lang: str | None = None
    note: str | None = None
    error: str | None = None


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)  # reasoning models' scratchpad
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.S | re.I)
_SCORE_LINE = re.compile(r"(?<![A-Za-z_])(?:score|评分|分数|得分)[\s*\"'`]*[:：=][\s*\"'`]*(-?\d+(?:\.\d+)?)", re.I)
_FIELD_LINE = r"(?<![A-Za-z_]){}[\s*\"'`]*[:：=][\s*\"'`]*([A-Za-z_]+)"
_RANGE_AFTER = re.compile(r"\s*(?:-|–|—|~|～|到|至|or\b|或)\s*\d", re.I)


def _json_objects(text: str) -> list[dict]:
    """Every JSON object in ``text``: fenced blocks first, then objects found anywhere."""
    found: list[dict] = []
    decoder = json.JSONDecoder()
    for chunk in [*_FENCE.findall(text), text]:
        i = chunk.find("{")
        while i != -1:
            try:
                obj, end = decoder.raw_decode(chunk, i)
            except json.JSONDecodeError:
                i = chunk.find("{", i + 1)
                continue
            if isinstance(obj, dict):
                found.append({str(k).strip().lower(): v for k, v in obj.items()})
            i = chunk.find("{", end)
    return found


def _as_score(value) -> tuple[int | None, str | None]:
    """(score, None) or (None, why not)."""
    if isinstance(value, bool) or value is None:
        return None, f"score {value!r} is not a number"
    if isinstance(value, str):
        if not re.fullmatch(r"\s*-?\d+(?:\.\d+)?\s*", value):
            return None, f"score {value!r} is not a number"
        value = float(value)
    if not isinstance(value, int | float):
        return None, f"score {value!r} is not a number"
    if value != int(value):
        return None, f"score {value} is not an integer"
    if not MIN_SCORE <= value <= MAX_SCORE:
        return None, f"score {int(value)} is outside {MIN_SCORE}-{MAX_SCORE}"
    return int(value), None


def _word(value, allowed: tuple[str, ...] | None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().lower()
    return word if allowed is None or word in allowed else None


def parse_reply(raw: str, strict: bool = True) -> Parsed:
    """Score, kind, lang and note from an annotator's reply.

    Tried in order: a JSON object with ``score`` (inside a ```json fence or anywhere in the reply),
    then a ``score: N`` line. Several different scores, a range ("3-4"), a non-integer or a value
    outside 0-5 make the reply unparseable (``score`` None, ``error`` says why): nothing is guessed.
    With ``strict`` (the default rubric) a kind or lang outside the rubric's words is recorded as None.
    """
    text = raw or ""
    if "</think>" in text and "<think>" not in text:  # the template opened the scratchpad in the prompt
        text = text.rsplit("</think>", 1)[1]
    text = _THINK.sub("", text).strip()
    if not text:
        return Parsed(None, error="empty reply")
    kinds, langs = (KINDS, LANGS) if strict else (None, None)
    objects = [o for o in _json_objects(text) if "score" in o]
    if objects:
        scores = [_as_score(o["score"]) for o in objects]
        if len({s for s, _ in scores}) > 1:
            return Parsed(None, error="the reply has several different scores")
        score, why = scores[0]
        if why:
            return Parsed(None, error=why)
        first = objects[0]
        note = first.get("note")
        return Parsed(score, _word(first.get("kind"), kinds), _word(first.get("lang"), langs),
                      str(note)[:NOTE_CHARS] if note is not None else None)
    matches = list(_SCORE_LINE.finditer(text))
    if not matches:
        return Parsed(None, error="no score in the reply")
    if any(_RANGE_AFTER.match(text, m.end()) for m in matches):
        return Parsed(None, error="the reply gives a range of scores")
    values = {m.group(1) for m in matches}
    if len(values) > 1:
        return Parsed(None, error="the reply has several different scores")
    score, why = _as_score(values.pop())
    if why:
        return Parsed(None, error=why)
    kind = re.search(_FIELD_LINE.format("kind"), text, re.I)
    lang = re.search(_FIELD_LINE.format("lang"), text, re.I)
    return Parsed(score, _word(kind and kind.group(1), kinds), _word(lang and lang.group(1), langs))


# ---------------------------------------------------------------- annotators


@dataclass
class Reply:
    text: str
    finish_reason: str | None = None


class EndpointAnnotator:
    """An OpenAI-compatible ``/chat/completions`` endpoint; thread-safe (one pooled httpx client).

    Timeouts, connection errors, 429 and 5xx are retried ``retries`` times with exponential backoff
    (``retry_wait * 2**attempt``, jittered, at most 60 s; a ``Retry-After`` header is honoured up
    to the same cap). 401/403/404 stop the whole run: the key, URL or model name is wrong.
    """

    batched = False

    def __init__(self, endpoint: str, model: str, api_key: str | None = None, timeout: float = 120.0,
                 max_tokens: int = 512, temperature: float = 0.0, retries: int = 5, retry_wait: float = 1.0,
                 connections: int = 8, key_env: str = "OPENAI_API_KEY"):
        import httpx

        if not endpoint.startswith(("http://", "https://")):
            raise AnnotateError(f"--endpoint {endpoint!r}: expected an http(s) URL such as http://localhost:8000/v1")
        base = endpoint.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.model, self.max_tokens, self.temperature = model, max_tokens, temperature
        self.retries, self.retry_wait, self.timeout = retries, retry_wait, timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.key_hint = f"check the API key in ${key_env}" if api_key else f"no API key was sent: set ${key_env}"
        self._httpx = httpx
        self.client = httpx.Client(timeout=timeout, headers=headers,
                                   limits=httpx.Limits(max_connections=connections))

    def close(self) -> None:
        self.client.close()

    def complete(self, prompt: str) -> Reply:
        httpx = self._httpx
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                "max_tokens": self.max_tokens, "temperature": self.temperature}
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                response = self.client.post(self.url, json=body)
            except httpx.TimeoutException:
                why = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as err:
                why = f"connection error ({type(err).__name__}: {err})"
            else:
                status = response.status_code
                if status == 200:
                    return self._reply(response)
                detail = " ".join(response.text.split())[:200]
                if status in FATAL_STATUS:
                    hint = self.key_hint if status in (401, 403) else "check --endpoint (…/v1) and --model"
                    raise AnnotateError(f"{self.url}: HTTP {status} ({detail}); {hint}")
                if status not in RETRY_STATUS and status < 500:
                    raise RequestFailed(f"HTTP {status}: {detail}")
                why = f"HTTP {status}: {detail}"
                retry_after = _seconds(response.headers.get("retry-after"))
            if attempt == self.retries:
                raise RequestFailed(f"{why} (gave up after {attempt + 1} tries)")
            wait_s = retry_after if retry_after is not None else self.retry_wait * 2**attempt * random.uniform(0.5, 1.0)
            time.sleep(min(wait_s, MAX_WAIT_S))
        raise AssertionError("unreachable")

    @staticmethod
    def _reply(response) -> Reply:
        try:
            choice = response.json()["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise RequestFailed(f"not a chat-completions answer: {' '.join(response.text.split())[:200]}") from None
        return Reply(content if isinstance(content, str) else "", choice.get("finish_reason"))


class LocalAnnotator:
    """A local ``transformers`` causal LM folder (``save_pretrained`` output); greedy decoding, batched.

    The prompt goes through the tokenizer's chat template when it has one, as a plain prompt otherwise.
    """

    batched = True

    def __init__(self, path: str | Path, max_tokens: int = 512, device: str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM

        from jinglian.train.config import ModelSpec
        from jinglian.train.models import load_tokenizer

        if not Path(path, "config.json").is_file():
            raise AnnotateError(f"--local-model {path}: not a model folder (no config.json)")
        self.tokenizer = load_tokenizer(ModelSpec(path=str(path)))
        self.tokenizer.padding_side = "left"  # generation continues from the right end of every row
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device, self.max_tokens, self.torch = device, max_tokens, torch
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype="auto").to(device).eval()

    def close(self) -> None:
        pass

    def complete_batch(self, prompts: list[str]) -> list[Reply]:
        tok = self.tokenizer
        templated = bool(tok.chat_template)
        if templated:
            texts = [tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                             tokenize=False) for p in prompts]
        else:
            texts = prompts
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=not templated).to(self.device)
        with self.torch.no_grad():
            out = self.model.generate(**enc, max_new_tokens=self.max_tokens, do_sample=False,
                                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        replies = []
        for row in new:
            ended = tok.eos_token_id is not None and bool((row == tok.eos_token_id).any())
            replies.append(Reply(tok.decode(row, skip_special_tokens=True), "stop" if ended else "length"))
        return replies


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


# ---------------------------------------------------------------- the output folder


class LabelStore:
    """``labels.jsonl`` (append-only, one flushed line per document) and the identity in ``run.json``."""

    def __init__(self, out: Path, identity: dict):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = self.out / "labels.jsonl"
        self._check_identity(identity)
        self.done: dict[str, str] = {}  # id → key
        self.torn = self._load()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def _check_identity(self, identity: dict) -> None:
        run_json = self.out / "run.json"
        if run_json.is_file():
            before = json.loads(run_json.read_text(encoding="utf-8"))
            changed = [f"{k}: {before.get(k)!r} then, {v!r} now" for k, v in identity.items()
                       if k not in INFO_ONLY and before.get(k) != v]
            if changed:
                raise AnnotateError(
                    f"{self.out} holds labels made with another setup ({'; '.join(changed)}); labels of two "
                    "annotators are not mixed in one file: use a new --out folder, or the same settings to resume"
                )
        elif self.path.exists():
            raise AnnotateError(f"{self.path} exists without run.json: not a `quality annotate` folder; use a new --out")
        else:
            tmp = run_json.with_suffix(".tmp")
            tmp.write_text(json.dumps(identity, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, run_json)  # whole or absent, even after kill -9

    def _load(self) -> bool:
        """Read the ids already labelled; drop a last line cut short by a kill (it was never complete)."""
        if not self.path.exists():
            return False
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        for lineno, line in enumerate(data[:good_end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self.done[str(record["id"])] = record["key"]
            except (ValueError, KeyError, TypeError):
                raise AnnotateError(f"{self.path}:{lineno}: not a label record (edited by hand?); use a new --out") from None
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
            return True
        return False

    def append(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()  # on disk (in the OS) before the next document: kill -9 loses at most the one in flight

    def close(self) -> None:
        self._file.close()

    def summary(self) -> dict:
        """Counts over the whole file (every run so far)."""
        scores: Counter = Counter()
        kinds: Counter = Counter()
        n = 0
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    n += 1
                    scores["null" if record["score"] is None else str(record["score"])] += 1
                    kinds[str(record.get("kind"))] += 1
        return {"records": n, "scores": dict(sorted(scores.items())), "kinds": dict(kinds.most_common())}


# ---------------------------------------------------------------- the run


@dataclass
class Item:
    id: str
    text: str  # what the annotator reads
    text_is: str  # "excerpt" | "full" | "head" (the first max_chars characters of a longer document)
    key: str


def prepare(text: str, full_text: bool, max_chars: int) -> tuple[str, str]:
    if not full_text:
        return excerpt(text), "excerpt"
    return (text, "full") if len(text) <= max_chars else (text[:max_chars], "head")


def record_key(rubric: Rubric, model: str, text: str) -> str:
    return hashlib.sha256(f"{rubric.sha256}\0{model}\0{text}".encode()).hexdigest()[:16]


def _plan(docs: Iterable, store: LabelStore, rubric: Rubric, model: str, full_text: bool,
          max_chars: int) -> Iterator[tuple[str, Item]]:
    """("done" | "duplicate_id" | "todo", item) for every document, in input order."""
    seen: set[str] = set()
    for doc in docs:
        text, text_is = prepare(doc.text, full_text, max_chars)
        item = Item(str(doc.id), text, text_is, record_key(rubric, model, text))
        if item.id in seen:
            yield "duplicate_id", item
            continue
        seen.add(item.id)
        if item.id in store.done:
            if store.done[item.id] != item.key:
                raise AnnotateError(
                    f"document {item.id!r} was labelled from a different text (in {store.path}); give changed "
                    "documents new ids, or use a new --out folder"
                )
            yield "done", item
        else:
            yield "todo", item


def annotate(
    read_docs: Callable[[], Iterable],
    out: Path,
    annotator,
    model: str,
    rubric: Rubric,
    *,
    full_text: bool = False,
    max_chars: int = 8000,
    concurrency: int = 8,
    progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict:
    """Label every document ``read_docs()`` yields (it is called twice: once to count and check, once
    to label) into ``out``; return the run's stats (also written to ``out/stats.json``)."""
    if concurrency < 1:
        raise AnnotateError("--concurrency must be at least 1")
    identity = {"model": model, "rubric": rubric.name, "rubric_sha256": rubric.sha256,
                "text": "full" if full_text else "excerpt", "max_chars": max_chars if full_text else None}
    store = LabelStore(out, identity)
    if store.torn:
        log(f"dropped an incomplete last line of {store.path} (the run before was killed while writing it)")
    try:
        plan = Counter(status for status, _ in _plan(read_docs(), store, rubric, model, full_text, max_chars))
        stats = {"in": plan.total(), "already_labelled": plan["done"], "duplicate_id": plan["duplicate_id"],
                 "labelled": 0, "unparseable": 0, "failed": 0}
        if stats["already_labelled"]:
            log(f"resuming: {stats['already_labelled']} documents already labelled in {store.path}")
        todo = plan["todo"]
        done = 0
        with open(out / "failed.jsonl", "w", encoding="utf-8") as failed, \
                open(out / "rejected.jsonl", "w", encoding="utf-8") as rejected:

            def items() -> Iterator[Item]:
                for status, item in _plan(read_docs(), store, rubric, model, full_text, max_chars):
                    if status == "duplicate_id":
                        rejected.write(json.dumps({"id": item.id, "reason": "duplicate_id", "text": item.text},
                                                  ensure_ascii=False) + "\n")
                    elif status == "todo":
                        yield item

            def record(item: Item, reply: Reply | Exception) -> None:
                nonlocal done
                if isinstance(reply, RequestFailed):
                    stats["failed"] += 1
                    failed.write(json.dumps({"id": item.id, "error": str(reply)}, ensure_ascii=False) + "\n")
                    failed.flush()
                    if stats["failed"] == FAIL_FAST_AFTER and not stats["labelled"] + stats["unparseable"]:
                        raise AnnotateError(f"the first {FAIL_FAST_AFTER} requests all failed (last: {reply}); "
                                            "check --endpoint, --model and the options the server accepts")
                else:
                    parsed = parse_reply(reply.text, strict=rubric.strict)
                    error = parsed.error
                    if error and reply.finish_reason == "length":
                        error += " (the reply was cut at the token limit: raise --max-tokens)"
                    stats["unparseable" if parsed.score is None else "labelled"] += 1
                    store.append({"id": item.id, "text": item.text, "text_is": item.text_is, "score": parsed.score,
                                  "kind": parsed.kind, "lang": parsed.lang, "note": parsed.note, "raw": reply.text,
                                  "model": model, "key": item.key, "error": error})
                done += 1
                if progress:
                    progress(done, todo)

            if progress:
                progress(0, todo)
            _label(items(), annotator, rubric, concurrency, record)
    finally:
        store.close()
    stats["balanced"] = stats["in"] == sum(stats[k] for k in ("already_labelled", "duplicate_id", "labelled",
                                                               "unparseable", "failed"))
    stats["file"] = store.summary()
    (out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return stats


def _label(items: Iterator[Item], annotator, rubric: Rubric, concurrency: int,
           record: Callable[[Item, Reply | Exception], None]) -> None:
    """Send items to the annotator, ``concurrency`` at a time; ``record`` runs in this thread only,
    so the output file has one writer."""
    if annotator.batched:
        batch: list[Item] = []

        def flush() -> None:
            for item, reply in zip(batch, annotator.complete_batch([rubric.prompt(i.text) for i in batch]),
                                   strict=True):
                record(item, reply)
            batch.clear()

        for item in items:
            batch.append(item)
            if len(batch) == concurrency:
                flush()
        if batch:
            flush()
        return

    # Daemon threads rather than a ThreadPoolExecutor: on Ctrl-C or a fatal error the process exits at
    # once instead of waiting (up to --timeout) for the requests in flight, whose replies are not recorded.
    todo: queue.Queue = queue.Queue()
    replies: queue.Queue = queue.Queue()

    def worker() -> None:
        while (item := todo.get()) is not None:
            try:
                replies.put((item, annotator.complete(rubric.prompt(item.text))))
            except BaseException as err:  # noqa: BLE001 (handed to the main thread)
                replies.put((item, err))

    workers = [threading.Thread(target=worker, name="annotate", daemon=True) for _ in range(concurrency)]
    for thread in workers:
        thread.start()
    pending = 0

    def take() -> None:
        nonlocal pending
        item, reply = replies.get()
        pending -= 1
        if isinstance(reply, BaseException) and not isinstance(reply, RequestFailed):
            raise reply  # AnnotateError (wrong key, URL or model) or a bug: stop the run
        record(item, reply)

    try:
        for item in items:
            while pending >= 2 * concurrency:  # bounded: the input is streamed, not loaded
                take()
            todo.put(item)
            pending += 1
        while pending:
            take()
    finally:  # on an error, what is still queued is not sent
        while not todo.empty():
            todo.get_nowait()
        for _ in workers:
            todo.put(None)
