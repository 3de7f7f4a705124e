"""Ethereum JSON-RPC client: batched and concurrent, with capability fallbacks and one-line errors.

Calls are split into JSON-RPC batches of ``batch_size`` and sent by a small thread pool, each worker on its
own keep-alive connection (``rpc_transport``); answers come back in request order. What a node lacks is found
out once and remembered: ``eth_getBlockReceipts`` falls back to ``eth_getTransactionReceipt`` per transaction,
and ``trace_block`` to ``debug_traceBlockByNumber`` with geth's ``callTracer``, then to no traces at all.

Every failure is a ``SourceError`` (``RpcMethodMissing`` for a method the node does not serve) whose one line
names the method, what was asked and the node's URL without its credentials.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from chaintrail.chains.ethereum.rpc_describe import describe_call, one_line
from chaintrail.chains.ethereum.rpc_transport import HttpJsonRpc, RpcError, RpcMethodMissing
from chaintrail.chains.urls import public_url
from chaintrail.errors import SourceError

__all__ = ["EthRpc", "RpcError", "RpcMethodMissing", "public_url"]

log = logging.getLogger(__name__)

_CALLTRACER = {"tracer": "callTracer"}
_UNKNOWN = object()


def _block_tag(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


class EthRpc:
    """Batched, concurrent JSON-RPC client for an Ethereum node; safe to share between threads."""

    def __init__(self, url: str, *, timeout: float = 60.0, batch_size: int = 50, workers: int = 4,
                 max_response_bytes: int = 256 << 20, retries: int = 4):
        self.timeout = timeout
        self.batch_size = max(1, batch_size)
        self.workers = max(1, workers)
        self.max_response_bytes = max_response_bytes
        self.retries = max(0, retries)
        self._wire = HttpJsonRpc(url, timeout=timeout, max_response_bytes=max_response_bytes, retries=retries)
        self.url = self._wire.url
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._block_receipts: object = _UNKNOWN      # True / False once known
        self._trace_flavour: object = _UNKNOWN       # "parity" / "geth" / None once known

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the workers and close every connection; the client can be used again afterwards."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._wire.close()

    def __enter__(self) -> EthRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic calls ---------------------------------------------------------------------------

    def call(self, method: str, params: list) -> Any:
        """One request; a JSON-RPC error is raised as ``RpcError`` / ``RpcMethodMissing``."""
        (answer,) = self._wire.send([(method, params)])
        if isinstance(answer, RpcError):
            raise answer
        return answer

    def batch(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        """Many requests, answers in order; the first JSON-RPC error among them is raised."""
        answers = self._batch(calls)
        for answer in answers:
            if isinstance(answer, RpcError):
                raise answer
        return answers

    def _batch(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        """Answers in order, a JSON-RPC error left in place as an ``RpcError``; transport failures raise."""
        if not calls:
            return []
        size = self.batch_size
        chunks = [calls[i:i + size] for i in range(0, len(calls), size)]
        if len(chunks) == 1:
            return self._wire.send(chunks[0])
        pool = self._executor()
        futures: list[Future[list[Any]]] = [pool.submit(self._wire.send, chunk) for chunk in chunks]
        out: list[Any] = []
        try:
            for fut in futures:
                out.extend(fut.result())
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return out

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="eth-rpc")
            return self._pool

    # -- the node's facts ------------------------------------------------------------------------

    def chain_id(self) -> int:
        return self._quantity(self.call("eth_chainId", []), "eth_chainId")

    def head(self) -> int:
        """The number of the node's latest block (eth_blockNumber)."""
        return self._quantity(self.call("eth_blockNumber", []), "eth_blockNumber")

    def blocks(self, numbers: Sequence[int]) -> list[dict]:
        """Blocks with full transaction objects; a block the node lacks is a ``SourceError``."""
        return self._blocks(numbers, True)

    def block_headers(self, numbers: Sequence[int]) -> list[dict]:
        """Blocks with transaction hashes only (hash and parentHash for reorg checks)."""
        return self._blocks(numbers, False)

    def _blocks(self, numbers: Sequence[int], full: bool) -> list[dict]:
        calls = [("eth_getBlockByNumber", [hex(n), full]) for n in numbers]
        answers = self.batch(calls)
        for (method, params), n, block in zip(calls, numbers, answers):
            self._check_block(method, params, n, block)
        return answers

    def _check_block(self, method: str, params: list, n: int, block: Any) -> None:
        what = describe_call(method, params)
        if block is None:
            raise self._error(what, "the node has no such block (null)")
        if not isinstance(block, dict) or "number" not in block or "hash" not in block:
            raise self._error(what, f"malformed answer (not a block: {one_line(repr(block), 60)})")
        if block["number"] != params[0] and self._quantity(block["number"], what) != n:
            raise self._error(what, f"malformed answer (block {block['number']} instead)")

    def receipts(self, blocks: Sequence[dict]) -> list[list[dict]]:
        """Each block's receipts in transaction order (``blocks`` as ``blocks()`` returns them)."""
        blocks = list(blocks)
        if not blocks:
            return []
        out: list[list[dict]] = []
        if self._block_receipts is _UNKNOWN:
            try:
                out.append(self.call("eth_getBlockReceipts", [blocks[0]["number"]]))
                self._block_receipts = True
            except RpcMethodMissing:
                log.info("%s has no eth_getBlockReceipts: fetching receipts one transaction at a time", self.url)
                self._block_receipts = False
        if self._block_receipts:
            rest = blocks[len(out):]
            out.extend(self.batch([("eth_getBlockReceipts", [b["number"]]) for b in rest]))
            for block, receipts in zip(blocks, out):
                self._check_receipts(block, receipts, "eth_getBlockReceipts")
            return out
        return self._receipts_per_tx(blocks)

    def _receipts_per_tx(self, blocks: list[dict]) -> list[list[dict]]:
        hashes = [[tx if isinstance(tx, str) else tx["hash"] for tx in b.get("transactions") or ()] for b in blocks]
        flat = self.batch([("eth_getTransactionReceipt", [h]) for hs in hashes for h in hs])
        out: list[list[dict]] = []
        at = 0
        for block, hs in zip(blocks, hashes):
            receipts = flat[at:at + len(hs)]
            at += len(hs)
            for h, r in zip(hs, receipts):
                if r is None:
                    raise self._error(f"eth_getTransactionReceipt tx {h} (block {self._num(block)})",
                                      "the node has no receipt for it (null)")
            self._check_receipts(block, receipts, "eth_getTransactionReceipt")
            out.append(receipts)
        return out

    def _check_receipts(self, block: dict, receipts: object, method: str) -> None:
        """Receipts must be the block's own: one per transaction, same hashes, same block hash."""
        what = f"{method} block {self._num(block)}"
        if receipts is None:
            raise self._error(what, "the node has no such block (null)")
        if not isinstance(receipts, list):
            raise self._error(what, f"malformed answer (not a list of receipts: {one_line(repr(receipts), 60)})")
        txs = block.get("transactions") or []
        if len(receipts) != len(txs):
            raise self._error(what, f"{len(receipts)} receipts for {len(txs)} transactions")
        for i, (tx, r) in enumerate(zip(txs, receipts)):
            h = tx if isinstance(tx, str) else tx.get("hash")
            if not isinstance(r, dict):
                raise self._error(what, f"malformed answer (receipt {i} is {one_line(repr(r), 40)})")
            if r.get("transactionHash") != h or r.get("blockHash", block["hash"]) != block["hash"]:
                raise self._error(what, f"receipt {i} is for tx {r.get('transactionHash')} in block "
                                        f"{r.get('blockHash')}, not tx {h} in {block['hash']} "
                                        "(did the chain reorganise?)")

    def traces(self, numbers: Sequence[int]) -> tuple[str | None, list[list[dict]]]:
        """("parity", trace_block answers) | ("geth", callTracer answers) | (None, []) when the node has neither."""
        numbers = list(numbers)
        out: list[Any] = []
        if self._trace_flavour is _UNKNOWN and numbers:
            out.append(self._detect_traces(numbers[0]))
        flavour = self._trace_flavour
        if flavour is None or flavour is _UNKNOWN:
            return None, []
        method = "trace_block" if flavour == "parity" else "debug_traceBlockByNumber"
        extra: list[object] = [] if flavour == "parity" else [_CALLTRACER]
        out.extend(self.batch([(method, [hex(n), *extra]) for n in numbers[len(out):]]))
        self._check_traces(numbers, out, method)
        return str(flavour), out

    def _check_traces(self, numbers: Sequence[int], answers: list[Any], method: str) -> None:
        for n, traces in zip(numbers, answers):
            if not isinstance(traces, list):
                what = f"{method} block {n}"
                if traces is None:
                    raise self._error(what, "the node has no such block (null)")
                raise self._error(what, f"malformed answer (not a list of traces: {one_line(repr(traces), 60)})")

    def use_traces(self, flavour: str) -> None:
        """Ask for traces the given way ("parity": trace_block, "geth": debug_traceBlockByNumber with
        callTracer) instead of finding out which the node has."""
        if flavour not in ("parity", "geth"):
            raise ValueError(f"trace flavour must be parity or geth, not {flavour!r}")
        self._trace_flavour = flavour

    def block_data(self, numbers: Sequence[int], *, traces: bool = True
                   ) -> tuple[list[dict], list[list[dict]], str | None, list[list[dict]]]:
        """Blocks, their receipts and (``traces``) their traces: (blocks, receipts, flavour, traces).

        Once the node's receipt and trace methods are known, all three are asked in one go, so the node answers
        receipts and traces while it still works on the blocks; every answer is checked as ``blocks``,
        ``receipts`` and ``traces`` check them."""
        numbers = list(numbers)
        known = self._block_receipts is True and (not traces or self._trace_flavour is not _UNKNOWN)
        if not known or not numbers:
            blocks = self.blocks(numbers)
            receipts = self.receipts(blocks)
            flavour, answers = self.traces(numbers) if traces else (None, [])
            return blocks, receipts, flavour, answers
        calls = [("eth_getBlockByNumber", [hex(n), True]) for n in numbers]
        calls += [("eth_getBlockReceipts", [hex(n)]) for n in numbers]
        flavour = self._trace_flavour if traces else None
        if flavour is not None:
            method = "trace_block" if flavour == "parity" else "debug_traceBlockByNumber"
            calls += [(method, [hex(n), *([] if flavour == "parity" else [_CALLTRACER])]) for n in numbers]
        answers = self.batch(calls)
        k = len(numbers)
        blocks, receipts, trace_answers = answers[:k], answers[k:2 * k], answers[2 * k:]
        for (method, params), n, block in zip(calls, numbers, blocks):
            self._check_block(method, params, n, block)
        for block, rcs in zip(blocks, receipts):
            self._check_receipts(block, rcs, "eth_getBlockReceipts")
        if flavour is not None:
            self._check_traces(numbers, trace_answers, calls[2 * k][0])
        return blocks, receipts, flavour, trace_answers

    def _detect_traces(self, n: int) -> Any:
        """Try trace_block, then debug_traceBlockByNumber, on block ``n``; remember which works."""
        try:
            answer = self.call("trace_block", [hex(n)])
            self._trace_flavour = "parity"
            return answer
        except RpcMethodMissing:
            pass
        try:
            answer = self.call("debug_traceBlockByNumber", [hex(n), _CALLTRACER])
            log.info("%s has no trace_block: using debug_traceBlockByNumber with callTracer", self.url)
            self._trace_flavour = "geth"
            return answer
        except RpcMethodMissing:
            log.info("%s serves neither trace_block nor debug_traceBlockByNumber: no traces", self.url)
            self._trace_flavour = None
            return None

    def codes(self, addresses: Sequence[str], block: int | str) -> list[str]:
        """Each address's bytecode (eth_getCode), "0x" where there is none."""
        return self.codes_at([(a, block) for a in addresses])

    def codes_at(self, items: Sequence[tuple[str, int | str]]) -> list[str]:
        """The bytecode of each (address, block), all in one round of batches."""
        calls = [("eth_getCode", [a, _block_tag(b)]) for a, b in items]
        return self._hex_answers(calls, self.batch(calls))

    def storage_at(self, items: Sequence[tuple[str, str]], block: int | str) -> list[str]:
        """The 32-byte word at each (address, slot) (eth_getStorageAt)."""
        return self.storage_items([(a, slot, block) for a, slot in items])

    def storage_items(self, items: Sequence[tuple[str, str, int | str]]) -> list[str]:
        """The 32-byte word at each (address, slot, block), all in one round of batches."""
        calls = [("eth_getStorageAt", [a, slot, _block_tag(b)]) for a, slot, b in items]
        return self._hex_answers(calls, self.batch(calls))

    def eth_calls(self, items: Sequence[tuple[str, str]], block: int | str) -> list[str | Exception]:
        """eth_call of each (to, data); a revert or other error comes back as the exception, not raised."""
        calls = [("eth_call", [{"to": to, "data": data}, _block_tag(block)]) for to, data in items]
        answers = self._batch(calls)
        for (method, params), answer in zip(calls, answers):
            if isinstance(answer, RpcMethodMissing):
                raise answer
            if not isinstance(answer, (str, Exception)):
                raise self._error(describe_call(method, params), f"malformed answer ({one_line(repr(answer), 60)})")
        return answers

    def balances(self, addresses: Sequence[str], block: int | str) -> list[int]:
        """Each address's balance in wei (eth_getBalance)."""
        calls = [("eth_getBalance", [a, _block_tag(block)]) for a in addresses]
        return [self._quantity(v, describe_call(m, p)) for (m, p), v in zip(calls, self.batch(calls))]

    # -- checks ----------------------------------------------------------------------------------

    def _error(self, what: str, reason: str) -> SourceError:
        return self._wire.error(what, reason)

    def _quantity(self, value: object, what: str) -> int:
        if isinstance(value, str) and value.startswith("0x"):
            try:
                return int(value, 16)
            except ValueError:
                pass
        raise self._error(what, f"malformed answer (not a hex quantity: {one_line(repr(value), 60)})")

    def _hex_answers(self, calls: list[tuple[str, list]], answers: list[Any]) -> list[str]:
        for (method, params), value in zip(calls, answers):
            if not (isinstance(value, str) and value.startswith("0x")):
                raise self._error(describe_call(method, params),
                                  f"malformed answer (not hex data: {one_line(repr(value), 60)})")
        return answers

    def _num(self, block: dict) -> int | str:
        number = block.get("number")
        try:
            return int(number, 16) if isinstance(number, str) else str(number)
        except ValueError:
            return str(number)
