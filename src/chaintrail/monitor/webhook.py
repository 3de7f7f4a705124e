"""Webhook delivery: an HTTP POST of the alert as JSON, signed with HMAC-SHA256, retried with backoff.

The receiver checks ``X-Chaintrail-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes under
its watch's secret (shown once when the watch was added; ``verify_signature`` does the check), and may drop
repeats by ``X-Chaintrail-Delivery``. Before each attempt the URL's host is resolved and every address checked
(``url_guard``), and the POST goes to a checked address: redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from chaintrail.monitor.url_guard import Allow, Resolver, WebhookRefused, checked_addresses, system_resolver

SIGNATURE_HEADER = "X-Chaintrail-Signature"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant-time)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def body_of(event: str, alert: dict) -> bytes:
    return json.dumps({"event": event, "alert": alert}, sort_keys=True, separators=(",", ":"),
                      default=str).encode()


@dataclass
class Attempt:
    attempt: int
    ok: bool
    detail: str
    refused: bool = False


def post(url: str, body: bytes, secret: bytes, *, delivery_id: str, event: str, timeout: float = 5.0,
         attempts: int = 5, backoff_s: float = 0.5, allow: Allow | None = None,
         resolver: Resolver = system_resolver,
         on_attempt: Callable[[Attempt], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST ``body`` until a 2xx answer or ``attempts`` tries; waits backoff_s, 2x, 4x ... between them.

    A URL whose host now resolves to an address webhooks may not reach is refused at once (no retry)."""
    headers = {"Content-Type": "application/json", "User-Agent": "chaintrail-monitor",
               SIGNATURE_HEADER: sign(secret, body), "X-Chaintrail-Event": event,
               "X-Chaintrail-Delivery": delivery_id}
    wait = backoff_s
    for n in range(1, attempts + 1):
        try:
            host, port, addrs = checked_addresses(url, allow or Allow(), resolver)
        except WebhookRefused as exc:
            if on_attempt is not None:
                on_attempt(Attempt(n, False, f"refused: {exc}", refused=True))
            return False
        ok, detail = _post_once(url, host, port, addrs, body, headers, timeout)
        if on_attempt is not None:
            on_attempt(Attempt(n, ok, detail))
        if ok:
            return True
        if n < attempts:
            sleep(wait)
            wait *= 2
    return False


def _post_once(url: str, host: str, port: int, addrs: list[str], body: bytes, headers: dict,
               timeout: float) -> tuple[bool, str]:
    """One POST to the first of the checked addresses that answers (Host header and TLS name: ``host``)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    https = parts.scheme == "https"
    err: Exception | None = None
    for ip in addrs:
        ctx = ssl.create_default_context() if https else None
        conn = (http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx) if https
                else http.client.HTTPConnection(host, port, timeout=timeout))
        try:
            sock = socket.create_connection((ip, port), timeout)
            conn.sock = ctx.wrap_socket(sock, server_hostname=host) if ctx is not None else sock
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            return 200 <= resp.status < 300, f"HTTP {resp.status}"
        except (OSError, http.client.HTTPException) as exc:
            err = exc
        finally:
            conn.close()
    return False, f"no answer: {err}"
