"""Node JSON of a run of Ethereum blocks -> the store's eth_* tables, value flows and index rows, with dense ids.

A batch is mapped in two steps. ``new_contracts`` lists what the batch creates, so that the job can ask the
node for what the blocks do not say (code when no trace gave it, the EIP-1967 slot, token metadata); then
``build`` turns everything into one ``Batch``. Dense ids continue the store's: the mapper's ``EthState`` is
rebuilt from the index on resume, so a resumed ingest numbers rows exactly as an uninterrupted one.

Value flows, in order within a transaction: the fee (tip to the fee recipient, base fee and blob fee burnt),
then ETH moved by successful call frames (the top call is ``tx_value``, deeper ones ``internal``; creations
and self-destructs by name), then token transfers in log order. Failed frames move nothing, though their fee
is paid. Block rewards (pre-merge parity traces) and beacon withdrawals close the block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from chaintrail.chains.ethereum import contracts as ct
from chaintrail.chains.ethereum.token_events import token_transfers
from chaintrail.errors import DecodeError
from chaintrail.store.chainstore import Batch
from chaintrail.store.eth_schema import AMOUNT_OVERFLOW, ETH_TABLES, FLOW_KIND
from chaintrail.store.hashtable import KeyTable
from chaintrail.store.index import NONE

ZERO_ADDR = bytes(20)
_U64 = (1 << 64) - 1
_ROW_COUNTS = ("eth_transactions", "eth_logs", "eth_traces", "eth_token_transfers", "eth_value_flows",
               "eth_addresses", "eth_contracts", "eth_tokens")
# Which value-moving call frames move ETH to their ``to``: delegatecall/staticcall move none, and callcode
# runs another contract's code on the caller's own balance.
_VALUE_CALLS = ("call", None)


@dataclass
class RawBlock:
    """One block as the node gave it: the block with full transactions, its receipts, its trace rows."""

    block: dict
    receipts: list[dict]
    traces: dict[str, list] | None      # chains.ethereum.traces columns; None when the node has no tracer
    transfers: dict[int, dict[str, list]] | None = None   # token events per tx index (decoded once)
    skipped_logs: int = 0


@dataclass
class NewContract:
    address: str
    block_number: int
    tx_index: int
    creator: str | None
    by_internal_call: bool
    code: str | None                    # deployed code from the creating trace, if any


@dataclass
class Extras:
    """What the job fetched for a batch beyond blocks, receipts and traces."""

    codes: dict[str, str] = field(default_factory=dict)                 # address -> deployed code (hex)
    implementations: dict[str, str | None] = field(default_factory=dict)  # address -> EIP-1967 implementation
    tokens: dict[str, dict] = field(default_factory=dict)              # address -> name/symbol/decimals/total_supply


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


def _transfer_rows(logs: list[dict], erc721: set[str]) -> tuple[dict[str, list], int]:
    """Token events of one transaction's logs, and how many malformed ones were skipped."""
    skipped: list = []
    rows = token_transfers(logs, erc721_tokens=erc721, skipped=skipped)
    return rows, len(skipped)


def decoded_transfers(raw: RawBlock, erc721: set[str] = frozenset()) -> dict[int, dict[str, list]]:
    """Token events of each successful transaction of a block, decoded once and kept on the block."""
    if raw.transfers is None:
        raw.transfers = {}
        raw.skipped_logs = 0
        for tx, rc in zip(raw.block.get("transactions") or [], raw.receipts):
            if rc.get("logs") and rc.get("status") != "0x0":
                rows, skipped = _transfer_rows(rc["logs"], erc721)
                raw.skipped_logs += skipped
                if rows["standard"]:
                    raw.transfers[int(tx["transactionIndex"], 16)] = rows
    return raw.transfers


