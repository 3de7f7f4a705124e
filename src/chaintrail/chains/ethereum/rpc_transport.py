"""JSON-RPC over HTTP for Ethereum nodes: keep-alive connections per thread, bounded answers, retries.

``HttpJsonRpc.send`` posts one request (a batch when it holds more than one call) and returns one result or
``RpcError`` per call, in order. Rate limits (HTTP 429, -32005), gateway errors and dropped connections are
retried with backoff, ``retries`` times; everything else is a ``SourceError`` whose one line names the call and
the URL without its credentials.
"""

from __future__ import annotations

import base64
import http.client
import logging
import random
import re
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from chaintrail.chains.ethereum.rpc_describe import describe_call, describe_calls, one_line
from chaintrail.chains.urls import public_url
from chaintrail.errors import SourceError

__all__ = ["HttpJsonRpc", "RpcError", "RpcMethodMissing"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 502, 503, 504}
_MISSING_STATUS = {404, 405, 501}
_MISSING_CODES = {-32601, -32004}
_MISSING_TEXT = re.compile(r"method.{0,60}(not found|not supported|does not exist|not available|not whitelisted)"
                           r"|unsupported method|not implemented", re.IGNORECASE)
_RATE_CODES = {-32005, 429}
_RATE_TEXT = re.compile(r"rate.?limit|too many requests|limit exceeded", re.IGNORECASE)


class RpcError(SourceError):
    """The node answered a JSON-RPC error object; keeps its ``code`` and ``data`` (revert data of eth_call)."""

    def __init__(self, message: str, *, code: int | None = None, data: object = None):
        self.code = code
        self.data = data
        super().__init__(message)


class RpcMethodMissing(RpcError):
    """The node does not serve the method (-32601, -32004, HTTP 404/405, 'method not supported')."""


class _Transient(Exception):
    """A failure worth retrying after a pause: rate limits, gateways, dropped connections."""

    def __init__(self, reason: str, wait: float | None = None):
        self.reason = reason
        self.wait = wait
        super().__init__(reason)


class _Conn:
    """One worker thread's keep-alive connection."""

    __slots__ = ("conn", "reused")

    def __init__(self) -> None:
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.reused = False


