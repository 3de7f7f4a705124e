"""A small Bitcoin Core look-alike JSON-RPC server for tests, plus real and forked block material.

``FakeNode`` serves getblockchaininfo / getblockhash / getblock (verbosity 0) over HTTP/1.1
with Basic auth, answers errors in Core's shape and status codes, and can switch its best
chain at any time (``set_chain``) to play out reorganisations. Like Core, it keeps serving
blocks of chains it has left when asked for them by hash.

``mainnet_blocks()`` gives the real mainnet blocks 0-599 in height order; ``alt_branch()``
derives a competing branch from them (coinbase tweaked, merkle root recomputed, prev-hash
links rewired; proof of work is not redone).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CORE_BLOCKS_0_599 = DATA / "btc" / "mainnet" / "core-blocks-0-599"
MAINNET_MAGIC = bytes.fromhex("f9beb4d9")
ZERO_HASH = bytes(32)


# -- block material ---------------------------------------------------------------------------

def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def block_hash(raw: bytes) -> bytes:
    """Block hash in internal byte order."""
    return sha256d(raw[:80])


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    first = raw[pos]
    if first < 0xFD:
        return first, pos + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(raw[pos + 1:pos + 1 + size], "little"), pos + 1 + size


def _encode_varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def _parse_tx(raw: bytes, pos: int) -> tuple[int, bytes]:
    """(end offset, txid) of the transaction starting at ``pos``; handles segwit."""
    start = pos
    pos += 4
    segwit = raw[pos] == 0 and raw[pos + 1] != 0
    if segwit:
        pos += 2
    body = pos
    n_in, pos = _varint(raw, pos)
    for _ in range(n_in):
        length, pos = _varint(raw, pos + 36)
        pos += length + 4
    n_out, pos = _varint(raw, pos)
    for _ in range(n_out):
        length, pos = _varint(raw, pos + 8)
        pos += length
    body_end = pos
    if segwit:
        for _ in range(n_in):
            items, pos = _varint(raw, pos)
            for _ in range(items):
                length, pos = _varint(raw, pos)
                pos += length
    txid = sha256d(raw[start:start + 4] + raw[body:body_end] + raw[pos:pos + 4])
    return pos + 4, txid


def txids(raw: bytes) -> list[bytes]:
    """Txids (internal order) of every transaction in a block; asserts nothing trails."""
    count, pos = _varint(raw, 80)
    out = []
    for _ in range(count):
        pos, txid = _parse_tx(raw, pos)
        out.append(txid)
    assert pos == len(raw), "trailing bytes after the last transaction"
    return out


def merkle_root(hashes: Sequence[bytes]) -> bytes:
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@functools.lru_cache(maxsize=1)
def mainnet_blocks() -> tuple[bytes, ...]:
    """Real mainnet blocks 0-599 in height order, read from Core's blk files."""
    by_prev: dict[bytes, bytes] = {}
    for name in ("blk00000.dat", "blk00001.dat"):
        data = (CORE_BLOCKS_0_599 / name).read_bytes()
        pos = 0
        while pos < len(data) and data[pos:pos + 4] != bytes(4):  # Core pads files with zeros
            assert data[pos:pos + 4] == MAINNET_MAGIC, f"{name}: bad magic at {pos}"
            size = int.from_bytes(data[pos + 4:pos + 8], "little")
            block = data[pos + 8:pos + 8 + size]
            by_prev[block[4:36]] = block
            pos += 8 + size
    chain = []
    prev = ZERO_HASH
    while prev in by_prev:  # files need not be in height order: follow the links
        block = by_prev.pop(prev)
        chain.append(block)
        prev = block_hash(block)
    return tuple(chain)


