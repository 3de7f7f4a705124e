"""Resumable Ethereum ingest from a JSON-RPC node into the chain store, following the head through reorgs.

Blocks are taken in batches aligned to multiples of ``batch_blocks`` (block numbers, not the run's start), so
batch boundaries depend only on the chain: a run killed at any point and rerun commits the same parts as an
uninterrupted one, byte for byte. Each batch is fetched whole (blocks with transactions, receipts, traces,
then the code, proxy slots and token metadata of what it creates), checked for consistency (receipts and
traces belong to the blocks fetched, every block's parent is the one before it), mapped, and committed in
one atomic commit.

Before every batch the store's tip is checked against the node: if the node's block at that height has
another hash, the chain reorganised, and the store is cut back to the last block both agree on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chaintrail.chains.ethereum.contracts import EIP1967_IMPLEMENTATION_SLOT
from chaintrail.chains.ethereum.rpc import EthRpc, RpcMethodMissing
from chaintrail.chains.ethereum.token_metadata import token_metadata
from chaintrail.chains.ethereum.traces import geth_traces, parity_traces
from chaintrail.errors import SourceError, StoreError, UsageError
from chaintrail.ingest.eth_extract import Extras, RawBlock, new_contracts, token_candidates
from chaintrail.ingest.eth_mapper import EthMapper, EthState
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import ETH_FIRST_COLUMN
from chaintrail.store.index import ETH_COLUMNS, load_columns

log = logging.getLogger(__name__)

DEFAULT_BATCH_BLOCKS = 100
TRACE_MODES = ("auto", "require", "parity", "geth", "off")


@dataclass
class EthIngestReport:
    blocks: int = 0
    transactions: int = 0
    logs: int = 0
    traces: int = 0
    token_transfers: int = 0
    value_flows: int = 0
    contracts: int = 0
    rolled_back: int = 0
    reorgs: int = 0
    tip: int | None = None
    node_head: int | None = None
    traces_source: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class EthIngest:
    """Feeds one node's blocks into one store; holds the store's writer lock for its lifetime."""

    def __init__(self, store_path: str | Path, rpc: EthRpc, *, source: str, batch_blocks: int = DEFAULT_BATCH_BLOCKS,
                 traces: str = "auto", progress: Callable[[int, int], None] | None = None):
        if traces not in TRACE_MODES:
            raise UsageError(f"--traces must be one of {', '.join(TRACE_MODES)}, not {traces!r}")
        if batch_blocks < 1:
            raise UsageError("the batch size must be at least one block")
        self.rpc = rpc
        self.source = source
        self.batch_blocks = batch_blocks
        self.trace_mode = traces
        if traces in ("parity", "geth"):
            rpc.use_traces(traces)
        self.progress = progress
        self.report = EthIngestReport()
        self.store = ChainStore(store_path, writable=True, create=True)
        try:
            self._check_chain()
            self._load_state()
        except BaseException:
            self.store.close()
            raise

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "EthIngest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- state -----------------------------------------------------------------------
    @property
    def eth(self) -> dict:
        return self.store.manifest.get("eth") or {}

    def _check_chain(self) -> None:
        self.chain_id = self.rpc.chain_id()
        have = self.eth.get("chain_id")
        if have is not None and have != self.chain_id:
            raise StoreError(f"store {self.store.path} holds Ethereum chain {have}; the node serves chain "
                             f"{self.chain_id}")
        flavour = self.eth.get("traces")
        self.flavour: str | None = None if self.trace_mode == "off" else flavour
        if flavour == "none" and self.trace_mode == "require":
            raise StoreError(f"store {self.store.path} was ingested without traces; --traces require cannot add them "
                             "to blocks already in it")

    def _load_state(self) -> None:
        c = self.store.counts
        cols = load_columns(self.store.index_dir, c, tuple(x for x in ETH_COLUMNS if x.name in
                                                          ("eth_addr_key", "eth_blk_hash")))
        self.hashes = cols["eth_blk_hash"]
        tokens = self.store.read_table("eth_tokens", ["address"])["address"].to_pylist()
        contracts = self.store.read_table("eth_contracts", ["address", "is_erc721"]).to_pylist()
        self.state = EthState(c, cols["eth_addr_key"], {"0x" + a.hex() for a in tokens},
                              {"0x" + r["address"].hex() for r in contracts if r["is_erc721"]})
        self.mapper = EthMapper(self.state, self.source)

    @property
    def first_block(self) -> int | None:
        return self.eth.get("first_block")

    @property
    def tip(self) -> int | None:
        n = self.state.n_blocks
        return None if n == 0 else self.first_block + n - 1

    def _tip_hash(self) -> str:
        return "0x" + bytes(self.hashes[self.state.n_blocks - 1]).hex()

    # -- running -----------------------------------------------------------------------
    def run(self, start: int | None = None, stop: int | None = None, *, confirmations: int = 0) -> EthIngestReport:
        """Ingest from the store's tip (or ``start`` into an empty store) up to ``stop`` (default: the node's
        head less ``confirmations``)."""
        head = self.rpc.head()
        self.report.node_head = head
        target = head - confirmations if stop is None else stop
        if stop is not None and stop > head:
            raise UsageError(f"--to {stop} is past the node's head {head}")
        self._reconcile()
        nxt = self._next_block(start)
        if target >= nxt:
            self._ingest_range(nxt, target)
        self.report.tip = self.tip
        return self.report

    def follow(self, *, confirmations: int, poll_s: float = 2.0, stop_after: float | None = None,
               should_stop: Callable[[], bool] | None = None, start: int | None = None) -> EthIngestReport:
        """Track the head until interrupted (or ``stop_after`` seconds), ``confirmations`` blocks behind it."""
        t0 = time.monotonic()
        first = True
        while True:
            self.run(start if first else None, confirmations=confirmations)
            first = False
            if should_stop and should_stop():
                break
            if stop_after is not None and time.monotonic() - t0 >= stop_after:
                break
            time.sleep(poll_s)
        return self.report

    def _next_block(self, start: int | None) -> int:
        if self.tip is None:
            return 0 if start is None else start
        if start is not None and start != self.tip + 1:
            raise UsageError(f"the store holds blocks {self.first_block}..{self.tip}; --from must be {self.tip + 1} "
                             "or left out (a store's Ethereum blocks are one unbroken run)")
        return self.tip + 1

    # -- reorgs --------------------------------------------------------------------------
    def _reconcile(self) -> None:
        """Cut the store back to the last block the node agrees with (a reorg since the last run)."""
        if self.tip is None:
            return
        hi = self.tip
        node_head = self.report.node_head if self.report.node_head is not None else self.rpc.head()
        hi = min(hi, node_head)
        if hi == self.tip and self.rpc.block_headers([hi])[0]["hash"] == self._tip_hash():
            return
        # walk back in strides until a block matches, then keep everything up to it
        n = hi
        while n >= self.first_block:
            lo = max(self.first_block, n - 63)
            heads = self.rpc.block_headers(list(range(lo, n + 1)))
            for number, hd in zip(range(n, lo - 1, -1), reversed(heads)):
                if hd["hash"] == "0x" + bytes(self.hashes[number - self.first_block]).hex():
                    self.rollback_to(number)
                    return
            n = lo - 1
        self.rollback_to(self.first_block - 1)

    def rollback_to(self, number: int) -> None:
        """Drop every block above ``number`` and all it added (tables, index rows, address ids)."""
        if self.tip is None or number >= self.tip:
            return
        keep_blocks = number - self.first_block + 1
        dropped = self.tip - number
        blocks = self.store.read_table("eth_blocks", ["block_seq", *ETH_FIRST_COLUMN.values()])
        row = blocks.slice(keep_blocks, 1).to_pylist()[0]
        keep = {"eth_blocks": keep_blocks} | {t: int(row[c]) for t, c in ETH_FIRST_COLUMN.items()}
        manifest = {"eth": self.eth | {"tip": number}} if keep_blocks else {"eth": {}}
        self.store.cut_tables(keep, manifest)
        self.report.rolled_back += dropped
        self.report.reorgs += 1
        log.warning("chain reorganised: dropped %d block(s) above %d", dropped, number)
        self._load_state()

    # -- batches ---------------------------------------------------------------------------
    def _ingest_range(self, a: int, b: int) -> None:
        for _ in range(5):
            try:
                return self._pipeline(a, b)
            except _Reorged as r:
                log.warning("block %d changed while it was fetched (reorg); checking the store's tip", r.number)
                self._reconcile()
                a = self.tip + 1 if self.tip is not None else a
        raise SourceError(f"blocks from {a} kept changing while they were fetched (the node is reorganising)")

    def _pipeline(self, a: int, b: int) -> None:
        """Fetch batch k+1 while batch k is mapped and committed: the node and the mapper work at once."""
        ranges = []
        while a <= b:
            end = min(b, (a // self.batch_blocks + 1) * self.batch_blocks - 1)
            ranges.append((a, end))
            a = end + 1
        if not ranges:
            return
        with ThreadPoolExecutor(1, thread_name_prefix="eth-prefetch") as pool:
            ahead = pool.submit(self._fetch_part, *ranges[0])
            for i, (s, e) in enumerate(ranges):
                raws, extras = ahead.result()
                ahead = pool.submit(self._fetch_part, *ranges[i + 1]) if i + 1 < len(ranges) else None
                try:
                    if self.tip is not None and raws[0].block.get("parentHash") != self._tip_hash():
                        raise _Reorged(s)
                    self._commit_batch(raws, extras, s, e)
                except BaseException:
                    if ahead is not None:
                        ahead.cancel()
                    raise
                if self.progress:
                    self.progress(e - ranges[0][0] + 1, ranges[-1][1] - ranges[0][0] + 1)

    def _fetch_part(self, a: int, b: int) -> tuple[list[RawBlock], Extras]:
        """One batch's blocks, receipts and traces, with the code and proxy slots of the contracts it creates."""
        raws = self._fetch(list(range(a, b + 1)))
        return raws, self._code_extras(raws)

    def _fetch(self, numbers: list[int]) -> list[RawBlock]:
        want_traces = self.trace_mode != "off"
        blocks, receipts, flavour, answers = self.rpc.block_data(numbers, traces=want_traces)
        for i in range(1, len(blocks)):
            if blocks[i].get("parentHash") != blocks[i - 1]["hash"]:
                raise _Reorged(numbers[i])
        traces = self._traces(numbers, blocks, flavour, answers) if want_traces else [None] * len(numbers)
        if not want_traces:
            self.flavour = "none"
        return [RawBlock(blk, rcs, tr) for blk, rcs, tr in zip(blocks, receipts, traces)]

    def _traces(self, numbers: list[int], blocks: list[dict], flavour: str | None,
                answers: list[list[dict]]) -> list[dict | None]:
        have = self.eth.get("traces")
        if flavour is None:
            if self.trace_mode != "auto":
                raise SourceError("the node has neither trace_block nor debug_traceBlockByNumber (callTracer); "
                                  "internal transactions cannot be read (--traces off to ingest without them)")
            if have not in (None, "none"):
                raise SourceError(f"the store was ingested with {have} traces, and this node has no tracer")
            self._note("the node has neither trace_block nor debug_traceBlockByNumber: ingesting without traces "
                       "(no internal transactions, no contracts created by contracts)")
        self.flavour = flavour or "none"
        self.report.traces_source = self.flavour
        if flavour == "parity":
            out = []
            for num, ans, blk in zip(numbers, answers, blocks):
                if ans and any(t.get("blockHash") not in (None, blk["hash"]) for t in ans):
                    raise _Reorged(num)
                out.append(parity_traces(num, ans))
            return out
        if flavour == "geth":
            return [geth_traces(num, [tx["hash"] for tx in blk["transactions"]], ans)
                    for num, ans, blk in zip(numbers, answers, blocks)]
        return [None] * len(numbers)

    def _note(self, note: str) -> None:
        if note not in self.report.notes:
            self.report.notes.append(note)
            log.warning(note)

    def _code_extras(self, raws: list[RawBlock]) -> Extras:
        ex = Extras()
        created = new_contracts(raws)
        need_code = [(c.address, c.block_number) for c in created if c.code in (None, "0x")]
        if need_code:
            ex.codes.update((a, code) for (a, _), code in zip(need_code, self.rpc.codes_at(need_code)))
        if created:
            words = self.rpc.storage_items([(c.address, EIP1967_IMPLEMENTATION_SLOT, c.block_number)
                                            for c in created])
            for c, w in zip(created, words):
                impl = int(w, 16) if len(w) > 2 else 0
                if impl and impl >> 160 == 0:
                    ex.implementations[c.address] = "0x" + impl.to_bytes(20, "big").hex()
        return ex

    def _token_extras(self, raws: list[RawBlock], ex: Extras) -> None:
        """Metadata of the token contracts first met in this batch (depends on the tokens already known)."""
        for number, addrs in token_candidates(raws, ex, self.state.tokens, self.state.erc721).items():
            try:
                meta = token_metadata(self.rpc, addrs, number)
            except RpcMethodMissing as exc:
                self._note(f"token names, symbols and decimals are left empty: {exc}")
                continue
            for k, a in enumerate(addrs):
                ex.tokens[a] = {name: col[k] for name, col in meta.items()}

    def _commit_batch(self, raws: list[RawBlock], extras: Extras, a: int, b: int) -> None:
        self._token_extras(raws, extras)
        batch = self.mapper.build(raws, extras)
        eth = {"chain_id": self.chain_id, "traces": self.flavour or "none",
               "first_block": self.first_block if self.first_block is not None else a, "tip": b}
        batch.manifest = {"eth": eth}
        self.store.commit(batch)
        self.hashes = np.concatenate([self.hashes, batch.index_tails["eth_blk_hash"]]) if len(self.hashes) \
            else batch.index_tails["eth_blk_hash"]
        r = self.report
        r.blocks += len(raws)
        for key, table in (("transactions", "eth_transactions"), ("logs", "eth_logs"), ("traces", "eth_traces"),
                           ("token_transfers", "eth_token_transfers"), ("value_flows", "eth_value_flows"),
                           ("contracts", "eth_contracts")):
            setattr(r, key, getattr(r, key) + batch.tables[table].num_rows)


class _Reorged(Exception):
    def __init__(self, number: int):
        self.number = number
