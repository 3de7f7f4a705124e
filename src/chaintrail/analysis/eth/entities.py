"""Entities for Ethereum accounts: clustering heuristics, each versioned, each link kept as evidence.

Heuristics (each yields links: two addr_nums, the tx that shows it, a detail):

* ``deposit-reuse/1`` (Victor 2020): every account that pays one exchange deposit address is one customer.
  Deposit addresses come from ``analysis/eth_deposit_addresses.parquet`` (analysis/eth/deposits.py) when it
  is there, else from a simple pattern: an account whose every outgoing value flow goes to one collector H
  that at least ``min_deposits`` such accounts feed. Payments from H itself (gas top-ups) and from contracts
  (pools, routers paying out) are not customers.
* ``gas-funding/1``: F sends a plain ETH transfer of at most ``gas_cap`` wei to an EOA R that already held
  funds from someone else; R sends its next transaction within ``gas_window`` blocks, without F's money R's
  ETH would not have covered that transaction's value plus its fee, and that transaction moves what R held
  before (tokens, or ETH worth at least twice the gas money): F paid R's gas.
* ``approval/1`` (self-authorisation, Victor 2020): an EOA approves another EOA to spend its tokens. A spender
  approved by ``max_approvers`` or more owners is a drainer or a service: its approvals are refused, and listed.
* ``deployer/1``: a contract and the account that created it (an EOA, or the factory contract).
* ``airdrop/1`` (analysis/eth/airdrop.py): recipients of one airdrop (one sender's transfers of one token, each
  the recipient's first, to at least ``airdrop_min_recipients`` addresses, at most ``airdrop_gap`` blocks apart)
  that each forward at least what they got to one common EOA, neither a service nor a known hot wallet: a Sybil
  farm consolidating its claims.

Accounts tagged as services (exchange, mixer, DeFi; ``service`` mask) never link through gas funding or
approvals. Supercluster guard as for Bitcoin: a merge of two clusters that both hold ``big`` or more accounts is
recorded with its tx and heuristic, and with ``block_big_merges`` refused.

Writes ``analysis/eth_clusters.parquet`` (addr_num, cluster_id = smallest addr_num of the entity) and
``analysis/eth_cluster_links.parquet`` (heuristic, a, b, tx_num, block_number, detail) for ``entity explain``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.analysis.eth.airdrop import airdrop_links
from chaintrail.analysis.union_find import find
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import FLOW_KIND

HEURISTICS = ("deposit-reuse/1", "gas-funding/1", "approval/1", "deployer/1", "airdrop/1")
NONE32 = np.uint32(0xFFFFFFFF)
APPROVE = bytes.fromhex("095ea7b3")


@dataclass
class EntityParams:
    heuristics: tuple[str, ...] = HEURISTICS
    gas_cap: int = 10**17                 # wei: at most 0.1 ETH counts as gas money
    gas_window: int = 5                   # blocks between the funding and the funded account's next tx
    max_approvers: int = 3
    min_deposits: int = 5                 # simple deposit detection: accounts feeding one collector
    airdrop_min_recipients: int = 10      # an airdrop: one sender's token to at least this many addresses ...
    airdrop_gap: int = 300                # ... its transfers at most this many blocks apart
    big: int = 1_000
    block_big_merges: bool = False

    def key(self) -> dict:
        return {**asdict(self), "heuristics": list(self.heuristics)}


@dataclass
class EntityReport:
    addresses: int
    clusters: int
    largest: int
    merges: int
    links: dict[str, int]
    deposit_source: str
    refused: list[dict] = field(default_factory=list)        # approvals refused by the approver guard
    large_merges: list[dict] = field(default_factory=list)


class EthGraph:
    """What the heuristics read: transactions, value flows, contracts, as addr_num arrays."""

    def __init__(self, store: ChainStore):
        self.store = store
        self.n = store.counts.get("eth_addresses", 0)
        addrs = store.read_table("eth_addresses", ["addr_num", "address"])
        self._addr = addrs["address"]
        self._num = addrs["addr_num"].to_numpy()
        tx = store.read_table("eth_transactions", ["tx_num", "block_number", "from_address", "to_address",
                                                   "input", "receipt_status", "value", "receipt_gas_used",
                                                   "receipt_effective_gas_price"])
        price = pc.cast(pc.fill_null(tx["receipt_effective_gas_price"], "0"), pa.float64()).to_numpy()
        used = pc.fill_null(tx["receipt_gas_used"], 0).to_numpy(zero_copy_only=False).astype(np.float64)
        # What each tx cost its sender in ETH (value + fee), as float: only compared with balances.
        self.tx_cost = pc.cast(pc.fill_null(tx["value"], "0"), pa.float64()).to_numpy() + price * used
        self.tx_block = tx["block_number"].to_numpy()
        self.tx_from = self.nums(tx["from_address"])
        self.tx_to = self.nums(tx["to_address"])
        self.tx_ok = pc.fill_null(pc.equal(tx["receipt_status"], 1), True).to_numpy(zero_copy_only=False)
        self.tx_input = tx["input"]
        self.f_tx = np.asarray(store.column("eth_flow_tx"))
        self.f_from = np.asarray(store.column("eth_flow_from"))
        self.f_to = np.asarray(store.column("eth_flow_to"))
        self.f_asset = np.asarray(store.column("eth_flow_asset"))
        self.f_kind = np.asarray(store.column("eth_flow_kind")) & np.uint8(0x7F)
        self.f_lo = np.asarray(store.column("eth_flow_amount_lo"))
        self.f_hi = np.asarray(store.column("eth_flow_amount_hi"))
        con = store.read_table("eth_contracts", ["address", "creator", "tx_num", "block_number"])
        self.con_addr = self.nums(con["address"])
        self.con_creator = self.nums(con["creator"])
        self.con_tx = pc.fill_null(con["tx_num"], -1).to_numpy(zero_copy_only=False).astype(np.int64)
        self.is_contract = np.zeros(self.n, np.bool_)
        self.is_contract[self.con_addr[self.con_addr != NONE32]] = True

    def nums(self, col) -> np.ndarray:
        """addr_num of each 20-byte address in ``col`` (NONE for null or unknown)."""
        idx = pc.index_in(col, value_set=self._addr).fill_null(-1).to_numpy(zero_copy_only=False)
        out = np.full(len(idx), NONE32, np.uint32)
        ok = idx >= 0
        out[ok] = self._num[idx[ok]]
        return out

    def hex(self, a: int) -> str:
        return "0x" + bytes(np.asarray(self.store.column("eth_addr_key"))[a]).hex()


# -- heuristics ------------------------------------------------------------------------------------------

Links = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]   # a, b, tx_num, detail


def deposit_addresses(g: EthGraph, min_deposits: int) -> tuple[dict[int, int], str]:
    """deposit addr_num -> its hot wallet / collector, and where that came from."""
    path = g.store.path / "analysis" / "eth_deposit_addresses.parquet"
    if path.exists():
        t = pq.read_table(path, columns=["address", "hot_wallet"])
        d, h = g.nums(t["address"]), g.nums(t["hot_wallet"])
        ok = d != NONE32
        return dict(zip(d[ok].tolist(), h[ok].tolist())), "analysis/eth_deposit_addresses.parquet"
    return simple_deposits(g, min_deposits), f"simple pattern (one collector fed by >= {min_deposits})"


def simple_deposits(g: EthGraph, min_deposits: int) -> dict[int, int]:
    """Accounts whose every outgoing value flow goes to one collector that >= min_deposits such accounts feed."""
    value = (g.f_from != NONE32) & (g.f_to != NONE32) & (g.f_kind <= FLOW_KIND["erc1155"]) \
        & (g.f_kind != FLOW_KIND["fee_tip"]) & (g.f_kind != FLOW_KIND["fee_burnt"]) & (g.f_from != g.f_to)
    frm, to = g.f_from[value].astype(np.int64), g.f_to[value].astype(np.int64)
    first_to = np.full(g.n, -1, np.int64)
    many = np.zeros(g.n, np.bool_)
    order = np.argsort(frm, kind="stable")
    fs, ts = frm[order], to[order]
    starts = np.flatnonzero(np.r_[True, fs[1:] != fs[:-1]])
    first_to[fs[starts]] = ts[starts]
    diff = ts != first_to[fs]
    many[fs[diff]] = True
    single = np.flatnonzero((first_to >= 0) & ~many)
    coll = first_to[single]
    feeds = np.bincount(coll, minlength=g.n)
    keep = feeds[coll] >= min_deposits
    return dict(zip(single[keep].tolist(), coll[keep].tolist()))


def deposit_reuse_links(g: EthGraph, deposits: dict[int, int]) -> Links:
    if not deposits:
        return _empty()
    dep = np.fromiter(deposits.keys(), np.int64, len(deposits))
    hot = np.full(g.n, -1, np.int64)
    hot[dep] = np.fromiter(deposits.values(), np.int64, len(deposits))
    pay = (g.f_to != NONE32) & (g.f_from != NONE32) & (g.f_tx != NONE32)
    pay &= (g.f_kind == FLOW_KIND["tx_value"]) | (g.f_kind == FLOW_KIND["erc20"])
    idx = np.flatnonzero(pay)
    to = g.f_to[idx].astype(np.int64)
    frm = g.f_from[idx].astype(np.int64)
    sel = (hot[to] >= 0) & (frm != hot[to]) & ~g.is_contract[frm] & (hot[frm] < 0)
    idx, to, frm = idx[sel], to[sel], frm[sel]
    # One link per (deposit, customer): the customer's first payment, tied to the deposit's first customer.
    key = to * g.n + frm
    _, first = np.unique(key, return_index=True)
    idx, to, frm = idx[first], to[first], frm[first]
    order = np.lexsort((idx, to))
    idx, to, frm = idx[order], to[order], frm[order]
    head = np.flatnonzero(np.r_[True, to[1:] != to[:-1]])
    anchor = np.repeat(frm[head], np.diff(np.r_[head, len(to)]))
    m = frm != anchor
    return (anchor[m], frm[m], g.f_tx[idx[m]].astype(np.int64),
            [f"both paid deposit address {g.hex(int(d))}" for d in to[m].tolist()])


def gas_funding_links(g: EthGraph, p: EntityParams, service: np.ndarray) -> Links:
    eth_plain = (g.f_kind == FLOW_KIND["tx_value"]) & (g.f_hi == 0) & (g.f_lo > 0) & (g.f_lo <= p.gas_cap) \
        & (g.f_asset == NONE32) & (g.f_from != NONE32) & (g.f_to != NONE32)
    idx = np.flatnonzero(eth_plain)
    frm, to = g.f_from[idx].astype(np.int64), g.f_to[idx].astype(np.int64)
    keep = ~g.is_contract[to] & ~service[frm] & ~service[to] & (frm != to)
    idx, frm, to = idx[keep], frm[keep], to[keep]
    if not len(idx):
        return _empty()
    tx = g.f_tx[idx].astype(np.int64)
    blk = g.tx_block[tx]
    # The funded account's next tx after the funding, and its first inflow from anyone but the funder.
    sender = g.tx_from.astype(np.int64)
    s_order = np.lexsort((np.arange(len(sender)), sender))
    s_addr, s_tx = sender[s_order], s_order
    pos = np.searchsorted(s_addr * (len(sender) + 1) + s_tx, to * (len(sender) + 1) + tx, side="right")
    has_next = (pos < len(s_addr)) & (s_addr[np.minimum(pos, len(s_addr) - 1)] == to)
    nxt = np.where(has_next, s_tx[np.minimum(pos, len(s_addr) - 1)], -1)
    acts = has_next & (g.tx_block[np.maximum(nxt, 0)] - blk <= p.gas_window)
    held = _held_before(g, to, frm, tx)
    cost = g.tx_cost[np.maximum(nxt, 0)]
    short = _eth_before(g, to, idx) < cost
    # The funded tx moves what R held before: tokens, or ETH worth at least twice the gas money.
    tok = g.f_asset != NONE32
    moved = np.isin(nxt * g.n + to, g.f_tx[tok].astype(np.int64) * g.n + g.f_from[tok].astype(np.int64))
    ok = acts & held & short & (moved | (2.0 * g.f_lo[idx].astype(np.float64) <= cost))
    return (frm[ok], to[ok], tx[ok],
            [f"funded {int(v)} wei for gas, acted in tx_num {int(n)}" for v, n in zip(g.f_lo[idx[ok]], nxt[ok])])


def _eth_before(g: EthGraph, who: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """ETH balance (float wei) of each ``who`` just before value flow ``flow``, from the store's ETH flows."""
    eth = np.flatnonzero(g.f_asset == NONE32)
    amt = g.f_lo[eth].astype(np.float64) + g.f_hi[eth].astype(np.float64) * 2.0**64
    frm, to = g.f_from[eth], g.f_to[eth]
    inn, out = to != NONE32, frm != NONE32
    acct = np.concatenate([to[inn], frm[out]]).astype(np.int64)
    pos = np.concatenate([eth[inn], eth[out]]).astype(np.int64)
    delta = np.concatenate([amt[inn], -amt[out]])
    order = np.lexsort((pos, acct))
    acct, pos, run = acct[order], pos[order], np.cumsum(delta[order])
    start = np.searchsorted(acct, who, side="left")
    k = np.searchsorted(acct * (len(g.f_tx) + 1) + pos, who * (len(g.f_tx) + 1) + flow, side="left") - 1
    base = np.where(start > 0, run[np.maximum(start - 1, 0)], 0.0)
    return np.where(k >= start, run[np.maximum(k, 0)] - base, 0.0)


