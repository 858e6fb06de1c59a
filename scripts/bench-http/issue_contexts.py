#!/usr/bin/env python3
"""Issue ASH contexts in bulk and pre-compute their proofs for wrk.

Usage: issue_contexts.py URL N OUT [--connections K]

POSTs N times to URL/ash/context with {"binding": "POST /api/transfer"} over
K keep-alive connections, computes each context's proof (ash-sdk) over the
fixed transfer body, and writes "contextId proof" lines to OUT for
protected.lua. OUT is written to a temporary file and renamed, so a partial
run never leaves a usable-looking file behind.

Contexts live for the server's TTL (30 s by default in the reference), counted
from issuance: start wrk right away, or raise the server's TTL for long runs.
A summary (count, rate, time left before the first context expires) goes to
stderr; the exit status is non-zero if any context could not be issued.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlsplit

from ash.client import AshClient

BINDING = "POST /api/transfer"
# Must stay byte-identical to BODY in protected.lua: the proof covers it.
BODY = {"amount": 25, "to": "alice"}


class Issuer:
    """One keep-alive connection; reconnects once if the server closed it."""

    def __init__(self, url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme: {url}")
        conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connect = lambda: conn_class(parts.hostname, parts.port, timeout=30)
        self._path = parts.path.rstrip("/") + "/ash/context"
        self._conn = self._connect()
        self._request_body = json.dumps({"binding": BINDING}).encode("utf-8")
        self._client = AshClient()

    def issue(self):
        """Returns (contextId, proof, expiresAt)."""
        for attempt in (1, 2):
            try:
                self._conn.request("POST", self._path, body=self._request_body,
                                   headers={"Content-Type": "application/json"})
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests.
                self._conn.close()
                self._conn = self._connect()
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"POST {self._path} -> HTTP {response.status}: {raw[:200]!r}")
        info = json.loads(raw)
        proof = self._client.generate_proof(
            context_id=info["contextId"],
            mode=info["mode"],
            binding=BINDING,
            payload=BODY,
            content_type="application/json",
            nonce=info.get("nonce"),
        )
        return info["contextId"], proof, info.get("expiresAt")

    def close(self):
        self._conn.close()


def main():
    parser = argparse.ArgumentParser(description="Issue ASH contexts and write 'contextId proof' lines for wrk.")
    parser.add_argument("url", help="server base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("count", type=int, help="number of contexts to issue")
    parser.add_argument("out", help="output file")
    parser.add_argument("--connections", type=int, default=4, help="keep-alive connections (default 4)")
    args = parser.parse_args()
    if args.count < 1 or args.connections < 1:
        parser.error("count and --connections must be positive")

    workers = min(args.connections, args.count)
    results = [[] for _ in range(workers)]
    errors = []

    def work(index, quota):
        try:
            issuer = Issuer(args.url)
            try:
                for _ in range(quota):
                    results[index].append(issuer.issue())
            finally:
                issuer.close()
        except Exception as e:  # reported once below; the other workers finish
            errors.append(f"worker {index}: {type(e).__name__}: {e}")

    started = time.monotonic()
    base, extra = divmod(args.count, workers)
    threads = [threading.Thread(target=work, args=(i, base + (1 if i < extra else 0))) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    if errors:
        for message in errors:
            print(f"issue_contexts: {message}", file=sys.stderr)
        return 1

    issued = [item for chunk in results for item in chunk]
    tmp = f"{args.out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for context_id, proof, _ in issued:
            f.write(f"{context_id} {proof}\n")
    os.replace(tmp, args.out)

    expiries = [e for _, _, e in issued if isinstance(e, (int, float))]
    left = f"; first context expires in {(min(expiries) - time.time() * 1000) / 1000:.1f} s" if expiries else ""
    print(f"issue_contexts: {len(issued)} contexts in {elapsed:.2f} s "
          f"({len(issued) / elapsed:.0f}/s) -> {args.out}{left}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
