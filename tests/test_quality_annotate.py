"""``jinglian quality annotate`` against a real OpenAI-compatible HTTP server on 127.0.0.1 with
scripted replies, and against a tiny local transformers model built here. No real annotator model
runs in these tests: they check the plumbing (parsing, retries, resume, output), not label quality."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jinglian.corpus.quality.annotate import AnnotateError, annotate, load_rubric, parse_reply
from jinglian.corpus.quality.excerpt import SEPARATOR, excerpt

GOOD = '{"score": 4, "kind": "none", "lang": "zh", "note": "ordinary news"}'
REPLIES = {  # behaviour word in the document → the reply text the server sends
    "good": GOOD,
    "fenced": 'Here is my rating:\n```json\n{"score": 1, "kind": "seo_spun", "lang": "zh", "note": "spun"}\n```',
    "line": "Score: 2\nKind: product_ad\nLang: zh",
    "garbage": "我觉得这篇文章还行吧，大概不错。",
    "range": "score: 3-4, hard to say",
    "outofrange": '{"score": 7, "kind": "none"}',
}


class Scripted(BaseHTTPRequestHandler):
    """/v1/chat/completions: the reply depends on the DOC-<behaviour>-<n> marker in the prompt."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        doc, behaviour = re.search(r"DOC-(([a-z]+)-\d+)", prompt).group(1, 2)
        server = self.server
        with server.lock:
            server.calls[doc] += 1
            attempt = server.calls[doc]
            server.log.append(doc)
            held = server.hold_after is not None and len(server.log) > server.hold_after
        if held:  # keeps the client busy until the test has killed it
            server.release.wait(300)  # set by the test (or the fixture at teardown)
        if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
            return self._send(401, {"error": "invalid api key"})
        if self.path != "/v1/chat/completions" or body["model"] != "test-annotator":
            return self._send(404, {"error": "no such model"})
        if behaviour == "flaky" and attempt == 1:
            return self._send(500, {"error": "internal"})
        if behaviour == "ratelimit" and attempt == 1:
            return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
        if behaviour == "down":
            return self._send(503, {"error": "overloaded"})
        if behaviour == "rejected":
            return self._send(400, {"error": "temperature is not supported with this model"})
        if behaviour == "slow" and attempt == 1:
            time.sleep(1.5)  # past the client's timeout: it gives up and retries
        time.sleep(server.delay)
        if behaviour == "htmlbody":  # a proxy's error page with status 200
            return self._send(200, "<html><body>502 Bad Gateway</body></html>")
        content = REPLIES.get(behaviour, GOOD)
        finish = "stop"
        if behaviour == "cut":  # a reasoning model that spent --max-tokens thinking: no content at all
            content, finish = None, "length"
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                      "finish_reason": finish}]})

    def _send(self, status: int, payload: dict | str, headers: dict | None = None) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        try:
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.daemon_threads = True
    httpd.lock, httpd.calls, httpd.log, httpd.delay = threading.Lock(), Counter(), [], 0.0
    httpd.api_key = None  # when set, requests without "Authorization: Bearer <key>" get 401
    httpd.hold_after, httpd.release = None, threading.Event()  # answer this many requests, then hold the rest
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def write_docs(path: Path, behaviours: list[str]) -> list[str]:
    ids = []
    with open(path, "w", encoding="utf-8") as f:
        for i, b in enumerate(behaviours):
            ids.append(f"{b}-{i}")
            text = f"这是一篇用来测试标注流程的短文。\n\n编号 DOC-{b}-{i}，内容很普通。" * 2
            f.write(json.dumps({"id": f"{b}-{i}", "text": text}, ensure_ascii=False) + "\n")
    return ids


def read_labels(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "labels.jsonl").read_text(encoding="utf-8").splitlines()]