def retag_block(raw: bytes, prev: bytes, tag: int) -> bytes:
    """Copy of ``raw`` with ``tag`` appended to the coinbase scriptSig and a new prev hash."""
    count, tx0 = _varint(raw, 80)
    pos = tx0 + 4
    segwit = raw[pos] == 0 and raw[pos + 1] != 0
    if segwit:
        pos += 2
    _n_in, pos = _varint(raw, pos)
    len_at = pos + 36
    length, script_at = _varint(raw, len_at)
    script = raw[script_at:script_at + length] + bytes([tag])
    body = raw[80:len_at] + _encode_varint(len(script)) + script + raw[script_at + length:]
    fresh = raw[:4] + prev + bytes(32) + raw[68:80] + body
    root = merkle_root(txids(fresh))
    return fresh[:36] + root + fresh[68:]


def alt_branch(real: Sequence[bytes], fork_height: int, length: int, tag: int = 1) -> list[bytes]:
    """Blocks for heights fork_height+1 .. fork_height+length forking off ``real[fork_height]``."""
    assert fork_height + length < len(real), "not enough real blocks to derive the branch from"
    prev = block_hash(real[fork_height]) if fork_height >= 0 else ZERO_HASH
    out = []
    for h in range(fork_height + 1, fork_height + length + 1):
        block = retag_block(real[h], prev, tag)
        out.append(block)
        prev = block_hash(block)
    return out


# -- the server -------------------------------------------------------------------------------

class _RpcFailure(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class FakeNode:
    """Threaded JSON-RPC server on 127.0.0.1 that answers like Bitcoin Core for block reads."""

    def __init__(self, user: str = "chaintrail", password: str = "s3cret-pw",
                 blocks: Sequence[bytes] | None = None, network_name: str = "main"):
        self.user = user
        self.password = password
        self._tmp = tempfile.TemporaryDirectory(prefix="fakenode-")
        self.cookie_file = Path(self._tmp.name) / ".cookie"
        self.rotate_cookie()
        self._lock = threading.Lock()
        self._chain: list[bytes] = []            # active chain hashes, index = height
        self._known: dict[bytes, bytes] = {}     # every block ever served, by hash
        self.network_name = network_name
        self.headers_ahead = 0                   # extra "headers" to look like a syncing node
        self.calls: Counter[str] = Counter()     # RPC methods served
        self.http_requests = 0                   # POSTs answered (batches count once)
        self.last_path = ""                      # request target of the latest POST (path and query)
        self.connections = 0                     # TCP connections accepted
        self.before_call: Callable[[str, list[Any]], None] | None = None
        self.canned: tuple[int, bytes] | None = None  # force every answer (status, body)
        self._open: set[socket.socket] = set()
        if blocks is not None:
            self.set_chain(blocks, network_name)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        # A short poll interval keeps close() (server.shutdown) fast.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        name="fakenode", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def auth_url(self) -> str:
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}/"

    def rotate_cookie(self) -> str:
        """Write a fresh cookie (as Core does on restart) and return its password."""
        self.cookie_password = secrets.token_hex(32)
        self.cookie_file.write_text(f"__cookie__:{self.cookie_password}")
        return self.cookie_password

    def set_chain(self, raw_blocks: Sequence[bytes], network_name: str = "main") -> None:
        """Serve ``raw_blocks`` as the best chain (height = index)."""
        if not raw_blocks:
            raise ValueError("a node always has at least the genesis block")
        hashes = [block_hash(b) for b in raw_blocks]
        with self._lock:
            for h, raw in zip(hashes, raw_blocks):
                self._known[h] = bytes(raw)
            self._chain = hashes
            self.network_name = network_name

    def drop_connections(self) -> None:
        """Close every open client connection from the server side (idle timeout)."""
        with self._lock:
            socks = list(self._open)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._server.shutdown()
        self.drop_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._tmp.cleanup()

    def __enter__(self) -> FakeNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request handling ----------------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) in ((self.user, self.password), ("__cookie__", self.cookie_password))

    def _answer(self, request: Any) -> dict[str, Any]:
        rid = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise _RpcFailure(-32600, "Invalid Request object")
            params = request.get("params") or []
            if not isinstance(params, list):
                raise _RpcFailure(-32600, "Params must be an array")
            if self.before_call is not None:
                self.before_call(request["method"], params)
            result = self._dispatch(request["method"], params)
            return {"result": result, "error": None, "id": rid}
        except _RpcFailure as exc:
            return {"result": None, "error": {"code": exc.code, "message": exc.message}, "id": rid}

    def _dispatch(self, method: str, params: list[Any]) -> Any:
        with self._lock:
            self.calls[method] += 1
            chain = self._chain
            if method == "getblockchaininfo":
                _arity(params, 0, 0, "getblockchaininfo")
                return {"chain": self.network_name, "blocks": len(chain) - 1,
                        "headers": len(chain) - 1 + self.headers_ahead,
                        "bestblockhash": chain[-1][::-1].hex(), "difficulty": 1.0,
                        "verificationprogress": 1.0, "initialblockdownload": False,
                        "pruned": False, "warnings": ""}
            if method == "getblockhash":
                _arity(params, 1, 1, "getblockhash height")
                height = params[0]
                if not isinstance(height, int) or isinstance(height, bool):
                    raise _RpcFailure(-3, "JSON value of type string is not of expected type number")
                if not 0 <= height < len(chain):
                    raise _RpcFailure(-8, "Block height out of range")
                return chain[height][::-1].hex()
            if method == "getblock":
                _arity(params, 1, 2, "getblock \"blockhash\" ( verbosity )")
                key = _parse_hash(params[0])
                verbosity = params[1] if len(params) > 1 else 1
                if verbosity is False:  # Core still accepts the old boolean "verbose"
                    verbosity = 0
                if verbosity != 0:
                    raise _RpcFailure(-8, f"FakeNode serves verbosity 0 only, not {verbosity!r}")
                raw = self._known.get(key)
                if raw is None:
                    raise _RpcFailure(-5, "Block not found")
                return raw.hex()
        raise _RpcFailure(-32601, "Method not found")


