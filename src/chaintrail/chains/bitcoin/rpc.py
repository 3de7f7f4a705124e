"""Bitcoin Core JSON-RPC client: one persistent HTTP connection, batches, strict answers."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from chaintrail.chains.bitcoin.network import MAINNET, REGTEST, SIGNET, TESTNET, TESTNET4, Network
from chaintrail.chains.urls import public_url
from chaintrail.errors import SourceError

__all__ = ["RpcClient", "RpcError", "default_cookie_file"]

log = logging.getLogger(__name__)

# Core's default RPC port per network and the datadir subfolder that holds its .cookie.
_PORT_SUBDIR = {8332: "", 18332: "testnet3", 48332: "testnet4", 38332: "signet", 18443: "regtest"}
# getblockchaininfo's "chain" field -> our network parameters.
_CHAIN_NETWORKS = {"main": MAINNET, "test": TESTNET, "testnet4": TESTNET4,
                   "signet": SIGNET, "regtest": REGTEST}


class RpcError(SourceError):
    """The node answered a JSON-RPC error object; keeps Core's numeric ``code``."""

    def __init__(self, message: str, *, code: int | None, method: str, url: str):
        self.code = code
        self.method = method
        self.url = url
        super().__init__(message)


def default_cookie_file(port: int | None = None, home: Path | None = None) -> Path | None:
    """The existing Core cookie under ~/.bitcoin, preferring the network that owns ``port``."""
    datadir = (home if home is not None else Path.home()) / ".bitcoin"
    subdirs = list(dict.fromkeys(_PORT_SUBDIR.values()))
    if port in _PORT_SUBDIR:  # a default port names its network; look there first
        subdirs.remove(_PORT_SUBDIR[port])
        subdirs.insert(0, _PORT_SUBDIR[port])
    for sub in subdirs:
        candidate = datadir / sub / ".cookie" if sub else datadir / ".cookie"
        if candidate.is_file():
            return candidate
    return None