def endpoint_args(server, docs: Path, out: Path, *extra: str) -> list[str]:
    return ["quality", "annotate", str(docs), "--out", str(out), "--endpoint", server.url, "--model",
            "test-annotator", "--timeout", "0.5", "--retry-wait", "0.01", *extra]


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("reply, score, kind", [
    (GOOD, 4, "none"),
    ('```json\n{"score": "3", "kind": "product_ad"}\n```', 3, "product_ad"),
    ('<think>maybe {"score": 1}? no.</think>{"score": 5, "kind": "none"}', 5, "none"),
    ('maybe {"score": 1}? no.</think>\n{"score": 5, "kind": "none"}', 5, "none"),  # <think> was in the prompt
    ("**Score**: 0\n**Kind**: gambling", 0, "gambling"),
    ("评分：2", 2, None),
    ('{"score": 4.0, "kind": "not-a-kind"}', 4, None),  # a kind outside the rubric is not kept
])
def test_parse_reply_reads_json_fences_and_score_lines(reply, score, kind):
    parsed = parse_reply(reply)
    assert (parsed.score, parsed.kind, parsed.error) == (score, kind, None)


@pytest.mark.parametrize("reply, why", [
    ("", "empty reply"),
    ("这篇文章质量不错。", "no score"),
    ('{"score": 3.5}', "not an integer"),
    ('{"score": 6}', "outside 0-5"),
    ('{"score": -1}', "outside 0-5"),
    ('{"score": true}', "not a number"),
    ('{"score": "high"}', "not a number"),
    ('{"score": 2} or maybe {"score": 3}', "several different scores"),
    ("score: 2 ... final score: 4", "several different scores"),
    ("score: 3-4", "range"),
    ("score: 3 到 4", "range"),
    ("<think>score: 4", "empty reply"),  # cut off inside the scratchpad: no answer at all
])
def test_parse_reply_never_guesses(reply, why):
    parsed = parse_reply(reply)
    assert parsed.score is None and why in parsed.error


def test_rubric_prompt_places_the_document_and_bad_rubrics_are_named(tmp_path):
    default = load_rubric()
    assert default.strict and default.prompt("正文DOC").endswith("<<<\n正文DOC\n>>>\n")
    plain = tmp_path / "plain.md"
    plain.write_text("Rate 0-5, answer {\"score\": N}.\n", encoding="utf-8")
    assert load_rubric(plain).prompt("正文") == 'Rate 0-5, answer {"score": N}.\n\n正文'  # no {text}: appended
    (tmp_path / "empty.md").write_text(" \n", encoding="utf-8")
    with pytest.raises(AnnotateError, match="empty.md: rubric file is empty"):
        load_rubric(tmp_path / "empty.md")
    with pytest.raises(AnnotateError, match="missing.md: rubric file not found"):
        load_rubric(tmp_path / "missing.md")


def test_excerpt_is_the_two_window_shape_of_the_labels():
    short = "第一行\n\n第二行  有空格"
    assert excerpt(short) == "第一行 第二行 有空格"
    long = "甲" * 800 + "\n\n" + "乙" * 400  # 1,201 characters once collapsed: the second half starts at 600
    cut = excerpt(long)
    first, second = cut.split(SEPARATOR)
    assert first == "甲" * 500 and second == "甲" * 200 + " " + "乙" * 299
    assert len(cut) == 1000 + len(SEPARATOR) == 1012  # the labelled excerpts' length
    assert excerpt(cut) == cut and excerpt("字" * 1012) == "字" * 1012  # an excerpt is its own excerpt


def test_labelled_excerpts_are_their_own_excerpts(shared_data):
    """Annotating the labelled items sends exactly their text (whitespace collapsed), not a cut of it."""
    rows = [json.loads(x) for x in (shared_data / "quality/hplt_zh_annotated/excerpts.jsonl").open(encoding="utf-8")]
    assert len(rows) > 2000
    assert all(excerpt(r["text"]) == " ".join(r["text"].split()) for r in rows)


# ---------------------------------------------------------------- the endpoint path