def _held_before(g: EthGraph, who: np.ndarray, funder: np.ndarray, tx: np.ndarray) -> np.ndarray:
    """Whether ``who`` received value from someone other than ``funder`` before tx ``tx``."""
    inflow = (g.f_to != NONE32) & (g.f_from != NONE32) & (g.f_tx != NONE32) & (g.f_kind <= FLOW_KIND["unwrap"])
    i = np.flatnonzero(inflow)
    to, frm, t = g.f_to[i].astype(np.int64), g.f_from[i].astype(np.int64), g.f_tx[i].astype(np.int64)
    order = np.lexsort((t, to))
    to, frm, t = to[order], frm[order], t[order]
    lo = np.searchsorted(to, who, side="left")
    hi = np.searchsorted(to, who, side="right")
    return _any_other_before(lo, hi, frm, t, funder, tx)


@nb.njit(cache=True)
def _any_other_before(lo, hi, frm, t, funder, tx):
    out = np.zeros(lo.shape[0], np.bool_)
    for k in range(lo.shape[0]):
        for j in range(lo[k], hi[k]):
            if t[j] >= tx[k]:
                break
            if frm[j] != funder[k]:
                out[k] = True
                break
    return out


def approval_links(g: EthGraph, p: EntityParams, service: np.ndarray) -> tuple[Links, list[dict]]:
    inputs = g.tx_input.to_pylist()
    owners, spenders, txs = [], [], []
    for t, data in enumerate(inputs):
        if data is not None and len(data) >= 68 and data[:4] == APPROVE and g.tx_ok[t] \
                and int.from_bytes(data[36:68], "big") > 0:
            owners.append(int(g.tx_from[t]))
            spenders.append(data[16:36])
            txs.append(t)
    if not owners:
        return _empty(), []
    sp = g.nums(pa.array(spenders, pa.binary(20)))
    own = np.array(owners, np.int64)
    tx = np.array(txs, np.int64)
    ok = (sp != NONE32) & ~g.is_contract[np.minimum(sp, g.n - 1)] & (own != sp)
    own, sp, tx = own[ok], sp[ok].astype(np.int64), tx[ok]
    pairs = np.unique(sp * g.n + own)
    approvers = np.bincount(pairs // g.n, minlength=g.n)
    refused_mask = approvers[sp] >= p.max_approvers
    refused = [{"spender": g.hex(int(s)), "approvers": int(approvers[s]),
                "why": f"approved by {int(approvers[s])} owners: a drainer or a service, not self-authorisation"}
               for s in np.unique(sp[refused_mask]).tolist()]
    keep = ~refused_mask & ~service[own] & ~service[sp]
    own, sp, tx = own[keep], sp[keep], tx[keep]
    return (own, sp, tx, ["approved its tokens to an EOA (self-authorisation)"] * len(own)), refused


def deployer_links(g: EthGraph) -> Links:
    ok = (g.con_addr != NONE32) & (g.con_creator != NONE32)
    return (g.con_creator[ok].astype(np.int64), g.con_addr[ok].astype(np.int64), g.con_tx[ok],
            ["created this contract"] * int(ok.sum()))


def _empty() -> Links:
    z = np.zeros(0, np.int64)
    return z, z, z, []


# -- union -----------------------------------------------------------------------------------------------

@nb.njit(cache=True)
def union_guarded(parent, size, a, b, big, block, events):
    """Union each pair; a merge of two clusters both >= big is recorded in ``events`` (and refused if block)."""
    merges, ne = 0, 0
    for i in range(a.shape[0]):
        ra, rb = find(parent, a[i]), find(parent, b[i])
        if ra == rb:
            continue
        if size[ra] >= big and size[rb] >= big:
            if ne < events.shape[0]:
                events[ne, 0], events[ne, 1], events[ne, 2] = i, size[ra], size[rb]
                ne += 1
            if block:
                continue
        if ra > rb:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        merges += 1
    return merges, ne


def collect_links(g: EthGraph, p: EntityParams, service: np.ndarray) -> tuple[pa.Table, str, list[dict]]:
    """Every heuristic's links as one table, in heuristic order."""
    parts: list[pa.Table] = []
    source = ""
    refused: list[dict] = []
    for h in p.heuristics:
        if h == "deposit-reuse/1":
            deps, source = deposit_addresses(g, p.min_deposits)
            links = deposit_reuse_links(g, deps)
        elif h == "gas-funding/1":
            links = gas_funding_links(g, p, service)
        elif h == "approval/1":
            links, refused = approval_links(g, p, service)
        elif h == "deployer/1":
            links = deployer_links(g)
        elif h == "airdrop/1":
            deps, _ = deposit_addresses(g, p.min_deposits)
            hot = np.zeros(g.n, np.bool_)
            hot[np.fromiter((x for x in deps.values() if x != NONE32), np.int64)] = True
            links = airdrop_links(g, p, service | hot)
        else:
            raise ValueError(f"unknown heuristic {h!r} (known: {', '.join(HEURISTICS)})")
        a, b, tx, detail = links
        blk = np.where(tx >= 0, g.tx_block[np.maximum(tx, 0)] if len(g.tx_block) else -1, -1)
        parts.append(pa.table({"heuristic": pa.array([h] * len(a), pa.string()), "a": a.astype(np.int64),
                               "b": b.astype(np.int64), "tx_num": tx.astype(np.int64),
                               "block_number": blk.astype(np.int64), "detail": pa.array(detail, pa.string())}))
    return pa.concat_tables(parts), source, refused


def build_entities(store: ChainStore, params: EntityParams | None = None, service: np.ndarray | None = None,
                   write: bool = True) -> tuple[np.ndarray, EntityReport]:
    """Cluster labels (smallest addr_num of each entity) for every Ethereum account, and the report."""
    p = params or EntityParams()
    g = EthGraph(store)
    service = np.zeros(g.n, np.bool_) if service is None else service
    links, source, refused = collect_links(g, p, service)
    parent, size = np.arange(g.n, dtype=np.int64), np.ones(g.n, np.int64)
    events = np.zeros((4096, 3), np.int64)
    a, b = links["a"].to_numpy(), links["b"].to_numpy()
    merges, ne = union_guarded(parent, size, a, b, p.big, p.block_big_merges, events)
    labels = _roots(parent)
    large = []
    for i, sa, sb in events[:ne].tolist():
        row = links.slice(i, 1).to_pylist()[0]
        large.append({"heuristic": row["heuristic"], "tx_num": row["tx_num"], "a": g.hex(row["a"]),
                      "b": g.hex(row["b"]), "size_a": sa, "size_b": sb, "blocked": p.block_big_merges})
    sizes = np.bincount(labels, minlength=g.n) if g.n else np.zeros(0, np.int64)
    counts = {h: 0 for h in p.heuristics}
    for h, c in zip(*np.unique(links["heuristic"].to_numpy(zero_copy_only=False), return_counts=True)):
        counts[str(h)] = int(c)
    report = EntityReport(g.n, int((sizes > 0).sum()), int(sizes.max()) if g.n else 0, int(merges), counts,
                          source, refused, large)
    if write:
        write_entities(store, labels, links, p, report)
    return labels, report


@nb.njit(cache=True)
def _roots(parent):
    out = np.empty(parent.shape[0], np.int64)
    for x in range(parent.shape[0]):
        out[x] = find(parent, x)
    return out


def write_entities(store: ChainStore, labels: np.ndarray, links: pa.Table, p: EntityParams,
                   report: EntityReport) -> None:
    out = store.path / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("eth_clusters", pa.table({"addr_num": np.arange(len(labels), dtype=np.int64),
                                                   "cluster_id": labels.astype(np.int64)})),
                        ("eth_cluster_links", links)):
        tmp = out / f"{name}.parquet.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, out / f"{name}.parquet")
    meta = {"params": p.key(), "report": asdict(report)}
    tmp = out / "eth_clusters.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, out / "eth_clusters.json")