def _one_line(text: str, limit: int = 200) -> str:
    """Collapse a node message (Core's help texts span lines) into one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _read_cookie(path: Path, url: str) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SourceError(f"RPC to {url}: cannot read cookie file {path}: {exc.strerror or exc}") from exc
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise SourceError(f"RPC to {url}: cookie file {path} is not 'user:password'")
    return user, password


def _hash_from_hex(value: Any, what: str, url: str) -> bytes:
    """A 64-hex-digit display hash -> 32 bytes in internal (little-endian) order."""
    if isinstance(value, str) and len(value) == 64:
        try:
            return bytes.fromhex(value)[::-1]
        except ValueError:
            pass
    raise SourceError(f"RPC {what} to {url}: answer is not a 64-digit hex hash: {_one_line(repr(value), 80)}")


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


class RpcClient:
    """Blocking JSON-RPC client for Bitcoin Core over one keep-alive connection; not thread-safe."""

    def __init__(self, host: str, port: int, *, path: str = "/", https: bool = False,
                 user: str | None = None, password: str | None = None,
                 cookie_file: str | Path | None = None, timeout: float = 30.0):
        self._host = host
        self._port = port
        self._path = path or "/"  # may carry a query (?apikey=): sent as is, never shown
        self._https = https
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._public_url = public_url(f"{'https' if https else 'http'}://{netloc}{self._path}")
        self._timeout = timeout
        self._cookie_file = Path(cookie_file) if cookie_file is not None else None
        self._user = user
        self._password = password
        if self._cookie_file is not None and user is None:
            self._user, self._password = _read_cookie(self._cookie_file, self.url)
        self._conn: http.client.HTTPConnection | None = None
        self._reused = False  # the open connection has served a request already
        self._next_id = 0

    @classmethod
    def from_url(cls, url: str, cookie_file: str | None = None, user: str | None = None,
                 password: str | None = None, timeout: float = 30) -> RpcClient:
        """Client for ``http://[user:pass@]host[:port][/path]``; credentials: explicit > URL > cookie."""
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"RPC URL {parts.scheme}://{parts.hostname or ''}: expected http://host:port")
        try:
            port = parts.port or 8332
        except ValueError as exc:
            raise SourceError(f"RPC URL {parts.scheme}://{parts.hostname}: bad port") from exc
        if user is None and parts.username is not None:
            user = unquote(parts.username)
            if password is None and parts.password is not None:
                password = unquote(parts.password)
        cookie: Path | None = Path(cookie_file).expanduser() if cookie_file else None
        if user is None and cookie is None:
            cookie = default_cookie_file(port)
            if cookie is not None:
                log.info("using RPC cookie %s", cookie)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, port, path=path, https=parts.scheme == "https",
                   user=user, password=password, cookie_file=cookie if user is None else None,
                   timeout=timeout)

    @property
    def url(self) -> str:
        """The node's URL for messages: no credentials, query or provider key (``chains.urls.public_url``)."""
        return self._public_url

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._reused = False

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._user is not None:
            token = f"{self._user}:{self._password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        return headers

    def _fail(self, what: str, reason: str) -> SourceError:
        return SourceError(f"RPC {what} to {self.url}: {reason}")

    def _post(self, body: bytes, what: str) -> Any:
        """POST one JSON body and return the decoded JSON answer, reconnecting once if stale."""
        cookie_retried = False
        attempt = 0
        while True:
            attempt += 1
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self._host, self._port, timeout=self._timeout)
                self._reused = False
            reused = self._reused
            try:
                self._conn.request("POST", self._path, body=body, headers=self._headers())
                resp = self._conn.getresponse()
                data = resp.read()
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
                self.close()
                if reused and attempt == 1:  # the node closed an idle keep-alive connection
                    continue
                raise self._fail(what, f"connection lost ({exc.__class__.__name__})") from exc
            except TimeoutError as exc:
                self.close()
                raise self._fail(what, f"no answer within {self._timeout:g} s") from exc
            except ConnectionRefusedError as exc:
                self.close()
                raise self._fail(what, "connection refused (is the node running with server=1?)") from exc
            except OSError as exc:
                self.close()
                raise self._fail(what, f"cannot connect: {exc.strerror or exc}") from exc
            except http.client.HTTPException as exc:
                self.close()
                raise self._fail(what, f"bad HTTP answer ({exc.__class__.__name__})") from exc
            self._reused = True
            if resp.will_close:
                self.close()
            if resp.status == 401:
                # Core rewrites its cookie on every restart: re-read it once.
                if self._cookie_file is not None and not cookie_retried:
                    cookie_retried = True
                    fresh = _read_cookie(self._cookie_file, self.url)
                    if fresh != (self._user, self._password):
                        self._user, self._password = fresh
                        continue
                raise self._fail(what, "authentication failed (HTTP 401)" + self._auth_hint())
            if resp.status == 403:
                raise self._fail(what, "forbidden (HTTP 403); check the node's rpcallowip")
            try:
                return json.loads(data)
            except ValueError:
                snippet = _one_line(data[:80].decode("utf-8", "replace"), 80) or "empty body"
                raise self._fail(what, f"non-JSON answer (HTTP {resp.status}): {snippet}") from None

    def _auth_hint(self) -> str:
        if self._cookie_file is not None:
            return f" with cookie {self._cookie_file}"
        if self._user is None:
            return "; no user/password given and no cookie found under ~/.bitcoin"
        return "; check the user and password"  # neither is named: a provider's user may be its key

    def _unwrap(self, reply: Any, method: str) -> Any:
        """The ``result`` of one JSON-RPC reply object, or an RpcError carrying the node's message."""
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise self._fail(method, f"not a JSON-RPC reply: {_one_line(repr(reply), 80)}")
        err = reply.get("error")
        if err is not None:
            code = err.get("code") if isinstance(err, dict) else None
            text = err.get("message", "") if isinstance(err, dict) else str(err)
            raise RpcError(f"RPC {method} to {self.url}: node error {code}: {_one_line(str(text))}",
                           code=code if isinstance(code, int) else None, method=method, url=self.url)
        return reply.get("result")

    # -- JSON-RPC ----------------------------------------------------------------------------

    def call(self, method: str, *params: Any) -> Any:
        """Call one RPC method and return its result."""
        self._next_id += 1
        body = json.dumps({"jsonrpc": "1.0", "id": self._next_id, "method": method,
                           "params": list(params)}).encode()
        return self._unwrap(self._post(body, method), method)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send many calls in one JSON-RPC batch; results come back in the order asked."""
        if not calls:
            return []
        first = self._next_id + 1
        self._next_id += len(calls)
        body = json.dumps([{"jsonrpc": "1.0", "id": first + i, "method": m, "params": list(p)}
                           for i, (m, p) in enumerate(calls)]).encode()
        what = f"batch of {len(calls)} {calls[0][0]}"
        replies = self._post(body, what)
        if not isinstance(replies, list):
            # Core answers a batch it cannot parse with a single error object.
            if isinstance(replies, dict) and replies.get("error") is not None:
                self._unwrap(replies, what)
            raise self._fail(what, f"expected a JSON array, got {type(replies).__name__}")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        results = []
        for i, (method, _params) in enumerate(calls):
            reply = by_id.get(first + i)
            if reply is None:
                raise self._fail(what, f"reply to call {i} ({method}) missing from the batch")
            results.append(self._unwrap(reply, method))
        return results

    # -- typed helpers -----------------------------------------------------------------------

    def getblockchaininfo(self) -> dict[str, Any]:
        """The node's chain summary (chain, blocks, headers, bestblockhash, ...)."""
        info = self.call("getblockchaininfo")
        if not isinstance(info, dict) or not isinstance(info.get("blocks"), int):
            raise self._fail("getblockchaininfo", "answer lacks an integer 'blocks'")
        _hash_from_hex(info.get("bestblockhash"), "getblockchaininfo", self.url)
        return info

    def network(self) -> Network:
        """The network the node runs, from getblockchaininfo's ``chain``."""
        chain = self.getblockchaininfo().get("chain")
        try:
            return _CHAIN_NETWORKS[chain]
        except KeyError:
            raise self._fail("getblockchaininfo", f"unknown chain {chain!r}") from None

    def getblockhash(self, height: int) -> bytes:
        """Hash of the active-chain block at ``height``, in internal byte order."""
        return _hash_from_hex(self.call("getblockhash", height), "getblockhash", self.url)

    def getblockhashes(self, heights: Sequence[int]) -> list[bytes]:
        """Hashes (internal order) of the active-chain blocks at ``heights``, in one batch."""
        answers = self.batch([("getblockhash", (h,)) for h in heights])
        return [_hash_from_hex(a, "getblockhash", self.url) for a in answers]

    def getblock_raw(self, block_hash: bytes) -> bytes:
        """The serialized block with ``block_hash`` (internal order), checked against its header."""
        return self._check_block(block_hash, self.call("getblock", block_hash[::-1].hex(), 0))

    def getblocks_raw(self, hashes: Sequence[bytes]) -> list[bytes]:
        """Serialized blocks for ``hashes`` (internal order), fetched in one batch."""
        answers = self.batch([("getblock", (h[::-1].hex(), 0)) for h in hashes])
        return [self._check_block(h, a) for h, a in zip(hashes, answers)]

    def _check_block(self, block_hash: bytes, answer: Any) -> bytes:
        # A block that does not hash to what we asked for would poison the store silently.
        what = "getblock"
        if not isinstance(answer, str):
            raise self._fail(what, f"expected a hex string, got {type(answer).__name__}")
        try:
            raw = bytes.fromhex(answer)
        except ValueError:
            raise self._fail(what, f"block {block_hash[::-1].hex()} is not valid hex") from None
        if len(raw) < 80 or _sha256d(raw[:80]) != block_hash:
            raise self._fail(what, f"block data does not hash to {block_hash[::-1].hex()}")
        return raw