def test_endpoint_replies_retries_and_failures_are_each_recorded(cli, server, tmp_path, monkeypatch):
    server.api_key = "sk-test-0123"
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)  # read from the environment, never an argument
    behaviours = ["good", "fenced", "line", "garbage", "range", "outofrange", "flaky", "ratelimit", "slow", "down",
                  "cut", "htmlbody"]
    ids = write_docs(tmp_path / "docs.jsonl", behaviours)
    out = tmp_path / "labels"
    proc = cli(*endpoint_args(server, tmp_path / "docs.jsonl", out, "--retries", "2", "--concurrency", "4"), check=False)
    assert proc.returncode == 1 and "2 documents failed" in proc.stderr  # always 503; an HTML page
    labels = {r["id"]: r for r in read_labels(out)}
    assert sorted(labels) == sorted(i for i in ids if not i.startswith(("down", "htmlbody")))
    assert {i: labels[i]["score"] for i in labels} == {
        "good-0": 4, "fenced-1": 1, "line-2": 2, "garbage-3": None, "range-4": None, "outofrange-5": None,
        "flaky-6": 4, "ratelimit-7": 4, "slow-8": 4, "cut-10": None}
    assert labels["cut-10"]["error"] == "empty reply (the reply was cut at the token limit: raise --max-tokens)"
    bad = labels["garbage-3"]  # a malformed reply: kept with its raw text, no score
    assert bad["raw"] == REPLIES["garbage"] and bad["score"] is None and "no score" in bad["error"]
    assert labels["outofrange-5"]["error"] == "score 7 is outside 0-5"
    assert labels["fenced-1"]["kind"] == "seo_spun" and labels["line-2"]["kind"] == "product_ad"
    good = labels["good-0"]
    assert good["model"] == "test-annotator" and good["text_is"] == "excerpt" and good["error"] is None
    assert good["text"] == excerpt(good["text"]) and "\n" not in good["text"]
    assert server.calls["flaky-6"] == 2 and server.calls["ratelimit-7"] == 2 and server.calls["slow-8"] == 2
    assert server.calls["down-9"] == 3  # 1 try + 2 retries, then recorded as failed
    failed = {r["id"]: r["error"] for r in map(json.loads, (out / "failed.jsonl").read_text().splitlines())}
    assert failed.keys() == {"down-9", "htmlbody-11"} and "HTTP 503" in failed["down-9"]
    assert failed["htmlbody-11"].startswith("not a chat-completions answer: <html>")
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["in"], stats["labelled"], stats["unparseable"], stats["failed"]) == (12, 6, 4, 2)
    assert stats["balanced"] and stats["file"]["scores"] == {"1": 1, "2": 1, "4": 4, "null": 4}
    assert not any(server.api_key in p.read_text(encoding="utf-8") for p in out.iterdir())  # the key is not stored

    # The same command again: only the failed documents are sent again; nothing is labelled twice.
    before = Counter(server.calls)
    proc = cli(*endpoint_args(server, tmp_path / "docs.jsonl", out, "--retries", "0"), check=False)
    assert proc.returncode == 1 and "10 documents already labelled" in proc.stdout
    assert server.calls - before == Counter({"down-9": 1, "htmlbody-11": 1})
    assert len(read_labels(out)) == 10


def test_labels_feed_quality_train_records(server, tmp_path):
    """What `quality train` reads: `text`, an integer `score` 0-5 or null, and `kind`, on every line."""
    from jinglian.corpus.quality.annotate import EndpointAnnotator

    write_docs(tmp_path / "docs.jsonl", ["good", "fenced", "garbage"])
    stats = _run(server, tmp_path / "docs.jsonl", tmp_path / "out", EndpointAnnotator)
    assert stats["labelled"] == 2 and stats["unparseable"] == 1
    for r in read_labels(tmp_path / "out"):
        assert isinstance(r["text"], str) and r["text"]
        assert (r["score"] is None and r["error"]) or (isinstance(r["score"], int) and 0 <= r["score"] <= 5)
        assert "kind" in r


def _run(server, docs, out, annotator_cls, model="test-annotator", rubric=None, **options):
    from jinglian.corpus.readers import DocumentReader

    annotator = annotator_cls(server.url, model, timeout=5, retries=0)
    try:
        return annotate(lambda: DocumentReader([str(docs)]).run(), out, annotator, model, load_rubric(rubric),
                        **options)
    finally:
        annotator.close()


