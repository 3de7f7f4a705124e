"""Webhook delivery: an HTTP POST of the alert as JSON, signed with HMAC-SHA256, retried with backoff.

The receiver checks ``X-Chaintrail-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes under
the shared secret (``verify_signature`` does it), and may drop repeats by ``X-Chaintrail-Delivery``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Chaintrail-Signature"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant-time)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def body_of(event: str, alert: dict) -> bytes:
    return json.dumps({"event": event, "alert": alert}, sort_keys=True, separators=(",", ":"),
                      default=str).encode()


@dataclass
class Attempt:
    attempt: int
    ok: bool
    detail: str


def post(url: str, body: bytes, secret: bytes, *, delivery_id: str, event: str, timeout: float = 5.0,
         attempts: int = 5, backoff_s: float = 0.5,
         on_attempt: Callable[[Attempt], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST ``body`` until a 2xx answer or ``attempts`` tries; waits backoff_s, 2x, 4x ... between them."""
    headers = {"Content-Type": "application/json", "User-Agent": "chaintrail-monitor",
               SIGNATURE_HEADER: sign(secret, body), "X-Chaintrail-Event": event,
               "X-Chaintrail-Delivery": delivery_id}
    wait = backoff_s
    for n in range(1, attempts + 1):
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:      # noqa: S310 (http(s) checked on add)
                ok, detail = 200 <= resp.status < 300, f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            ok, detail = False, f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            ok, detail = False, f"no answer: {reason}"
        if on_attempt is not None:
            on_attempt(Attempt(n, ok, detail))
        if ok:
            return True
        if n < attempts:
            sleep(wait)
            wait *= 2
    return False
