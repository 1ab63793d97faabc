"""A retrieval-augmented support assistant on the plain `openai` SDK, with no OpenTelemetry code in it.

    POST /ask {"question": "..."}  ->  {"answer": "...", "sources": ["..."]}
    GET  /healthz                  ->  ok

For each question it embeds the question, takes the help-centre passages closest to it (their embeddings are
computed once, on the first question) and asks the chat model to answer from them: an embeddings call and a
chat call per question. The llmobs webhook makes it observable from the outside: the PYTHONPATH it injects
loads the OpenTelemetry GenAI instrumentation of `openai` before this file runs.

Environment: OPENAI_BASE_URL and OPENAI_API_KEY (read by the openai SDK), CHAT_MODEL (gpt-4o-mini),
EMBEDDING_MODEL (text-embedding-3-small), TOP_K (2), HOST (0.0.0.0), PORT (8080).
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from openai import OpenAI

PASSAGES = [
    "Refunds: a payment can be refunded within 30 days from the Orders page; "
    "the money is back on the card within 5 to 10 business days.",
    "Duplicate charges: when a card is charged twice for one order, the second authorisation is released "
    "automatically within 3 business days.",
    "Shipping: orders leave the warehouse within 2 business days; the tracking link is emailed to the "
    "address on the account.",
    "Account email: the sign-in email is changed under Settings > Profile; a confirmation link goes to the new "
    "address.",
]
SYSTEM = "You are a support assistant. Answer only from the passages given; say so when they do not cover it."

CHAT_MODEL = os.environ.get("CHAT_MODEL") or "gpt-4o-mini"
EMBEDDING_MODEL = os.environ.get("EMBEDDING_MODEL") or "text-embedding-3-small"
TOP_K = int(os.environ.get("TOP_K") or "2")

client = OpenAI(max_retries=1, timeout=30)
_index: list[list[float]] | None = None
_index_lock = threading.Lock()


def embed(texts: list[str]) -> list[list[float]]:
    res = client.embeddings.create(model=EMBEDDING_MODEL, input=texts)
    return [d.embedding for d in sorted(res.data, key=lambda d: d.index)]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def retrieve(question: str) -> list[str]:
    global _index
    with _index_lock:
        if _index is None:
            _index = embed(PASSAGES)
    [q] = embed([question])
    ranked = sorted(range(len(PASSAGES)), key=lambda i: cosine(q, _index[i]), reverse=True)
    return [PASSAGES[i] for i in ranked[:TOP_K]]


def answer(question: str) -> dict[str, object]:
    sources = retrieve(question)
    context = "\n".join(f"- {p}" for p in sources)
    res = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question: {question}\n\nPassages:\n{context}"},
        ],
    )
    return {"answer": res.choices[0].message.content, "sources": sources}


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/healthz":
            self._send(200, "ok")
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/ask":
            self._send(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            question = str(body["question"])
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": 'expected {"question": "..."}'})
            return
        try:
            self._send(200, answer(question))
        except Exception as err:  # noqa: BLE001 - the caller gets the reason, the process keeps serving
            self._send(502, {"error": f"{type(err).__name__}: {err}"})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # The request line only: questions may hold personal data and stay out of the logs.
        print(f"rag-app: {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)


def main() -> int:
    # Kubernetes stops a pod with SIGTERM: exit normally so atexit hooks (telemetry flushes among them) run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((os.environ.get("HOST") or "0.0.0.0", int(os.environ.get("PORT") or "8080")), Handler)
    print(f"rag-app: listening on {server.server_address[0]}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