def token_candidates(raws: list[RawBlock], extras: "Extras", state: EthState) -> dict[int, list[str]]:
    """Token contracts first met in the batch, by the block they are first met in: those moved in a token
    event, and new contracts that look like ERC-20/721/1155. Decodes the batch's token events on the way."""
    out: dict[int, list[str]] = {}
    seen = set(state.tokens)
    erc721 = set(state.erc721)
    created: dict[int, list[NewContract]] = {}
    for c in new_contracts(raws):
        created.setdefault(c.block_number, []).append(c)
    for raw in raws:
        number = int(raw.block["number"], 16)
        found: list[str] = []
        for c in created.get(number, ()):
            code = c.code if c.code not in (None, "0x") else extras.codes.get(c.address)
            sels = ct.function_selectors(_b(code) if code else b"")
            if ct.is_erc20(sels) or ct.is_erc721(sels) or ct.is_erc1155(sels):
                found.append(c.address)
            if ct.is_erc721(sels):
                erc721.add(c.address)
        for rows in decoded_transfers(raw, erc721).values():
            found.extend(rows["token_address"])
        for a in found:
            if a not in seen:
                seen.add(a)
                out.setdefault(number, []).append(a)
    return out


def new_contracts(raws: list[RawBlock]) -> list[NewContract]:
    """Contracts the batch creates: successful create frames, else (no traces) receipts' contractAddress."""
    out: list[NewContract] = []
    for raw in raws:
        number = int(raw.block["number"], 16)
        if raw.traces is not None:
            t = raw.traces
            for k in range(len(t["trace_type"])):
                if t["trace_type"][k] == "create" and t["status"][k] == 1 and t["to_address"][k]:
                    out.append(NewContract(t["to_address"][k], number, t["transaction_index"][k],
                                           t["from_address"][k], bool(t["trace_address"][k]), t["output"][k]))
        else:
            for tx, rc in zip(raw.block["transactions"], raw.receipts):
                if rc.get("contractAddress") and rc.get("status", "0x1") == "0x1":
                    out.append(NewContract(rc["contractAddress"].lower(), number, int(tx["transactionIndex"], 16),
                                           tx["from"].lower(), False, None))
    return out


class _Cols:
    """Column lists of one table, appended row by row."""

    def __init__(self, table: str):
        self.schema = ETH_TABLES[table]
        self.cols: dict[str, list] = {f.name: [] for f in self.schema}

    def add(self, **row) -> None:
        for name, col in self.cols.items():
            col.append(row.get(name))

    def __len__(self) -> int:
        return len(next(iter(self.cols.values())))

    def table(self) -> pa.Table:
        return pa.table({f.name: pa.array(self.cols[f.name], f.type) for f in self.schema})