def eth_cluster_labels(store: ChainStore) -> np.ndarray:
    """Entity id of every Ethereum account (its own addr_num where clustering has not run)."""
    n = store.counts.get("eth_addresses", 0)
    path = store.path / "analysis" / "eth_clusters.parquet"
    if not path.exists():
        return np.arange(n, dtype=np.int64)
    labels = pq.read_table(path, columns=["cluster_id"])["cluster_id"].to_numpy()
    if len(labels) < n:
        labels = np.concatenate([labels, np.arange(len(labels), n, dtype=np.int64)])
    return labels


def service_mask(store: ChainStore) -> np.ndarray:
    """Accounts tagged (in the store's tags) as exchanges, mixers, bridges, DEXs or other DeFi services."""
    from chaintrail.tags import taxonomy as tx
    from chaintrail.tags.tagstore import TagStore

    n = store.counts.get("eth_addresses", 0)
    mask = np.zeros(n, np.bool_)
    t = TagStore(store.path).tags
    if not n or not t.num_rows:
        return mask
    services = {c for c in tx.CONCEPTS if tx._under(c, "service")}
    keys = np.asarray(store.column("eth_addr_key"))
    key_of = {bytes(k): i for i, k in enumerate(keys)}
    for a, cat, cats in zip(t["address"].to_pylist(), t["category"].to_pylist(), t["risk_categories"].to_pylist()):
        if a and len(a) == 42 and a.startswith("0x") and (cat in services or {"exchange", "mixer"} & set(cats or ())):
            i = key_of.get(bytes.fromhex(a[2:]))
            if i is not None:
                mask[i] = True
    return mask


