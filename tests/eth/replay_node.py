"""A JSON-RPC node on a loopback port that replays ethereum-etl's recorded mainnet answers (test helper).

ethereum-etl records each answer in ``web3_response.<method>_<params>.json`` (its MockWeb3Provider's naming: the
params joined by "_", a dict as its sorted ``key_value`` pairs, values lower-cased). ``ReplayNode`` serves those
files over real HTTP, one JSON object or a batch per POST, as a node would:

- a method with no file at all answers -32601 (method not found), so eth_getBlockReceipts is missing here;
- a block, receipt, transaction or trace_block it has no file for answers null, debug_traceBlockByNumber an
  error, like geth; other recorded methods (eth_call, eth_getCode) answer an error for unrecorded params, after
  trying the same call at "latest" (ethereum-etl recorded them there);
- eth_chainId answers ``chain_id`` (1: mainnet); eth_blockNumber and the "latest" block are the highest block
  recorded (the recorded ``latest`` files are ignored: they name a head that was never recorded in full);
- eth_getBlockByNumber(n, false) is derived from the full block when only that was recorded.

Switches to misbehave (from the first request naming ``quiet_until`` on, when that is set), each counted down
per HTTP request: ``malformed_next`` (truncated JSON),
``http_429_next`` (HTTP 429, with ``Retry-After: retry_after``), ``rpc_429_next`` (-32005 on every item),
``reset_next`` (connection closed without an answer), ``drop_id_next`` (a batch answer missing its last id);
and ``delay`` (seconds before every answer) and ``huge_bytes`` (pad every answer past that size; sent chunked,
with no Content-Length, unless ``huge_chunked`` is False). ``requests`` records the methods asked, in order.

Run ``python tests/eth/replay_node.py FOLDER...`` to serve folders on a port it prints.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

FIXTURES = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "eth" / "ethereum-etl-fixtures"
            / "tests" / "resources").resolve()
_PREFIX, _SUFFIX = "web3_response.", ".json"
_NULL_WHEN_UNKNOWN = {"eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionReceipt",
                      "eth_getTransactionByHash", "trace_block"}
_DERIVED = {"eth_chainId", "eth_blockNumber", "net_version", "web3_clientVersion", "eth_getBlockByNumber",
            "eth_getBlockByHash", "eth_getTransactionByHash"}


def _param(value: Any) -> str:
    if isinstance(value, dict):
        return "_".join(f"{k}_{_param(value[k])}" for k in sorted(value))
    if isinstance(value, list):
        return "_".join(_param(v) for v in value)
    return str(value).lower()


def file_key(method: str, params: list) -> str:
    """ethereum-etl's recorded-answer name for a call, without prefix and suffix."""
    return f"{method}_{'_'.join(_param(p) for p in params)}"


def fixture(*names: str) -> Path:
    """A folder under ethereum-etl's tests/resources, e.g. ``fixture("test_stream", "blocks_508110_508110")``."""
    return FIXTURES.joinpath(*names)


class _Reply(Exception):
    def __init__(self, code: int, message: str):
        self.code, self.message = code, message