class EthMapper:
    """Maps batches for one store; ``state`` is the dense-id state carried between batches."""

    def __init__(self, state: EthState, source: str):
        self.state = state
        self.source = source
        self.dropped_token_events = 0       # malformed or unconfirmed wrap/unwrap logs left out of transfers

    def build(self, raws: list[RawBlock], extras: Extras) -> Batch:
        st = self.state
        n0 = dict(st.counts)
        t = {name: _Cols(name) for name in ("eth_blocks", "eth_transactions", "eth_logs", "eth_traces",
                                            "eth_token_transfers", "eth_value_flows", "eth_contracts", "eth_tokens")}
        # Flow index rows before address interning: addresses as 20-byte keys in first-seen order.
        flow_tx: list[int] = []
        flow_from: list[bytes | None] = []
        flow_to: list[bytes | None] = []
        flow_asset: list[bytes | None] = []
        flow_kind: list[int] = []
        flow_amount: list[int] = []
        addr_seen: list[bytes] = []          # every address in the order it appears (for interning)
        addr_block: list[int] = []
        blk_first_tx, blk_first_flow, blk_hash, tx_hash, tx_first_flow = [], [], [], [], []
        contracts_by_block: dict[int, list[NewContract]] = {}
        for c in new_contracts(raws):
            contracts_by_block.setdefault(c.block_number, []).append(c)

        counters = dict(n0)
        for raw in raws:
            b = raw.block
            number = int(b["number"], 16)
            try:
                bhash = _b(b["hash"])
                miner = _b(b["miner"].lower())
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise DecodeError(f"malformed block: {exc}", source=f"block {number}") from None
            base_fee = _i(b.get("baseFeePerGas"))
            first = {"first_tx_num": counters["eth_transactions"], "first_log_num": counters["eth_logs"],
                     "first_trace_num": counters["eth_traces"], "first_transfer_num": counters["eth_token_transfers"],
                     "first_flow_num": counters["eth_value_flows"], "first_contract_num": counters["eth_contracts"],
                     "first_token_num": counters["eth_tokens"]}
            blk_first_tx.append(counters["eth_transactions"])
            blk_first_flow.append(counters["eth_value_flows"])
            blk_hash.append(bhash)
            addr_seen.append(miner)
            addr_block.append(number)
            flow_index = 0

            def flow(kind: str, tx_num: int | None, frm: bytes | None, to: bytes | None, asset: bytes | None,
                     amount: int, token_id: int | None = None, trace_num=None, transfer_num=None) -> None:
                nonlocal flow_index
                t["eth_value_flows"].add(flow_num=counters["eth_value_flows"], block_number=number, tx_num=tx_num,
                                         flow_index=flow_index, kind=kind, from_address=frm, to_address=to,
                                         asset=asset, amount=str(amount),
                                         token_id=None if token_id is None else str(token_id),
                                         trace_num=trace_num, transfer_num=transfer_num)
                flow_tx.append(NONE if tx_num is None else tx_num)
                flow_from.append(frm)
                flow_to.append(to)
                flow_asset.append(asset)
                flow_kind.append(FLOW_KIND[kind])
                flow_amount.append(amount)
                for a in (frm, to, asset):
                    if a is not None:
                        addr_seen.append(a)
                        addr_block.append(number)
                counters["eth_value_flows"] += 1
                flow_index += 1

            txs = b.get("transactions") or []
            if len(raw.receipts) != len(txs):
                raise DecodeError(f"{len(raw.receipts)} receipts for {len(txs)} transactions", source=f"block {number}")
            # trace rows grouped by transaction index (rewards: None)
            tr = raw.traces
            by_tx: dict[int | None, list[int]] = {}
            if tr is not None:
                for k, ti in enumerate(tr["transaction_index"]):
                    by_tx.setdefault(ti, []).append(k)
            transfers = decoded_transfers(raw, st.erc721)
            self.dropped_token_events += raw.skipped_logs
            for tx, rc in zip(txs, raw.receipts):
                try:
                    tx_num = counters["eth_transactions"]
                    ti = int(tx["transactionIndex"], 16)
                    h = _b(tx["hash"])
                    if rc.get("transactionHash") not in (None, tx["hash"]):
                        raise DecodeError(f"receipt of {rc.get('transactionHash')} given for {tx['hash']}")
                    frm = _b(tx["from"].lower())
                    to = _b(tx["to"].lower()) if tx.get("to") else None
                    status = _i(rc.get("status"))
                    gas_used = int(rc["gasUsed"], 16)
                    egp = _i(rc.get("effectiveGasPrice")) or _i(tx.get("gasPrice")) or 0
                    logs = rc.get("logs") or []
                    t["eth_transactions"].add(
                        tx_num=tx_num, hash=h, block_seq=st.n_blocks + len(blk_hash) - 1, block_number=number,
                        transaction_index=ti, nonce=int(tx["nonce"], 16), from_address=frm, to_address=to,
                        value=_s(tx["value"]), gas=int(tx["gas"], 16), gas_price=_s(tx.get("gasPrice")),
                        input=_b(tx.get("input", "0x")), transaction_type=_i(tx.get("type")),
                        max_fee_per_gas=_s(tx.get("maxFeePerGas")),
                        max_priority_fee_per_gas=_s(tx.get("maxPriorityFeePerGas")),
                        max_fee_per_blob_gas=_s(tx.get("maxFeePerBlobGas")),
                        blob_versioned_hashes=[_b(x) for x in tx.get("blobVersionedHashes") or []] or None,
                        chain_id=_i(tx.get("chainId")), v=_s(tx.get("v")), r=tx.get("r"), s=tx.get("s"),
                        receipt_status=status, receipt_gas_used=gas_used,
                        receipt_cumulative_gas_used=int(rc["cumulativeGasUsed"], 16),
                        receipt_effective_gas_price=str(egp),
                        receipt_contract_address=_b(rc["contractAddress"].lower()) if rc.get("contractAddress") else None,
                        receipt_root=_b(rc.get("root")), receipt_blob_gas_used=_i(rc.get("blobGasUsed")),
                        receipt_blob_gas_price=_s(rc.get("blobGasPrice")), receipt_logs_count=len(logs))
                    tx_hash.append(h)
                    tx_first_flow.append(counters["eth_value_flows"])
                    addr_seen.append(frm)
                    addr_block.append(number)
                    if to is not None:
                        addr_seen.append(to)
                        addr_block.append(number)
                    counters["eth_transactions"] += 1
                    # fees
                    fee = gas_used * egp
                    burnt = gas_used * min(base_fee, egp) if base_fee is not None else 0
                    if fee - burnt:
                        flow("fee_tip", tx_num, frm, miner, None, fee - burnt)
                    if burnt:
                        flow("fee_burnt", tx_num, frm, None, None, burnt)
                    blob_fee = (_i(rc.get("blobGasUsed")) or 0) * (_i(rc.get("blobGasPrice")) or 0)
                    if blob_fee:
                        flow("blob_fee_burnt", tx_num, frm, None, None, blob_fee)
                    # ETH moved by execution
                    eth_moves: list[tuple[bytes | None, bytes | None, int]] = []
                    if tr is not None:
                        for k in by_tx.get(ti, ()):
                            trace_num = counters["eth_traces"]
                            self._trace_row(t["eth_traces"], tr, k, trace_num, tx_num, number)
                            counters["eth_traces"] += 1
                            for a in (tr["from_address"][k], tr["to_address"][k]):
                                if a:
                                    addr_seen.append(_b(a))
                                    addr_block.append(number)
                            v = tr["value"][k] or 0
                            if not v or tr["status"][k] != 1:
                                continue
                            kind = tr["trace_type"][k]
                            if kind == "call":
                                if tr["call_type"][k] not in _VALUE_CALLS:
                                    continue
                                kind = "internal" if tr["trace_address"][k] else "tx_value"
                            elif kind == "suicide":
                                kind = "selfdestruct"
                            elif kind != "create":
                                continue
                            a, z = _b(tr["from_address"][k]), _b(tr["to_address"][k])
                            flow(kind, tx_num, a, z, None, v, trace_num=trace_num)
                            eth_moves.append((a, z, v))
                    elif status != 0 and int(tx["value"], 16):
                        z = to if to is not None else _b(rc["contractAddress"].lower())
                        v = int(tx["value"], 16)
                        flow("tx_value" if to is not None else "create", tx_num, frm, z, None, v)
                        eth_moves.append((frm, z, v))
                    # logs and token transfers
                    for lg in logs:
                        topics = lg.get("topics") or []
                        if len(topics) > 4:
                            raise DecodeError(f"log {lg.get('logIndex')} has {len(topics)} topics")
                        tp = [_b(x) for x in topics] + [None] * (4 - len(topics))
                        la = _b(lg["address"].lower())
                        t["eth_logs"].add(log_num=counters["eth_logs"], tx_num=tx_num, block_number=number,
                                          transaction_index=ti, log_index=int(lg["logIndex"], 16), address=la,
                                          topic0=tp[0], topic1=tp[1], topic2=tp[2], topic3=tp[3],
                                          n_topics=len(topics), data=_b(lg.get("data", "0x")))
                        counters["eth_logs"] += 1
                        addr_seen.append(la)
                        addr_block.append(number)
                    if ti in transfers:
                        self._transfers(t["eth_token_transfers"], transfers[ti], tx_num, number, ti, eth_moves, flow,
                                        counters)
                except DecodeError as err:
                    raise err.at(f"block {number} tx {tx.get('hash')}") from None
                except (KeyError, ValueError, TypeError, AttributeError) as exc:
                    raise DecodeError(f"malformed transaction or receipt: {type(exc).__name__} {exc}",
                                      source=f"block {number} tx {tx.get('hash')}") from None
            stray = [ti for ti in by_tx if ti is not None and not 0 <= ti < len(txs)]
            if stray:
                raise DecodeError(f"traces name transaction index {stray[0]}, and the block has {len(txs)}",
                                  source=f"block {number}")
            # block rewards (parity) and withdrawals close the block
            for k in by_tx.get(None, ()):
                trace_num = counters["eth_traces"]
                self._trace_row(t["eth_traces"], tr, k, trace_num, None, number)
                counters["eth_traces"] += 1
                z = _b(tr["to_address"][k])
                addr_seen.append(z)
                addr_block.append(number)
                if tr["value"][k]:
                    flow("block_reward", None, None, z, None, tr["value"][k], trace_num=trace_num)
            withdrawals = []
            for w in b.get("withdrawals") or []:
                wa = _b(w["address"].lower())
                gwei = int(w["amount"], 16)
                withdrawals.append({"index": int(w["index"], 16), "validator_index": int(w["validatorIndex"], 16),
                                    "address": wa, "amount": str(gwei)})
                if gwei:
                    flow("withdrawal", None, None, wa, None, gwei * 10**9)
            # contracts created in this block, and tokens first seen in it
            for c in contracts_by_block.get(number, ()):
                self._contract_row(t["eth_contracts"], c, extras, counters, number, first["first_tx_num"])
                addr_seen.append(_b(c.address))
                addr_block.append(number)
            for addr in self._new_tokens(t["eth_token_transfers"], t["eth_contracts"], first, counters):
                meta = extras.tokens.get(addr, {})
                t["eth_tokens"].add(token_num=counters["eth_tokens"], address=_b(addr), block_number=number,
                                    name=meta.get("name"), symbol=meta.get("symbol"), decimals=meta.get("decimals"),
                                    total_supply=None if meta.get("total_supply") is None
                                    else str(meta["total_supply"]))
                counters["eth_tokens"] += 1
                st.tokens.add(addr)
            t["eth_blocks"].add(
                block_seq=st.n_blocks + len(blk_hash) - 1, number=number, hash=bhash,
                parent_hash=_b(b["parentHash"]), nonce=_b(b.get("nonce")), sha3_uncles=_b(b.get("sha3Uncles")),
                logs_bloom=_b(b.get("logsBloom")), transactions_root=_b(b.get("transactionsRoot")),
                state_root=_b(b.get("stateRoot")), receipts_root=_b(b.get("receiptsRoot")), miner=miner,
                difficulty=_s(b.get("difficulty")), total_difficulty=_s(b.get("totalDifficulty")),
                size=_i(b.get("size")), extra_data=_b(b.get("extraData")), gas_limit=int(b["gasLimit"], 16),
                gas_used=int(b["gasUsed"], 16), timestamp=int(b["timestamp"], 16), transaction_count=len(txs),
                base_fee_per_gas=None if base_fee is None else str(base_fee),
                withdrawals_root=_b(b.get("withdrawalsRoot")), withdrawals=withdrawals if "withdrawals" in b else None,
                blob_gas_used=_i(b.get("blobGasUsed")), excess_blob_gas=_i(b.get("excessBlobGas")),
                parent_beacon_block_root=_b(b.get("parentBeaconBlockRoot")), source=self.source,
                first_addr_num=None, **first)

        # Dense address ids, in order of first appearance.
        n_addr0 = st.addrs.n
        keys = np.frombuffer(b"".join(addr_seen), np.uint8).reshape(-1, 20) if addr_seen else np.zeros((0, 20), np.uint8)
        ids = st.addrs.intern(keys, np.ones(len(keys), bool))
        fresh = ids >= n_addr0
        new_ids, first_pos = np.unique(ids[fresh], return_index=True)
        new_blocks = np.asarray(addr_block, np.int64)[fresh][first_pos]
        addresses = pa.table({"addr_num": pa.array(new_ids, pa.int64()),
                              "address": pa.array([bytes(k) for k in st.addrs.keys[new_ids]], pa.binary(20)),
                              "first_block": pa.array(new_blocks, pa.int64())})
        numbers = np.asarray(t["eth_blocks"].cols["number"], np.int64)
        t["eth_blocks"].cols["first_addr_num"] = list(n_addr0 + np.searchsorted(new_blocks, numbers, "left"))
        counters["eth_addresses"] = st.addrs.n

        def ids_of(col: list[bytes | None]) -> np.ndarray:
            out = np.full(len(col), NONE, np.uint32)
            have = np.array([a is not None for a in col], bool)
            if have.any():
                q = np.frombuffer(b"".join(a for a in col if a is not None), np.uint8).reshape(-1, 20)
                out[have] = st.addrs.lookup(q)
            return out

        amounts = flow_amount
        kinds = np.asarray(flow_kind, np.uint8)
        big = np.array([a >> 128 != 0 for a in amounts], bool)
        kinds[big] |= AMOUNT_OVERFLOW
        lo = np.array([(a & _U64) if a >> 128 == 0 else _U64 for a in amounts], np.uint64)
        hi = np.array([(a >> 64) if a >> 128 == 0 else _U64 for a in amounts], np.uint64)
        tails = {
            "eth_blk_first_tx": np.asarray(blk_first_tx, np.uint32),
            "eth_blk_first_flow": np.asarray(blk_first_flow, np.uint64),
            "eth_blk_hash": np.frombuffer(b"".join(blk_hash), np.uint8).reshape(-1, 32),
            "eth_tx_hash": np.frombuffer(b"".join(tx_hash), np.uint8).reshape(-1, 32),
            "eth_tx_first_flow": np.asarray(tx_first_flow, np.uint64),
            "eth_flow_tx": np.asarray(flow_tx, np.uint32),
            "eth_flow_from": ids_of(flow_from),
            "eth_flow_to": ids_of(flow_to),
            "eth_flow_asset": ids_of(flow_asset),
            "eth_flow_kind": kinds,
            "eth_flow_amount_lo": lo,
            "eth_flow_amount_hi": hi,
            "eth_addr_key": st.addrs.keys[n_addr0:].copy(),
        }
        tables = {name: cols.table() for name, cols in t.items()}
        tables["eth_addresses"] = addresses
        st.counts = {k: counters[k] for k in _ROW_COUNTS}
        st.n_blocks += len(raws)
        return Batch(tables=tables, index_tails=tails)

    # -- pieces ----------------------------------------------------------------------
    @staticmethod
    def _trace_row(cols: _Cols, tr: dict[str, list], k: int, trace_num: int, tx_num: int | None, number: int) -> None:
        cols.add(trace_num=trace_num, tx_num=tx_num, block_number=number, transaction_index=tr["transaction_index"][k],
                 trace_index=tr["trace_index"][k], trace_address=tr["trace_address"][k], subtraces=tr["subtraces"][k],
                 trace_type=tr["trace_type"][k], call_type=tr["call_type"][k], reward_type=tr["reward_type"][k],
                 from_address=_b(tr["from_address"][k]), to_address=_b(tr["to_address"][k]),
                 value=None if tr["value"][k] is None else str(tr["value"][k]), input=_b(tr["input"][k]),
                 output=_b(tr["output"][k]), gas=tr["gas"][k], gas_used=tr["gas_used"][k], error=tr["error"][k],
                 status=tr["status"][k], trace_id=tr["trace_id"][k])

    def _transfers(self, cols: _Cols, rows: dict[str, list], tx_num: int, number: int, ti: int,
                   eth_moves: list[tuple[bytes | None, bytes | None, int]], flow, counters: dict[str, int]) -> None:
        """Token transfer rows and flows of one successful transaction; wrap/unwrap only where the ETH moved."""
        moves = list(eth_moves)
        for k in range(len(rows["standard"])):
            std = rows["standard"][k]
            token = _b(rows["token_address"][k])
            frm, to = _b(rows["from_address"][k]), _b(rows["to_address"][k])
            value = rows["value"][k]
            if std in ("wrap", "unwrap"):
                # a WETH9-style Deposit/Withdrawal counts only if that much ETH went in / came out in this tx
                want = (to, token, value) if std == "wrap" else (token, frm, value)
                if want not in moves:
                    self.dropped_token_events += 1
                    continue
                moves.remove(want)
                frm, to = (ZERO_ADDR, to) if std == "wrap" else (frm, ZERO_ADDR)
            num = counters["eth_token_transfers"]
            token_id = rows["token_id"][k]
            cols.add(transfer_num=num, tx_num=tx_num, block_number=number, transaction_index=ti,
                     log_index=rows["log_index"][k], batch_index=rows["batch_index"][k], standard=std,
                     token_address=token, from_address=frm, to_address=to, value=str(value),
                     token_id=None if token_id is None else str(token_id))
            counters["eth_token_transfers"] += 1
            flow(std, tx_num, frm, to, token, value, token_id, transfer_num=num)

    def _new_tokens(self, transfers: _Cols, contracts: _Cols, first: dict, counters: dict[str, int]) -> list[str]:
        """Token contracts first seen in this block: created as one, or first moved in a transfer."""
        out: list[str] = []
        seen = self.state.tokens
        for k in range(first["first_contract_num"] - self.state.counts["eth_contracts"], len(contracts)):
            cols = contracts.cols
            if cols["is_erc20"][k] or cols["is_erc721"][k] or cols["is_erc1155"][k]:
                a = "0x" + cols["address"][k].hex()
                if a not in seen and a not in out:
                    out.append(a)
        start = first["first_transfer_num"] - self.state.counts["eth_token_transfers"]
        for raw in transfers.cols["token_address"][start:]:
            a = "0x" + raw.hex()
            if a not in seen and a not in out:
                out.append(a)
        return out

    def _contract_row(self, cols: _Cols, c: NewContract, extras: Extras, counters: dict[str, int], number: int,
                      first_tx: int) -> None:
        code_hex = c.code if c.code not in (None, "0x") else extras.codes.get(c.address)
        code = _b(code_hex) if code_hex else b""
        sels = ct.function_selectors(code)
        # an EIP-1967 proxy names its implementation in a storage slot, an EIP-1167 clone in its own code
        impl = extras.implementations.get(c.address) or ct.eip1167_implementation(code)
        cols.add(contract_num=counters["eth_contracts"], address=_b(c.address), block_number=number,
                 tx_num=first_tx + c.tx_index, creator=_b(c.creator), by_internal_call=c.by_internal_call, bytecode=code,
                 bytecode_hash=ct.bytecode_hash(code), function_sighashes=sels, is_erc20=ct.is_erc20(sels),
                 is_erc721=ct.is_erc721(sels), is_erc1155=ct.is_erc1155(sels),
                 proxy_implementation=_b(impl) if impl else None)
        counters["eth_contracts"] += 1
        if cols.cols["is_erc721"][-1]:
            self.state.erc721.add(c.address)