class HttpJsonRpc:
    """Posts JSON-RPC requests to one URL; each thread has its own keep-alive connection."""

    def __init__(self, url: str, *, timeout: float, max_response_bytes: int, retries: int):
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        self.url = public_url(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"Ethereum RPC URL {self.url}: expected http(s)://host[:port][/path]")
        try:
            port = parts.port
        except ValueError as exc:
            raise SourceError(f"Ethereum RPC URL {self.url}: bad port") from exc
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if parts.username is not None:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.retries = max(0, retries)
        self._local = threading.local()
        self._conns: list[_Conn] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close every thread's connection; the next request opens a new one."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._local = threading.local()
        for c in conns:
            c.close()

    def error(self, what: str, reason: str, cls: type[SourceError] = SourceError) -> SourceError:
        """The one-line error for ``what`` (a described call) at this URL."""
        return cls(f"{what}: {reason} ({self.url})")

    def send(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        """One HTTP request for ``calls`` (a batch when more than one), retried while the trouble is transient."""
        what = describe_calls(calls)
        if len(calls) == 1:
            method, params = calls[0]
            body = orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
        else:
            body = orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                                 for i, (m, p) in enumerate(calls)])
        last: _Transient | None = None
        for attempt in range(self.retries + 1):
            if last is not None:
                pause = last.wait if last.wait is not None else min(8.0, 0.25 * 2 ** (attempt - 1))
                log.info("%s: %s; retrying in %.2f s (%s)", what, last.reason, pause, self.url)
                time.sleep(pause * (0.75 + 0.5 * random.random()) if last.wait is None else pause)
            try:
                return self._answers(self._post(body, what), calls, what)
            except _Transient as exc:
                last = exc
        assert last is not None
        tries = self.retries + 1
        raise self.error(what, f"{last.reason}, still after {tries} {'try' if tries == 1 else 'tries'}")

    def _conn(self) -> _Conn:
        c: _Conn | None = getattr(self._local, "c", None)
        if c is None:
            c = _Conn()
            self._local.c = c
            with self._lock:
                self._conns.append(c)
        return c

    def _post(self, body: bytes, what: str) -> tuple[int, bytes]:
        """POST ``body``; (HTTP status, answer bytes). Reconnects once when a kept-alive connection went stale."""
        c = self._conn()
        for fresh in (False, True):
            if c.conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                c.conn = cls(self._host, self._port, timeout=self.timeout)
                c.reused = False
            reused = c.reused
            start = time.monotonic()
            try:
                c.conn.request("POST", self._path, body=body, headers=self._headers)
                resp = c.conn.getresponse()
                data = self._read(resp, c, what, start)
            except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                    http.client.RemoteDisconnected, http.client.IncompleteRead) as exc:
                c.close()
                if reused and not fresh:
                    continue  # the node closed an idle keep-alive connection: once more on a new one
                raise _Transient(f"connection lost ({type(exc).__name__})") from exc
            except TimeoutError as exc:
                c.close()
                raise self.error(what, f"no answer within {self.timeout:g} s") from exc
            except ConnectionRefusedError as exc:
                c.close()
                raise self.error(what, "connection refused (is the node running?)") from exc
            except http.client.HTTPException as exc:
                c.close()
                raise self.error(what, f"bad HTTP answer ({type(exc).__name__})") from exc
            except OSError as exc:
                c.close()
                raise self.error(what, f"cannot connect: {exc.strerror or exc}") from exc
            except BaseException:
                c.close()
                raise
            c.reused = True
            if resp.will_close:
                c.close()
            return self._status(resp, data, what)
        raise AssertionError("unreachable")

    def _read(self, resp: http.client.HTTPResponse, c: _Conn, what: str, start: float) -> bytes:
        """The answer's body, refused past ``max_response_bytes`` or the time limit without reading it all."""
        limit = self.max_response_bytes
        length = resp.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            c.close()
            raise self.error(what, f"answer of {int(length)} bytes is over the limit of {limit} bytes")
        parts = []
        total = 0
        while True:
            chunk = resp.read(4 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                c.close()
                raise self.error(what, f"answer is over the limit of {limit} bytes")
            if time.monotonic() - start > self.timeout:
                c.close()
                raise self.error(what, f"no complete answer within {self.timeout:g} s")
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _status(self, resp: http.client.HTTPResponse, data: bytes, what: str) -> tuple[int, bytes]:
        status = resp.status
        if status == 200:
            return status, data
        reason = f"HTTP {status} {resp.reason}".strip()
        if status == 429:
            reason = f"rate limited ({reason})"
        if status in _RETRY_STATUS:
            wait = resp.getheader("Retry-After")
            raise _Transient(reason, min(30.0, float(wait)) if wait and wait.isdigit() else None)
        if status in _MISSING_STATUS:
            raise self.error(what, f"{reason}: the node does not serve this", RpcMethodMissing)
        if data[:1] in (b"{", b"["):
            return status, data  # a JSON-RPC error object sent with an HTTP error status
        raise self.error(what, f"{reason}: {one_line(data[:200].decode('utf-8', 'replace'), 120)}")

    def _answers(self, posted: tuple[int, bytes], calls: Sequence[tuple[str, list]], what: str) -> list[Any]:
        """Decode the answer into one result or ``RpcError`` per call, in order."""
        status, data = posted
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            note = f"HTTP {status}, " if status != 200 else ""
            raise self.error(what, f"malformed answer ({note}not JSON: {exc})") from exc
        n = len(calls)
        if isinstance(doc, dict) and n > 1 and "error" in doc:
            raise self._node_error(what, doc["error"])  # the whole batch was refused
        if n == 1:
            items = [doc]
        elif not isinstance(doc, list):
            raise self.error(what, f"malformed answer (a batch answer must be a list, not {type(doc).__name__})")
        else:
            by_id = {item.get("id"): item for item in doc if isinstance(item, dict)}
            missing = [i for i in range(n) if i not in by_id]
            if missing:
                first = describe_call(*calls[missing[0]])
                raise self.error(what, f"malformed answer (the batch answer lacks {len(missing)} of {n} ids; "
                                        f"first missing: {first})")
            items = [by_id[i] for i in range(n)]
        out: list[Any] = []
        for (method, params), item in zip(calls, items):
            if not isinstance(item, dict):
                raise self.error(describe_call(method, params), f"malformed answer ({one_line(repr(item), 60)})")
            err = item.get("error")
            if err is not None:
                out.append(self._node_error(describe_call(method, params), err))
            elif "result" in item:
                out.append(item["result"])
            else:
                raise self.error(describe_call(method, params), "malformed answer (neither result nor error)")
        return out

    def _node_error(self, what: str, err: object) -> RpcError:
        """A JSON-RPC error object as an exception; a rate limit raises ``_Transient`` to retry the request."""
        code = err.get("code") if isinstance(err, dict) else None
        message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        data = err.get("data") if isinstance(err, dict) else None
        text = one_line(message, 160)
        if code in _RATE_CODES or _RATE_TEXT.search(message):
            raise _Transient(f"rate limited ({code}: {text})")
        if code in _MISSING_CODES or _MISSING_TEXT.search(message):
            return RpcMethodMissing(f"{what}: the node does not serve this method ({code}: {text}) ({self.url})",
                                    code=code if isinstance(code, int) else None, data=data)
        return RpcError(f"{what}: node error {code}: {text} ({self.url})",
                        code=code if isinstance(code, int) else None, data=data)