def test_duplicate_ids_are_rejected_and_full_text_is_cut_at_max_chars(server, tmp_path):
    from jinglian.corpus.quality.annotate import EndpointAnnotator

    docs = tmp_path / "docs.jsonl"
    texts = ["短文 DOC-good-1", "长文 DOC-good-2 " + "很长的正文。" * 50, "同一个编号的另一篇 DOC-good-3"]
    docs.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                            for i, t in zip(["a", "b", "a"], texts, strict=True)), encoding="utf-8")
    stats = _run(server, docs, tmp_path / "out", EndpointAnnotator, full_text=True, max_chars=100)
    assert (stats["in"], stats["labelled"], stats["duplicate_id"], stats["balanced"]) == (3, 2, 1, True)
    labels = {r["id"]: r for r in read_labels(tmp_path / "out")}
    assert labels["a"]["text"] == texts[0] and labels["a"]["text_is"] == "full"
    assert labels["b"]["text"] == texts[1][:100] and labels["b"]["text_is"] == "head"
    (rejected,) = [json.loads(x) for x in (tmp_path / "out/rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rejected["id"] == "a" and rejected["reason"] == "duplicate_id" and "DOC-good-3" in rejected["text"]
    assert server.calls["good-3"] == 0


def test_another_model_rubric_or_text_in_the_same_folder_is_refused(server, tmp_path):
    from jinglian.corpus.quality.annotate import EndpointAnnotator

    docs, out = tmp_path / "docs.jsonl", tmp_path / "out"
    write_docs(docs, ["good", "good"])
    _run(server, docs, out, EndpointAnnotator)
    with pytest.raises(AnnotateError, match="another setup.*model: 'test-annotator' then, 'other' now"):
        _run(server, docs, out, EndpointAnnotator, model="other")
    rubric = tmp_path / "mine.md"
    rubric.write_text("Rate this text 0-5 as JSON {\"score\": N}:\n{text}\n", encoding="utf-8")
    with pytest.raises(AnnotateError, match="rubric"):
        _run(server, docs, out, EndpointAnnotator, rubric=rubric)
    assert _run(server, docs, tmp_path / "mine", EndpointAnnotator, rubric=rubric)["labelled"] == 2
    moved = tmp_path / "moved.md"  # the same rubric from another path: the same labels, resumed
    moved.write_bytes(rubric.read_bytes())
    assert _run(server, docs, tmp_path / "mine", EndpointAnnotator, rubric=moved)["already_labelled"] == 2
    docs.write_text(docs.read_text(encoding="utf-8").replace("内容很普通", "内容改过了"), encoding="utf-8")
    with pytest.raises(AnnotateError, match="'good-0' was labelled from a different text"):
        _run(server, docs, out, EndpointAnnotator)
    assert len(read_labels(out)) == 2


def test_wrong_key_or_model_name_stops_the_run_with_one_line(cli, server, tmp_path, monkeypatch):
    server.api_key = "sk-right"
    write_docs(tmp_path / "docs.jsonl", ["good"] * 3)
    monkeypatch.setenv("MY_KEY", "sk-wrong")
    proc = cli(*endpoint_args(server, tmp_path / "docs.jsonl", tmp_path / "o1", "--api-key-env", "MY_KEY"), check=False)
    assert proc.returncode == 2 and "HTTP 401" in proc.stderr and "check the API key in $MY_KEY" in proc.stderr
    monkeypatch.setenv("MY_KEY", "sk-right")
    args = endpoint_args(server, tmp_path / "docs.jsonl", tmp_path / "out", "--api-key-env", "MY_KEY")
    args[args.index("test-annotator")] = "no-such-model"
    proc = cli(*args, check=False)
    assert proc.returncode == 2 and "HTTP 404" in proc.stderr and "--model" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("quality", "annotate", str(tmp_path / "docs.jsonl"), "--out", str(tmp_path / "o2"), check=False)
    assert proc.returncode == 2 and "--endpoint" in proc.stderr


def test_a_run_whose_every_request_fails_stops_early(server, tmp_path):
    from jinglian.corpus.quality.annotate import FAIL_FAST_AFTER, EndpointAnnotator

    docs, out = tmp_path / "docs.jsonl", tmp_path / "out"
    write_docs(docs, ["rejected"] * 30)
    with pytest.raises(AnnotateError, match=f"first {FAIL_FAST_AFTER} requests all failed.*HTTP 400"):
        _run(server, docs, out, EndpointAnnotator, concurrency=1)
    assert FAIL_FAST_AFTER <= len(server.log) <= FAIL_FAST_AFTER + 2 and not read_labels(out)  # 2: the queue
    assert len((out / "failed.jsonl").read_text().splitlines()) == FAIL_FAST_AFTER


def test_bad_input_is_named_by_file_and_line(cli, server, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "a", "text": "好的文字 DOC-good-1"}\n{"id": "b", "txt": "oops"}\n', encoding="utf-8")
    proc = cli(*endpoint_args(server, docs, tmp_path / "out"), check=False)
    assert proc.returncode == 2 and f"{docs}:2: field 'text': missing" in proc.stderr
    assert not server.log  # checked before anything is sent


def test_kill_9_then_resume_labels_every_document_exactly_once(server, tmp_path):
    server.hold_after = 15  # the first run cannot finish: it is killed with requests in flight
    docs, out = tmp_path / "docs.jsonl", tmp_path / "out"
    ids = write_docs(docs, ["good"] * 60)
    args = [sys.executable, "-m", "jinglian.cli", *endpoint_args(server, docs, out, "--concurrency", "3")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "200"})
    labels = out / "labels.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if labels.exists() and labels.read_text(encoding="utf-8").count("\n") >= 12:
            break
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    server.hold_after = None
    server.release.set()
    before_kill = {r["id"] for r in read_labels(out)}
    assert 12 <= len(before_kill) <= 15
    with open(labels, "a", encoding="utf-8") as f:  # a write cut short by the kill
        f.write('{"id": "good-59", "text": "这是')
    sent_before = len(server.log)

    proc2 = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert proc2.returncode == 0, proc2.stderr
    assert "incomplete last line" in proc2.stdout
    final = [r["id"] for r in read_labels(out)]
    assert sorted(final) == sorted(ids)  # none lost, none twice
    resent = set(server.log[sent_before:])
    assert not resent & before_kill  # what was on disk was not sent again
    stats = json.loads((out / "stats.json").read_text())
    assert stats["already_labelled"] == len(before_kill) and stats["labelled"] == 60 - len(before_kill)


# ---------------------------------------------------------------- the local transformers path


def test_local_tiny_model_replies_are_recorded_unparseable(tmp_path):
    """A tiny random Qwen2 built here answers noise: every label is score null with its raw reply."""
    import torch
    from tiny_train import TINY
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from typer.testing import CliRunner

    from jinglian.cli import _register_all, app
    from jinglian.train.toy import build_tokenizer

    model_dir = tmp_path / "tiny"
    tok = build_tokenizer(model_dir)
    torch.manual_seed(0)
    config = Qwen2Config(**TINY, vocab_size=len(tok), pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    Qwen2ForCausalLM(config).save_pretrained(model_dir)
    docs = tmp_path / "docs.jsonl"
    write_docs(docs, ["good", "fenced", "garbage"])
    _register_all()
    out = tmp_path / "out"
    args = ["quality", "annotate", str(docs), "--out", str(out), "--local-model", str(model_dir),
            "--max-tokens", "6", "--concurrency", "2", "--device", "cpu"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    labels = read_labels(out)
    assert [r["id"] for r in labels] == ["good-0", "fenced-1", "garbage-2"]
    for r in labels:
        assert r["score"] is None and r["error"] and isinstance(r["raw"], str)
        assert r["model"] == str(model_dir.resolve())
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["in"], stats["labelled"], stats["unparseable"], stats["failed"]) == (3, 0, 3, 0)
    again = CliRunner().invoke(app, args, env={"COLUMNS": "200"})  # resume: nothing left to do
    assert again.exit_code == 0 and "3 documents already labelled" in again.output
    assert len(read_labels(out)) == 3


def test_ctrl_c_does_not_wait_for_the_requests_in_flight(server, tmp_path):
    """The server holds every request until the client has exited: a client that waits for its
    in-flight requests before exiting would hang here (it did with a ThreadPoolExecutor)."""
    server.hold_after = 0
    docs, out = tmp_path / "docs.jsonl", tmp_path / "out"
    write_docs(docs, ["good"] * 10)
    args = [sys.executable, "-m", "jinglian.cli", *endpoint_args(server, docs, out, "--timeout", "300")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not server.log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.log, "no request arrived"
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=60) != 0
    finally:
        proc.kill()
        server.release.set()
    assert not read_labels(out)  # nothing was answered, nothing recorded
