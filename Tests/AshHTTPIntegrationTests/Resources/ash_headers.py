#!/usr/bin/env python3
"""Line-oriented ASH v1 header builder on top of PyPI's ash-sdk (2.3.3).

Reads one JSON request per line on stdin:
  {"contextId": "...", "mode": "balanced", "binding": "POST /api/transfer",
   "contentType": "application/json" | "application/x-www-form-urlencoded",
   "body": "<raw body text>", "nonce": "..." | null}
and writes exactly one JSON line per input line to stdout, flushed:
  {"x-ash-context-id": "...", "x-ash-proof": "..."}   or   {"error": "..."}
It runs until stdin closes, so a test can keep one process for many requests.

Payload handed to ash-sdk (its AshClient.build_headers canonicalizes it):
  JSON: json.loads(body); an empty body is {} (what Express's JSON parser gives).
  form: the raw body string.

ash-sdk is not the reference implementation. Known differences from the
reference canonicalizer (and so from the page and the protocol vectors):
  JSON  - object members whose value is null are dropped ({"a":null} -> {});
        - whole numbers print as all digits (1e21 -> 1000000000000000000000,
          reference 1e+21) and integers are not rounded to a double
          (12345678901234567890 stays exact); other floats print via str()
          (1e-07, 1e-05 where the reference prints 1e-7, 0.00001);
        - keys sort by code point, not UTF-16 code unit (differs only between
          astral characters and U+E000..U+FFFF), also when NFC-colliding keys
          pick a winner; a "__proto__" member is kept (the reference drops it);
        - a lone surrogate (from a \\ud800 escape) fails to hash (error line).
  form  - re-encoding leaves only A-Z a-z 0-9 _ . - ~ raw, so ! * ' ( ) are
          percent-encoded where encodeURIComponent keeps them;
        - malformed % escapes and invalid UTF-8 are passed through or replaced
          instead of rejected.
"""

import json
import sys

from ash.client import AshClient

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


def media_type(content_type):
    """'application/json; charset=utf-8' -> 'application/json'."""
    return content_type.split(";", 1)[0].strip().lower()


def build(client, request):
    if not isinstance(request, dict):
        raise ValueError("request must be a JSON object")
    for field in ("contextId", "mode", "binding", "contentType", "body"):
        if not isinstance(request.get(field), str):
            raise ValueError(f"{field} must be a string")
    nonce = request.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise ValueError("nonce must be a string or null")

    content_type = media_type(request["contentType"])
    body = request["body"]
    if content_type == JSON_TYPE:
        payload = json.loads(body) if body != "" else {}
    elif content_type == FORM_TYPE:
        payload = body
    else:
        raise ValueError(f"unsupported content type: {request['contentType']}")

    headers = client.build_headers(
        context_id=request["contextId"],
        mode=request["mode"],
        binding=request["binding"],
        payload=payload,
        content_type=content_type,
        nonce=nonce,
    )
    # ash-sdk names them X-Ash-Context-Id / X-Ash-Proof; callers expect lower case.
    return {name.lower(): value for name, value in headers.items()}


def main():
    client = AshClient()
    # Bytes in and out: a line that is not UTF-8 gets an error line instead of
    # killing the loop, and the locale cannot change the output encoding.
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        try:
            result = build(client, json.loads(line.decode("utf-8")))
        except Exception as e:  # one bad request must not end the stream
            result = {"error": f"{type(e).__name__}: {e}"}
        stdout.write(json.dumps(result, separators=(",", ":")).encode("utf-8") + b"\n")
        stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