def _arity(params: list[Any], low: int, high: int, usage: str) -> None:
    if not low <= len(params) <= high:
        raise _RpcFailure(-1, f"{usage}\n\nArguments: see help")


def _parse_hash(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _RpcFailure(-3, "JSON value is not of expected type string")
    if len(value) != 64:
        raise _RpcFailure(-8, f"blockhash must be of length 64 (not {len(value)}, for '{value}')")
    try:
        return bytes.fromhex(value)[::-1]
    except ValueError:
        raise _RpcFailure(-8, f"blockhash must be hexadecimal string (not '{value}')") from None


def _make_handler(node: FakeNode) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keep-alive, as Core's libevent server
        timeout = 10                    # idle keep-alive connections end eventually

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without this, Nagle + delayed ACK add 40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with node._lock:
                node.connections += 1
                node._open.add(self.connection)

        def finish(self) -> None:
            with node._lock:
                node._open.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(405, b"JSONRPC server handles only POST requests")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with node._lock:
                node.http_requests += 1
                node.last_path = self.path
            if not node._authorized(self.headers.get("Authorization")):
                self._send(401, b"", {"WWW-Authenticate": 'Basic realm="jsonrpc"'})
                return
            if node.canned is not None:
                self._send(*node.canned)
                return
            try:
                request = json.loads(body)
            except ValueError:
                err = {"result": None, "error": {"code": -32700, "message": "Parse error"}, "id": None}
                self._send(500, json.dumps(err).encode())
                return
            if isinstance(request, list):
                reply: Any = [node._answer(r) for r in request]
                status = 200
            else:
                reply = node._answer(request)
                code = reply["error"]["code"] if reply["error"] else None
                # Core's legacy (JSON-RPC 1.0) status codes for a single failed call.
                status = {None: 200, -32600: 400, -32601: 404}.get(code, 500)
            self._send(status, (json.dumps(reply) + "\n").encode())

    return Handler