def explain_eth(store: ChainStore, addr_a: str, addr_b: str) -> list[dict]:
    """The shortest chain of heuristic links joining two accounts of one entity, each with its tx and detail."""
    from collections import deque

    from chaintrail.errors import UsageError

    path = store.path / "analysis" / "eth_cluster_links.parquet"
    if not path.exists():
        raise UsageError("no Ethereum entities yet: run chaintrail cluster --chain eth")
    keys = np.asarray(store.column("eth_addr_key"))
    key_of = {bytes(k): i for i, k in enumerate(keys)}
    nums = []
    for a in (addr_a, addr_b):
        h = a.strip().lower()
        i = key_of.get(bytes.fromhex(h[2:])) if h.startswith("0x") and len(h) == 42 else None
        if i is None:
            raise UsageError(f"account {a} is not in the store")
        nums.append(i)
    links = pq.read_table(path).to_pylist()
    adj: dict[int, list[int]] = {}
    for k, r in enumerate(links):
        adj.setdefault(r["a"], []).append(k)
        adj.setdefault(r["b"], []).append(k)
    prev: dict[int, int] = {nums[0]: -1}
    todo = deque([nums[0]])
    while todo and nums[1] not in prev:
        x = todo.popleft()
        for k in adj.get(x, []):
            y = links[k]["b"] if links[k]["a"] == x else links[k]["a"]
            if y not in prev:
                prev[y] = k
                todo.append(y)
    if nums[1] not in prev:
        raise UsageError(f"{addr_a} and {addr_b} are in different entities")
    hashes = np.asarray(store.column("eth_tx_hash"))
    out, x = [], nums[1]
    while prev[x] != -1:
        r = links[prev[x]]
        out.append({"from": "0x" + bytes(keys[r["a"]]).hex(), "to": "0x" + bytes(keys[r["b"]]).hex(),
                    "heuristic": r["heuristic"], "detail": r["detail"], "block": r["block_number"],
                    "tx": "0x" + bytes(hashes[r["tx_num"]]).hex() if r["tx_num"] >= 0 else None})
        x = r["a"] if r["b"] == x else r["b"]
    return out[::-1]
