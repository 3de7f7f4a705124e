"""Parity ``trace_block`` and geth ``callTracer`` answers -> one flat trace row form (ethereum-etl's traces).

Both give one row per call frame, depth first, with ``trace_address`` the path of child positions from the
transaction's top call. ``status`` is 0 when the frame or any frame above it failed: a failed call's effects
are undone, its children's included, even where the children themselves returned normally.

Where this differs from ethereum-etl on purpose:
- ``status`` propagates into every child, ``suicide`` frames included (ethereum-etl propagates among
  call/create frames only, so a selfdestruct inside a reverted call keeps status 1 there);
- geth ``CREATE2`` frames are ``trace_type`` "create" as in parity's traces (ethereum-etl keeps "create2");
- geth rows carry ``transaction_hash`` and ``trace_id`` (ethereum-etl's geth export has neither), and
  ``suicide`` rows have no gas, gas_used, input or output whichever node gave them, as in parity's form.
Values are kept as the node reports them: parity reports a delegatecall's ``value`` as its caller's (no ETH
moves), and geth's callTracer gives a ``callcode``'s code address as ``to`` where parity gives the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaintrail.chains.ethereum.hexutil import hex_data, hex_int, opt_address, opt_hex_int
from chaintrail.errors import DecodeError, SourceError

TRACE_COLUMNS = ("block_number", "transaction_index", "transaction_hash", "from_address", "to_address", "value",
                 "input", "output", "trace_type", "call_type", "reward_type", "gas", "gas_used", "subtraces",
                 "trace_address", "error", "status", "trace_id", "trace_index")

_GETH_CALL_TYPES = {"CALL": "call", "CALLCODE": "callcode", "DELEGATECALL": "delegatecall",
                    "STATICCALL": "staticcall"}
_GETH_CREATE_TYPES = ("CREATE", "CREATE2")
_GETH_SUICIDE_TYPES = ("SELFDESTRUCT", "SUICIDE")


def _opt_data(value: object, what: str) -> str | None:
    return None if value is None else hex_data(value, what)


def _parity_row(t: dict, block_number: int) -> list:
    """One trace_block element as a row (status, trace_id and trace_index are filled in later)."""
    kind = t.get("type")
    action = t.get("action") or {}
    result = t.get("result") or {}
    if not isinstance(action, dict) or not isinstance(result, dict):
        raise DecodeError("action/result: not JSON objects")
    number = hex_int(t.get("blockNumber", block_number), "blockNumber")
    if number != block_number:
        raise DecodeError(f"blockNumber: trace of block {number} in the answer for block {block_number}")
    tx_hash = t.get("transactionHash")
    tx_hash = None if tx_hash is None else hex_data(tx_hash, "transactionHash")
    tx_index = opt_hex_int(t.get("transactionPosition"), "transactionPosition")
    subtraces = hex_int(t.get("subtraces", 0), "subtraces")
    trace_address = t.get("traceAddress") or []
    if not isinstance(trace_address, list) or not all(type(i) is int and i >= 0 for i in trace_address):
        raise DecodeError(f"traceAddress: not a list of child positions: {trace_address!r:.60}")
    error = t.get("error") or None
    from_a = to_a = value = inp = out = call_type = reward_type = gas = gas_used = None
    if kind == "call" or kind == "create":
        from_a = opt_address(action.get("from"), "action.from")
        value = opt_hex_int(action.get("value"), "action.value")
        gas = opt_hex_int(action.get("gas"), "action.gas")
        gas_used = opt_hex_int(result.get("gasUsed"), "result.gasUsed")
        if kind == "call":
            call_type = action.get("callType")
            to_a = opt_address(action.get("to"), "action.to")
            inp = _opt_data(action.get("input"), "action.input")
            out = _opt_data(result.get("output"), "result.output")
        else:
            to_a = opt_address(result.get("address"), "result.address")
            inp = _opt_data(action.get("init"), "action.init")
            out = _opt_data(result.get("code"), "result.code")
    elif kind == "suicide":
        from_a = opt_address(action.get("address"), "action.address")
        to_a = opt_address(action.get("refundAddress"), "action.refundAddress")
        value = opt_hex_int(action.get("balance"), "action.balance")
    elif kind == "reward":
        to_a = opt_address(action.get("author"), "action.author")
        value = opt_hex_int(action.get("value"), "action.value")
        reward_type = action.get("rewardType")
    else:
        raise DecodeError(f"type: unknown trace type {kind!r:.40}")
    return [block_number, tx_index, tx_hash, from_a, to_a, value, inp, out, kind, call_type, reward_type, gas,
            gas_used, subtraces, list(trace_address), error, None, None, None]


def parity_traces(block_number: int, trace_block_result: list[dict]) -> dict[str, list]:
    """Rows of one block's ``trace_block`` answer, in the node's order (ethereum-etl's traces schema)."""
    if not isinstance(trace_block_result, list):
        raise DecodeError("trace_block answer is not a list", source=f"trace_block {block_number}")
    rows = []
    for i, t in enumerate(trace_block_result):
        try:
            if not isinstance(t, dict):
                raise DecodeError("trace is not a JSON object")
            rows.append(_parity_row(t, block_number))
        except DecodeError as err:
            raise err.at(_where("trace_block", block_number, t, i)) from None
    return _finish(rows, "trace_block", block_number)


def _where(method: str, block_number: int, t: object, i: int) -> str:
    if isinstance(t, dict) and t.get("transactionHash"):
        return f"{method} {block_number} tx {t.get('transactionHash')} trace {t.get('traceAddress')}"
    return f"{method} {block_number} element {i}"


def geth_traces(block_number: int, tx_hashes: Sequence[str | None], callTracer_result: list[dict]) -> dict[str, list]:
    """Rows of one block's ``debug_traceBlockByNumber`` callTracer answer, frames flattened depth first.

    ``tx_hashes`` are the block's transaction hashes in order (the answer holds one top frame per
    transaction); an element may be ``{"result": frame}``, ``{"txHash": h, "result": frame}`` or the frame.
    """
    source = f"debug_traceBlockByNumber {block_number}"
    if not isinstance(callTracer_result, list):
        raise DecodeError("callTracer answer is not a list", source=source)
    if len(callTracer_result) != len(tx_hashes):
        raise DecodeError(f"{len(callTracer_result)} transaction traces for {len(tx_hashes)} transactions",
                          source=source)
    rows: list[list] = []
    for tx_index, (item, tx_hash) in enumerate(zip(callTracer_result, tx_hashes)):
        where = f"{source} tx {tx_hash or tx_index}"
        if not isinstance(item, dict):
            raise DecodeError("transaction trace is not a JSON object", source=where)
        if "result" in item:
            frame = item["result"]
        elif "error" in item:
            raise SourceError(f"{where}: the node's tracer failed: {str(item['error'])[:200]}")
        else:
            frame = item
        if item.get("txHash") and tx_hash and item["txHash"].lower() != tx_hash.lower():
            raise DecodeError(f"txHash {item['txHash']} where the block has {tx_hash}", source=where)
        try:
            _flatten_geth(frame, block_number, tx_index, None if tx_hash is None else tx_hash.lower(), rows)
        except DecodeError as err:
            raise err.at(where) from None
    return _finish(rows, "debug_traceBlockByNumber", block_number)


def _flatten_geth(top: object, block_number: int, tx_index: int, tx_hash: str | None, rows: list) -> None:
    """Append the rows of one transaction's call frames, depth first (iterative: calls nest 1024 deep)."""
    stack: list[tuple[object, list[int]]] = [(top, [])]
    while stack:
        frame, trace_address = stack.pop()
        if not isinstance(frame, dict):
            raise DecodeError(f"call frame {trace_address} is not a JSON object")
        kind = frame.get("type")
        if not isinstance(kind, str):
            raise DecodeError(f"type: missing in call frame {trace_address}")
        kind = kind.upper()
        calls = frame.get("calls") or []
        if not isinstance(calls, list):
            raise DecodeError(f"calls: not a list in call frame {trace_address}")
        call_type = None
        inp = out = gas = gas_used = None
        if kind in _GETH_CALL_TYPES or kind in _GETH_CREATE_TYPES:
            trace_type = "create" if kind in _GETH_CREATE_TYPES else "call"
            call_type = _GETH_CALL_TYPES.get(kind)
            inp = _opt_data(frame.get("input"), "input")
            out = _opt_data(frame.get("output"), "output")
            gas = opt_hex_int(frame.get("gas"), "gas")
            gas_used = opt_hex_int(frame.get("gasUsed"), "gasUsed")
        elif kind in _GETH_SUICIDE_TYPES:
            trace_type = "suicide"
        else:
            raise DecodeError(f"type: unknown call frame type {kind!r:.40} at {trace_address}")
        rows.append([block_number, tx_index, tx_hash, opt_address(frame.get("from"), "from"),
                     opt_address(frame.get("to"), "to"), opt_hex_int(frame.get("value"), "value"), inp, out,
                     trace_type, call_type, None, gas, gas_used, len(calls), trace_address,
                     frame.get("error") or None, None, None, None])
        for i in range(len(calls) - 1, -1, -1):
            stack.append((calls[i], trace_address + [i]))


def _finish(rows: list[list], method: str, block_number: int) -> dict[str, list]:
    """Fill status (failure propagated to children), trace_id and trace_index; return columns."""
    failed: dict[str, set[tuple[int, ...]]] = {}
    seen: dict[str, set[tuple[int, ...]]] = {}
    block_scoped: dict[str, list[list]] = {}
    for index, row in enumerate(rows):
        row[18] = index
        tx = row[2] if row[2] is not None else f"#{row[1]}"  # geth without hashes: by position
        address = tuple(row[14])
        status = 0 if row[15] else 1
        if address:
            parent = address[:-1]
            if parent not in seen.get(tx, ()):
                raise DecodeError(f"trace {list(address)} comes before its parent trace {list(parent)}",
                                  source=f"{method} {block_number} tx {row[2]}")
            if parent in failed.get(tx, ()):
                status = 0
        seen.setdefault(tx, set()).add(address)
        if status == 0:
            failed.setdefault(tx, set()).add(address)
        row[16] = status
        if row[2] is not None:
            row[17] = "_".join([row[8], row[2], "_".join(map(str, address))])
        elif row[8] == "reward":
            block_scoped.setdefault(row[8], []).append(row)
    # block-scoped traces (rewards): numbered per type in ethereum-etl's order
    for kind, group in block_scoped.items():
        group.sort(key=lambda r: (r[10] or "", r[3] or "", r[4] or "", r[5] or 0))
        for i, row in enumerate(group):
            row[17] = f"{kind}_{block_number}_{i}"
    if not rows:
        return {name: [] for name in TRACE_COLUMNS}
    return {name: list(col) for name, col in zip(TRACE_COLUMNS, zip(*rows))}