class ReplayNode:
    """Serves recorded answers from ``folders`` on http://127.0.0.1:<free port>; a context manager."""

    def __init__(self, folders: Iterable[Path | str], *, chain_id: int = 1):
        self.chain_id = chain_id
        self.answers: dict[str, dict] = {}      # file key -> the recorded JSON-RPC answer object
        self.blocks: dict[int, dict] = {}       # number -> the fullest recorded block
        self.full: set[int] = set()             # blocks recorded with full transactions
        for folder in folders:
            self._load(Path(folder))
        self.by_hash = {b["hash"]: n for n, b in self.blocks.items()}
        self.txs = {tx["hash"]: tx for n in self.full for tx in self.blocks[n]["transactions"]}
        self.methods = {k[: i] for k in self.answers for i, ch in enumerate(k) if ch == "_"} | _DERIVED
        self.requests: list[str] = []
        self.malformed_next = self.http_429_next = self.rpc_429_next = self.reset_next = self.drop_id_next = 0
        self.retry_after: str | None = "0"
        self.delay = 0.0
        self.huge_bytes = 0
        self.huge_chunked = True
        self.quiet_until: str | None = None     # misbehave only from the first request naming this method on
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def _load(self, folder: Path) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"fixture folder not found: {folder}")
        for path in sorted(folder.glob(f"{_PREFIX}*{_SUFFIX}")):
            key = path.name[len(_PREFIX): -len(_SUFFIX)]
            if key.startswith("eth_getBlockByNumber_latest") or key == "eth_chainId_":
                continue
            doc = orjson.loads(path.read_bytes())
            self.answers[key] = doc
            block = doc.get("result")
            if key.startswith("eth_getBlockByNumber_") and isinstance(block, dict):
                n = int(block["number"], 16)
                full = key.endswith("_true")
                if full or n not in self.full:
                    self.blocks[n] = block
                if full:
                    self.full.add(n)

    # -- answers ---------------------------------------------------------------------------------

    def head(self) -> int:
        return max(self.blocks) if self.blocks else 0

    def _block(self, n: int | None, full: bool) -> dict | None:
        if n is None or n not in self.blocks:
            return None
        block = self.blocks[n]
        if full and n not in self.full and block["transactions"]:
            return None  # only its header form was recorded
        if not full and n in self.full:
            return {**block, "transactions": [tx["hash"] for tx in block["transactions"]]}
        return block

    def result(self, method: str, params: list) -> Any:
        """What the node answers for one call; raises ``_Reply`` for a JSON-RPC error."""
        if method not in self.methods:
            raise _Reply(-32601, "Method not found")
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "net_version":
            return str(self.chain_id)
        if method == "web3_clientVersion":
            return "chaintrail-replay/1"
        if method == "eth_blockNumber":
            return hex(self.head())
        if method == "eth_getBlockByNumber":
            tag = params[0]
            n = self.head() if tag == "latest" else int(tag, 16) if tag.startswith("0x") else None
            return self._block(n, bool(params[1]))
        if method == "eth_getBlockByHash":
            return self._block(self.by_hash.get(params[0]), bool(params[1]))
        if method == "eth_getTransactionByHash":
            return self.txs.get(params[0])
        doc = self.answers.get(file_key(method, params))
        if doc is None and params and isinstance(params[-1], str) and params[-1] != "latest":
            doc = self.answers.get(file_key(method, [*params[:-1], "latest"]))
        if doc is None:
            if method in _NULL_WHEN_UNKNOWN:
                return None
            if method == "debug_traceBlockByNumber":
                raise _Reply(-32000, f"block #{int(params[0], 16)} not found")
            raise _Reply(-32000, f"replay: no recorded answer for {method} {params}")
        if doc.get("error") is not None:
            raise _Reply(doc["error"].get("code", -32000), doc["error"].get("message", ""))
        return doc.get("result")

    def answer(self, request: Any) -> Any:
        """The JSON-RPC answer object (or list, for a batch) to one decoded request."""
        if isinstance(request, list):
            if not request:
                return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}}
            return [self.answer(r) for r in request]
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        rid, method, params = request.get("id"), request["method"], request.get("params") or []
        with self._lock:
            self.requests.append(method)
        try:
            return {"jsonrpc": "2.0", "id": rid, "result": self.result(method, params)}
        except _Reply as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": exc.message}}

    def take(self, switch: str) -> bool:
        """Use up one count of a misbehaviour switch; True when it applies to this request."""
        with self._lock:
            left = getattr(self, switch)
            if left > 0:
                setattr(self, switch, left - 1)
                return True
        return False

    # -- lifetime --------------------------------------------------------------------------------

    def start(self) -> ReplayNode:
        node = self

        class Handler(_Handler):
            replay = node

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="replay-node", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ReplayNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real nodes
    replay: ReplayNode

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        node = self.replay
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if node.quiet_until and node.quiet_until.encode() in body:
            node.quiet_until = None
        if node.quiet_until:                            # not armed yet: answer as a good node would
            return self._send(200, orjson.dumps(node.answer(orjson.loads(body))))
        if node.delay:
            time.sleep(node.delay)
        if node.take("reset_next"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        if node.take("http_429_next"):
            with node._lock:
                node.requests.append("HTTP 429")
            extra = {"Retry-After": node.retry_after} if node.retry_after is not None else {}
            return self._send(429, b'{"message":"Too Many Requests"}', extra)
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self._send(200, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}')
        answer = node.answer(request)
        if node.take("rpc_429_next"):
            items = answer if isinstance(answer, list) else [answer]
            for item in items:
                item.pop("result", None)
                item["error"] = {"code": -32005, "message": "daily request count exceeded, request rate limited"}
        if isinstance(answer, list) and len(answer) > 1 and node.take("drop_id_next"):
            answer = answer[:-1]
        data = orjson.dumps(answer)
        if node.take("malformed_next"):
            data = data[: len(data) // 2]
        if node.huge_bytes:
            data = data[:-1] + b" " * node.huge_bytes + data[-1:]
            if node.huge_chunked:
                return self._send_chunked(data)
            try:
                return self._send(200, data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return
        self._send(200, data)

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_chunked(self, data: bytes, size: int = 1 << 20) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(0, len(data), size):
                part = data[i:i + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading, as it should past its limit


if __name__ == "__main__":
    with ReplayNode(sys.argv[1:]) as served:
        print(served.url, flush=True)
        threading.Event().wait()
