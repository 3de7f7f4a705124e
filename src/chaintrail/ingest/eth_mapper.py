"""Node JSON of a run of Ethereum blocks -> the store's eth_* tables, value flows and index rows, with dense ids.

``build`` turns a batch (``eth_extract.RawBlock`` per block, plus the ``Extras`` the job fetched) into one
``Batch``. Dense ids continue the store's: ``EthState`` is rebuilt from the index on resume, so a resumed
ingest numbers rows exactly as an uninterrupted one. Rows are gathered as tuples (or whole trace columns)
and turned into Arrow columns once per batch: per-row dicts cost more than the decoding.

Value flows, in order within a transaction: the fee (tip to the fee recipient, base fee and blob fee burnt),
then ETH moved by successful call frames (the top call is ``tx_value``, deeper ones ``internal``; creations
and self-destructs by name), then token transfers in log order. Failed frames move nothing, though their fee
is paid. Block rewards (pre-merge parity traces) and beacon withdrawals close the block.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from chaintrail.chains.ethereum import contracts as ct
from chaintrail.errors import DecodeError
from chaintrail.ingest.eth_extract import Extras, NewContract, RawBlock, decoded_transfers, new_contracts
from chaintrail.store.chainstore import Batch
from chaintrail.store.eth_schema import AMOUNT_OVERFLOW, ETH_TABLES, FLOW_KIND
from chaintrail.store.hashtable import KeyTable
from chaintrail.store.index import NONE

ZERO_ADDR = bytes(20)
_U64 = (1 << 64) - 1
_ROW_COUNTS = ("eth_transactions", "eth_logs", "eth_traces", "eth_token_transfers", "eth_value_flows",
               "eth_addresses", "eth_contracts", "eth_tokens")
# Call frames that move ETH to their ``to``: delegatecall/staticcall move none, and callcode runs another
# contract's code on the caller's own balance.
_VALUE_CALLS = ("call", None)
_TRACE_COPY = ("transaction_index", "trace_index", "trace_address", "subtraces", "trace_type", "call_type",
               "reward_type", "gas", "gas_used", "error", "status", "trace_id")


class EthState:
    """Row counts, address ids and known tokens that carry from one batch to the next."""

    def __init__(self, counts: dict[str, int], addr_keys: np.ndarray, token_addresses: set[str],
                 erc721: set[str] = frozenset()):
        self.counts = {t: counts.get(t, 0) for t in _ROW_COUNTS}
        self.n_blocks = counts.get("eth_blocks", 0)
        self.addrs = KeyTable(20, addr_keys)
        self.tokens = set(token_addresses)
        self.erc721 = set(erc721)       # ERC-721 contracts: their old-style Transfer logs (fields in data) are NFTs


def _b(h: str | None) -> bytes | None:
    return None if h is None else bytes.fromhex(h[2:])


def _i(h) -> int | None:
    if h is None:
        return None
    return h if type(h) is int else int(h, 16)


def _s(h) -> str | None:
    return None if h is None else str(int(h, 16) if type(h) is str else h)


def _table(name: str, rows: list[tuple]) -> pa.Table:
    """Row tuples (in the schema's column order) as one Arrow table."""
    schema = ETH_TABLES[name]
    cols = list(zip(*rows)) if rows else [()] * len(schema)
    return pa.table({f.name: pa.array(c, f.type) for f, c in zip(schema, cols)})


def _list_array(lists: list[list[int]]) -> pa.Array:
    """list<int32> from Python lists, built from offsets and one flat list (pa.array walks each list)."""
    offsets = np.zeros(len(lists) + 1, np.int32)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    flat = pa.array([v for x in lists for v in x], pa.int32())
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


class EthMapper:
    """Maps batches for one store; ``state`` is the dense-id state carried between batches."""

    def __init__(self, state: EthState, source: str):
        self.state = state
        self.source = source
        self.dropped_token_events = 0       # malformed or unconfirmed wrap/unwrap logs left out of transfers

    def build(self, raws: list[RawBlock], extras: Extras) -> Batch:
        st = self.state
        n = dict(st.counts)                  # running row counts
        blocks: list[dict] = []
        txs: list[tuple] = []
        logs: list[tuple] = []
        transfers: list[tuple] = []
        flows: list[tuple] = []              # (block, tx_num, kind, from, to, asset, amount, token_id, trace_num,
        #                                       transfer_num); flow_num = F0 + position
        f0 = st.counts["eth_value_flows"]
        contracts: list[dict] = []
        tokens: list[tuple] = []
        traces: dict[str, list] = {name: [] for name in ETH_TABLES["eth_traces"].names}
        addr_seen: list[bytes] = []          # every address in block order (for interning, first seen first)
        addr_block: list[int] = []
        blk_first_tx, blk_first_flow, blk_hash, tx_first_flow = [], [], [], []
        created: dict[int, list[NewContract]] = {}
        for c in new_contracts(raws):
            created.setdefault(c.block_number, []).append(c)

        for raw in raws:
            b = raw.block
            number = int(b["number"], 16)
            try:
                bhash = _b(b["hash"])
                miner = _b(b["miner"].lower())
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise DecodeError(f"malformed block: {exc}", source=f"block {number}") from None
            base_fee = _i(b.get("baseFeePerGas"))
            block_seq = st.n_blocks + len(blocks)
            first = {"first_tx_num": n["eth_transactions"], "first_log_num": n["eth_logs"],
                     "first_trace_num": n["eth_traces"], "first_transfer_num": n["eth_token_transfers"],
                     "first_flow_num": n["eth_value_flows"], "first_contract_num": n["eth_contracts"],
                     "first_token_num": n["eth_tokens"]}
            first_flow = len(flows)
            blk_first_tx.append(n["eth_transactions"])
            blk_first_flow.append(n["eth_value_flows"])
            blk_hash.append(bhash)
            seen = [miner]                   # this block's addresses besides its flows'
            tx_list = b.get("transactions") or []
            if len(raw.receipts) != len(tx_list):
                raise DecodeError(f"{len(raw.receipts)} receipts for {len(tx_list)} transactions",
                                  source=f"block {number}")
            tr = raw.traces
            by_tx: dict[int | None, list[int]] = {}
            trace0 = n["eth_traces"]
            if tr is not None:
                self._trace_rows(traces, tr, trace0, n["eth_transactions"], number, seen)
                n["eth_traces"] += len(tr["trace_type"])
                for k, ti in enumerate(tr["transaction_index"]):
                    by_tx.setdefault(ti, []).append(k)
                stray = [ti for ti in by_tx if ti is not None and not 0 <= ti < len(tx_list)]
                if stray:
                    raise DecodeError(f"traces name transaction index {stray[0]}, and the block has {len(tx_list)}",
                                      source=f"block {number}")
            block_transfers = decoded_transfers(raw, st.erc721)
            self.dropped_token_events += raw.skipped_logs
            for tx, rc in zip(tx_list, raw.receipts):
                try:
                    tx_first_flow.append(f0 + len(flows))
                    self._tx(tx, rc, number, block_seq, miner, base_fee, tr, trace0, by_tx, block_transfers, n, txs,
                             logs, transfers, flows, seen)
                except DecodeError as err:
                    raise err.at(f"block {number} tx {tx.get('hash')}") from None
                except (KeyError, ValueError, TypeError, AttributeError) as exc:
                    raise DecodeError(f"malformed transaction or receipt: {type(exc).__name__} {exc}",
                                      source=f"block {number} tx {tx.get('hash')}") from None
            # block rewards (parity traces) and withdrawals close the block
            for k in by_tx.get(None, ()):
                if tr["value"][k]:
                    flows.append((number, None, "block_reward", None, _b(tr["to_address"][k]), None,
                                  tr["value"][k], None, trace0 + k, None))
            withdrawals = []
            for w in b.get("withdrawals") or []:
                wa = _b(w["address"].lower())
                gwei = int(w["amount"], 16)
                withdrawals.append({"index": int(w["index"], 16), "validator_index": int(w["validatorIndex"], 16),
                                    "address": wa, "amount": str(gwei)})
                seen.append(wa)
                if gwei:
                    flows.append((number, None, "withdrawal", None, wa, None, gwei * 10**9, None, None, None))
            n["eth_value_flows"] = f0 + len(flows)
            # contracts created in this block, and tokens first seen in it
            first_contract = len(contracts)
            for c in created.get(number, ()):
                contracts.append(self._contract(c, extras, n, number, first["first_tx_num"]))
                seen.append(_b(c.address))
            for addr in self._new_tokens(contracts[first_contract:], transfers, first, n0=st.counts):
                meta = extras.tokens.get(addr, {})
                supply = meta.get("total_supply")
                tokens.append((n["eth_tokens"], _b(addr), number, meta.get("name"), meta.get("symbol"),
                               meta.get("decimals"), None if supply is None else str(supply)))
                n["eth_tokens"] += 1
                st.tokens.add(addr)
            # addresses in block order: the block's own, then its flows'
            for f in flows[first_flow:]:
                for a in (f[3], f[4], f[5]):
                    if a is not None:
                        seen.append(a)
            addr_seen.extend(seen)
            addr_block.extend([number] * len(seen))
            blocks.append(dict(
                block_seq=block_seq, number=number, hash=bhash, parent_hash=_b(b["parentHash"]),
                nonce=_b(b.get("nonce")), sha3_uncles=_b(b.get("sha3Uncles")), logs_bloom=_b(b.get("logsBloom")),
                transactions_root=_b(b.get("transactionsRoot")), state_root=_b(b.get("stateRoot")),
                receipts_root=_b(b.get("receiptsRoot")), miner=miner, difficulty=_s(b.get("difficulty")),
                total_difficulty=_s(b.get("totalDifficulty")), size=_i(b.get("size")),
                extra_data=_b(b.get("extraData")), gas_limit=int(b["gasLimit"], 16), gas_used=int(b["gasUsed"], 16),
                timestamp=int(b["timestamp"], 16), transaction_count=len(tx_list),
                base_fee_per_gas=None if base_fee is None else str(base_fee),
                withdrawals_root=_b(b.get("withdrawalsRoot")), withdrawals=withdrawals if "withdrawals" in b else None,
                blob_gas_used=_i(b.get("blobGasUsed")), excess_blob_gas=_i(b.get("excessBlobGas")),
                parent_beacon_block_root=_b(b.get("parentBeaconBlockRoot")), source=self.source, **first))
        return self._finish(blocks, txs, logs, traces, transfers, flows, contracts, tokens, addr_seen, addr_block,
                            blk_first_tx, blk_first_flow, blk_hash, tx_first_flow, n)

    # -- one transaction ---------------------------------------------------------------------
    def _tx(self, tx, rc, number, block_seq, miner, base_fee, tr, trace0, by_tx, block_transfers, n, txs, logs,
            transfers, flows, seen) -> None:
        tx_num = n["eth_transactions"]
        ti = int(tx["transactionIndex"], 16)
        if rc.get("transactionHash") not in (None, tx["hash"]):
            raise DecodeError(f"receipt of {rc.get('transactionHash')} given for {tx['hash']}")
        frm = _b(tx["from"].lower())
        to = _b(tx["to"].lower()) if tx.get("to") else None
        status = _i(rc.get("status"))
        gas_used = int(rc["gasUsed"], 16)
        egp = _i(rc.get("effectiveGasPrice")) or _i(tx.get("gasPrice")) or 0
        value = int(tx["value"], 16)
        tx_logs = rc.get("logs") or []
        blob_gas, blob_price = _i(rc.get("blobGasUsed")), _i(rc.get("blobGasPrice"))
        created = rc.get("contractAddress")
        txs.append((tx_num, _b(tx["hash"]), block_seq, number, ti, int(tx["nonce"], 16), frm, to, str(value),
                    int(tx["gas"], 16), _s(tx.get("gasPrice")), _b(tx.get("input", "0x")), _i(tx.get("type")),
                    _s(tx.get("maxFeePerGas")), _s(tx.get("maxPriorityFeePerGas")), _s(tx.get("maxFeePerBlobGas")),
                    [_b(x) for x in tx["blobVersionedHashes"]] if tx.get("blobVersionedHashes") else None,
                    _i(tx.get("chainId")), _s(tx.get("v")), tx.get("r"), tx.get("s"), status, gas_used,
                    int(rc["cumulativeGasUsed"], 16), str(egp), _b(created.lower()) if created else None,
                    _b(rc.get("root")), blob_gas, None if blob_price is None else str(blob_price), len(tx_logs)))
        seen.append(frm)
        if to is not None:
            seen.append(to)
        n["eth_transactions"] += 1
        # fees: the base fee is burnt, the rest goes to the fee recipient (all of it before London)
        fee = gas_used * egp
        burnt = gas_used * min(base_fee, egp) if base_fee is not None else 0
        if fee - burnt:
            flows.append((number, tx_num, "fee_tip", frm, miner, None, fee - burnt, None, None, None))
        if burnt:
            flows.append((number, tx_num, "fee_burnt", frm, None, None, burnt, None, None, None))
        if blob_gas and blob_price:
            flows.append((number, tx_num, "blob_fee_burnt", frm, None, None, blob_gas * blob_price, None, None, None))
        # ETH moved by execution
        moves: list[tuple[bytes | None, bytes | None, int]] = []
        if tr is not None:
            t_value, t_status, t_type, t_call = tr["value"], tr["status"], tr["trace_type"], tr["call_type"]
            for k in by_tx.get(ti, ()):
                v = t_value[k]
                if not v or t_status[k] != 1:
                    continue
                kind = t_type[k]
                if kind == "call":
                    if t_call[k] not in _VALUE_CALLS:
                        continue
                    kind = "internal" if tr["trace_address"][k] else "tx_value"
                elif kind == "suicide":
                    kind = "selfdestruct"
                elif kind != "create":
                    continue
                a, z = _b(tr["from_address"][k]), _b(tr["to_address"][k])
                flows.append((number, tx_num, kind, a, z, None, v, None, trace0 + k, None))
                moves.append((a, z, v))
        elif status != 0 and value:
            z = to if to is not None else _b(created.lower())
            flows.append((number, tx_num, "tx_value" if to is not None else "create", frm, z, None, value, None, None,
                          None))
            moves.append((frm, z, value))
        # logs and token transfers
        for lg in tx_logs:
            topics = lg.get("topics") or []
            if len(topics) > 4:
                raise DecodeError(f"log {lg.get('logIndex')} has {len(topics)} topics")
            tp = [_b(x) for x in topics] + [None] * (4 - len(topics))
            la = _b(lg["address"].lower())
            logs.append((n["eth_logs"], tx_num, number, ti, int(lg["logIndex"], 16), la, tp[0], tp[1], tp[2], tp[3],
                         len(topics), _b(lg.get("data", "0x"))))
            n["eth_logs"] += 1
            seen.append(la)
        rows = block_transfers.get(ti)
        if rows is not None:
            self._transfers(rows, tx_num, number, ti, moves, n, transfers, flows)

    def _transfers(self, rows: list[tuple], tx_num: int, number: int, ti: int,
                   moves: list[tuple[bytes | None, bytes | None, int]], n: dict[str, int], transfers: list[tuple],
                   flows: list[tuple]) -> None:
        """Token transfer rows and flows of one successful transaction; wrap/unwrap only where the ETH moved."""
        for std, token_hex, frm_hex, to_hex, value, token_id, log_index, batch_index in rows:
            token, frm, to = _b(token_hex), _b(frm_hex), _b(to_hex)
            if std in ("wrap", "unwrap"):
                # a WETH9-style Deposit/Withdrawal counts only if that much ETH went in / came out in this tx
                want = (to, token, value) if std == "wrap" else (token, frm, value)
                if want not in moves:
                    self.dropped_token_events += 1
                    continue
                moves.remove(want)
                frm, to = (ZERO_ADDR, to) if std == "wrap" else (frm, ZERO_ADDR)
            num = n["eth_token_transfers"]
            token_id = None if token_id is None else str(token_id)
            transfers.append((num, tx_num, number, ti, log_index, batch_index, std, token, frm, to, str(value),
                              token_id))
            n["eth_token_transfers"] += 1
            flows.append((number, tx_num, std, frm, to, token, value, token_id, None, num))

    # -- traces, contracts, tokens -------------------------------------------------------------
    @staticmethod
    def _trace_rows(out: dict[str, list], tr: dict[str, list], trace0: int, tx0: int, number: int,
                    seen: list[bytes]) -> None:
        """One block's trace columns appended whole; ``trace0``/``tx0`` number them (advanced by the caller)."""
        k = len(tr["trace_type"])
        out["trace_num"].extend(range(trace0, trace0 + k))
        out["tx_num"].extend(None if ti is None else tx0 + ti for ti in tr["transaction_index"])
        out["block_number"].extend([number] * k)
        for name in _TRACE_COPY:
            out[name].extend(tr[name])
        for name in ("from_address", "to_address"):
            col = [_b(a) for a in tr[name]]
            out[name].extend(col)
            seen.extend(a for a in col if a is not None)
        out["value"].extend(None if v is None else str(v) for v in tr["value"])
        out["input"].extend(_b(x) for x in tr["input"])
        out["output"].extend(_b(x) for x in tr["output"])

    def _contract(self, c: NewContract, extras: Extras, n: dict[str, int], number: int, tx0: int) -> dict:
        code_hex = c.code if c.code not in (None, "0x") else extras.codes.get(c.address)
        code = _b(code_hex) if code_hex else b""
        sels = ct.function_selectors(code)
        # an EIP-1967 proxy names its implementation in a storage slot, an EIP-1167 clone in its own code
        impl = extras.implementations.get(c.address) or ct.eip1167_implementation(code)
        row = dict(contract_num=n["eth_contracts"], address=_b(c.address), block_number=number,
                   tx_num=tx0 + c.tx_index, creator=_b(c.creator),
                   by_internal_call=c.by_internal_call, bytecode=code, bytecode_hash=ct.bytecode_hash(code),
                   function_sighashes=sels, is_erc20=ct.is_erc20(sels), is_erc721=ct.is_erc721(sels),
                   is_erc1155=ct.is_erc1155(sels), proxy_implementation=_b(impl) if impl else None)
        n["eth_contracts"] += 1
        if row["is_erc721"]:
            self.state.erc721.add(c.address)
        return row

    def _new_tokens(self, contracts: list[dict], transfers: list[tuple], first: dict, n0: dict) -> list[str]:
        """Token contracts first seen in this block: created as one, or first moved in a transfer."""
        out: list[str] = []
        seen = self.state.tokens
        for row in contracts:
            if row["is_erc20"] or row["is_erc721"] or row["is_erc1155"]:
                a = "0x" + row["address"].hex()
                if a not in seen and a not in out:
                    out.append(a)
        for t in transfers[first["first_transfer_num"] - n0["eth_token_transfers"]:]:
            a = "0x" + t[7].hex()
            if a not in seen and a not in out:
                out.append(a)
        return out

    # -- the batch -------------------------------------------------------------------------------
    def _finish(self, blocks, txs, logs, traces, transfers, flows, contracts, tokens, addr_seen, addr_block,
                blk_first_tx, blk_first_flow, blk_hash, tx_first_flow, n) -> Batch:
        st = self.state
        # Dense address ids, in order of first appearance (block order, so each block's new ids are a run).
        n_addr0 = st.addrs.n
        keys = np.frombuffer(b"".join(addr_seen), np.uint8).reshape(-1, 20)
        ids = st.addrs.intern(keys, np.ones(len(keys), bool))
        fresh = ids >= n_addr0
        new_ids, first_pos = np.unique(ids[fresh], return_index=True)
        new_blocks = np.asarray(addr_block, np.int64)[fresh][first_pos]
        addresses = pa.table({"addr_num": pa.array(new_ids, pa.int64()),
                              "address": pa.array([bytes(k) for k in st.addrs.keys[new_ids]], pa.binary(20)),
                              "first_block": pa.array(new_blocks, pa.int64())})
        numbers = np.array([b["number"] for b in blocks], np.int64)
        for b, first_addr in zip(blocks, n_addr0 + np.searchsorted(new_blocks, numbers, "left")):
            b["first_addr_num"] = int(first_addr)
        n["eth_addresses"] = st.addrs.n

        f0 = st.counts["eth_value_flows"]
        cols = list(zip(*flows)) if flows else [()] * 10
        block_col, tx_col, kind_col, from_col, to_col, asset_col, amount_col, token_col, trace_col, xfer_col = cols
        flow_block = np.asarray(block_col, np.int64)
        # order within the block: position less the block's first flow
        starts = np.asarray(blk_first_flow, np.int64) - f0
        flow_index = np.arange(len(flows)) - starts[np.searchsorted(numbers, flow_block)] if flows else []

        def ids_of(col) -> np.ndarray:
            out = np.full(len(col), NONE, np.uint32)
            have = np.fromiter((a is not None for a in col), bool, len(col))
            if have.any():
                q = np.frombuffer(b"".join(a for a in col if a is not None), np.uint8).reshape(-1, 20)
                out[have] = st.addrs.lookup(q)
            return out

        kinds = np.fromiter((FLOW_KIND[k] for k in kind_col), np.uint8, len(flows))
        big = np.fromiter((a >> 128 != 0 for a in amount_col), bool, len(flows))
        kinds[big] |= AMOUNT_OVERFLOW
        lo = np.fromiter((a & _U64 for a in amount_col), np.uint64, len(flows))
        hi = np.fromiter(((a >> 64) & _U64 for a in amount_col), np.uint64, len(flows))
        lo[big] = hi[big] = _U64             # saturated; the Parquet row has the exact amount
        schema = ETH_TABLES["eth_value_flows"]
        flow_table = pa.table({
            "flow_num": pa.array(np.arange(f0, f0 + len(flows)), pa.int64()),
            "block_number": pa.array(flow_block, pa.int64()), "tx_num": pa.array(tx_col, pa.int64()),
            "flow_index": pa.array(flow_index, pa.int32()), "kind": pa.array(kind_col, pa.string()),
            "from_address": pa.array(from_col, schema.field("from_address").type),
            "to_address": pa.array(to_col, schema.field("to_address").type),
            "asset": pa.array(asset_col, schema.field("asset").type),
            "amount": pa.array([str(a) for a in amount_col], pa.string()),
            "token_id": pa.array(token_col, pa.string()), "trace_num": pa.array(trace_col, pa.int64()),
            "transfer_num": pa.array(xfer_col, pa.int64())})
        tails = {
            "eth_blk_first_tx": np.asarray(blk_first_tx, np.uint32),
            "eth_blk_first_flow": np.asarray(blk_first_flow, np.uint64),
            "eth_blk_hash": np.frombuffer(b"".join(blk_hash), np.uint8).reshape(-1, 32),
            "eth_tx_hash": np.frombuffer(b"".join(t[1] for t in txs), np.uint8).reshape(-1, 32),
            "eth_tx_first_flow": np.asarray(tx_first_flow, np.uint64),
            "eth_flow_tx": np.fromiter((NONE if t is None else t for t in tx_col), np.uint32, len(flows)),
            "eth_flow_from": ids_of(from_col),
            "eth_flow_to": ids_of(to_col),
            "eth_flow_asset": ids_of(asset_col),
            "eth_flow_kind": kinds,
            "eth_flow_amount_lo": lo,
            "eth_flow_amount_hi": hi,
            "eth_addr_key": st.addrs.keys[n_addr0:].copy(),
        }
        block_schema = ETH_TABLES["eth_blocks"]
        contract_schema = ETH_TABLES["eth_contracts"]
        tables = {
            "eth_blocks": pa.table({f.name: pa.array([b[f.name] for b in blocks], f.type) for f in block_schema}),
            "eth_transactions": _table("eth_transactions", txs),
            "eth_logs": _table("eth_logs", logs),
            "eth_traces": pa.table({f.name: _list_array(traces[f.name]) if f.name == "trace_address"
                                    else pa.array(traces[f.name], f.type) for f in ETH_TABLES["eth_traces"]}),
            "eth_token_transfers": _table("eth_token_transfers", transfers),
            "eth_value_flows": flow_table,
            "eth_contracts": pa.table({f.name: pa.array([c[f.name] for c in contracts], f.type)
                                       for f in contract_schema}),
            "eth_tokens": _table("eth_tokens", tokens),
            "eth_addresses": addresses,
        }
        st.counts = {k: n[k] for k in _ROW_COUNTS}
        st.n_blocks += len(blocks)
        return Batch(tables=tables, index_tails=tails)
