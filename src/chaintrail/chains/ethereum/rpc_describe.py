"""Short words for what a JSON-RPC request asked ("eth_getBlockByNumber block 17173049"), for error lines."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["describe_call", "describe_calls", "one_line"]

_BLOCK_FIRST = frozenset({"eth_getBlockByNumber", "eth_getBlockReceipts", "trace_block", "debug_traceBlockByNumber",
                          "eth_getBlockTransactionCountByNumber", "eth_getUncleCountByBlockNumber"})
_HASH_FIRST = frozenset({"eth_getTransactionReceipt", "eth_getTransactionByHash", "trace_transaction",
                         "debug_traceTransaction", "trace_replayTransaction"})
_ADDRESS_AT = frozenset({"eth_getCode", "eth_getBalance", "eth_getTransactionCount", "eth_getStorageAt"})


def one_line(text: str, limit: int = 200) -> str:
    """Collapse ``text`` to one line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _block(value: object) -> str:
    """A block parameter as people say it: decimal for a 0x quantity, the tag or hash otherwise."""
    if isinstance(value, str) and value.startswith("0x") and len(value) <= 18:
        try:
            return str(int(value, 16))
        except ValueError:
            pass
    return one_line(str(value), 70)


def _asked(method: str, params: Sequence[object]) -> str:
    if not params:
        return ""
    first = params[0]
    if method in _BLOCK_FIRST:
        return f"block {_block(first)}"
    if method in _HASH_FIRST:
        return f"tx {first}"
    if method == "eth_getBlockByHash":
        return f"block {first}"
    if method in _ADDRESS_AT:
        slot = f" slot {params[1]}" if method == "eth_getStorageAt" and len(params) > 2 else ""
        at = f" at block {_block(params[-1])}" if len(params) > 1 else ""
        return f"address {first}{slot}{at}"
    if method == "eth_call" and isinstance(first, dict):
        data = str(first.get("data") or first.get("input") or "0x")
        at = f" at block {_block(params[-1])}" if len(params) > 1 else ""
        return f"to {first.get('to')} data {data[:10]}{'…' if len(data) > 10 else ''}{at}"
    return one_line(repr(list(params)), 80)


def describe_call(method: str, params: Sequence[object]) -> str:
    """``method`` and what it asked for, e.g. ``eth_getTransactionReceipt tx 0xab…``."""
    asked = _asked(method, params)
    return f"{method} {asked}" if asked else method


def describe_calls(calls: Sequence[tuple[str, Sequence[object]]]) -> str:
    """One request's calls in a few words: the call itself, or the method and the first and last asked."""
    if len(calls) == 1:
        return describe_call(*calls[0])
    methods = list(dict.fromkeys(m for m, _ in calls))
    if len(methods) == 1:
        first, last = _asked(*calls[0]), _asked(*calls[-1])
        return f"{methods[0]} ({len(calls)} calls, {first} … {last})"
    shown = ", ".join(methods[:3]) + (", …" if len(methods) > 3 else "")
    return f"batch of {len(calls)} calls ({shown})"
