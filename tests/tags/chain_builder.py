"""Hand-built regtest chains for tag and screening tests: named wallets, exact amounts, real blocks.

Each named wallet has one P2PKH address (its key hash is sha256 of the name).
Transactions go into the current block; ``mine`` seals it with a coinbase and
proof of work (regtest target). ``ingest`` writes the blocks as raw files and
runs the real ingest, so the store is built exactly as for any other data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.network import REGTEST
from chaintrail.chains.bitcoin.serialize import (
    BlockHeader,
    OutPoint,
    Tx,
    TxIn,
    TxOut,
    coinbase_tx,
    grind_header,
    merkle_root,
    regtest_genesis_block,
    serialize_block,
)
from chaintrail.ingest.btc_job import BtcIngest

COIN = 100_000_000


@dataclass(frozen=True)
class Coin:
    txid: bytes      # internal byte order
    vout: int
    value: int
    owner: str


def script_of(name: str) -> bytes:
    return b"\x76\xa9\x14" + hashlib.sha256(name.encode()).digest()[:20] + b"\x88\xac"


def address_of(name: str) -> str:
    return script_address(script_of(name), REGTEST)[1]


@dataclass
class ChainBuilder:
    time: int = 1_700_000_000
    blocks: list[bytes] = field(default_factory=list)
    pending: list[Tx] = field(default_factory=list)
    txids: dict[str, str] = field(default_factory=dict)     # label -> display txid

    def __post_init__(self):
        header, cb = regtest_genesis_block()
        self.blocks.append(serialize_block(header.serialize(), [cb.serialize()]))
        self.tip = header.hash()

    @property
    def height(self) -> int:
        return len(self.blocks)

    def mine(self, to: str = "miner", value: int = 50 * COIN, label: str | None = None) -> Coin:
        """Seal the pending txs in a block whose coinbase pays ``value`` to ``to``."""
        cb = coinbase_tx(self.height, [TxOut(value, script_of(to))])
        txs = [cb, *self.pending]
        self.pending = []
        self.time += 600
        header = grind_header(BlockHeader(0x20000000, self.tip, merkle_root([t.txid() for t in txs]), self.time,
                                          0x207FFFFF, 0))
        self.blocks.append(serialize_block(header.serialize(), [t.serialize() for t in txs]))
        self.tip = header.hash()
        if label:
            self.txids[label] = cb.txid()[::-1].hex()
        return Coin(cb.txid(), 0, value, to)

    def pay(self, inputs: list[Coin], outputs: list[tuple[str, int]], label: str | None = None) -> list[Coin]:
        """A tx spending ``inputs`` to ``outputs`` (name, sats); the fee is what is left."""
        assert sum(c.value for c in inputs) >= sum(v for _, v in outputs)
        tx = Tx(tuple(TxIn(OutPoint(c.txid, c.vout)) for c in inputs),
                tuple(TxOut(v, script_of(n)) for n, v in outputs), version=2)
        self.pending.append(tx)
        if label:
            self.txids[label] = tx.txid()[::-1].hex()
        return [Coin(tx.txid(), i, v, n) for i, (n, v) in enumerate(outputs)]

    def ingest(self, folder: Path) -> Path:
        """Write the blocks as raw files and ingest them into ``folder/store``."""
        raw = folder / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        paths = []
        for h, blk in enumerate(self.blocks):
            p = raw / f"block{h:05d}.raw"
            p.write_bytes(blk)
            paths.append(p)
        store = folder / "store"
        with BtcIngest(store, network=REGTEST) as job:
            job.ingest_raw(paths)
        return store


def planted_cashout() -> ChainBuilder:
    """A ransomware cash-out through an exchange deposit address, with amounts that split exactly.

    victim1 and victim2 pay the ransom address (1.0001 and 0.5 BTC); the ransom
    address sweeps both to ``intermediary`` (1.5 BTC, fee 0.0001); the
    intermediary and 0.5 BTC of clean coins pay ``deposit`` 1.9999 BTC (fee
    0.0001); the exchange sweeps ``deposit`` together with its ``hot_wallet``
    coins, which puts both in one cluster. Haircut backward from ``deposit``:
    1.9999 BTC * 1.5 / 2.0 = 1.499925 BTC came from the ransom address.
    """
    b = ChainBuilder()
    v1 = b.mine("victim1")
    v2 = b.mine("victim2")
    clean = b.mine("clean")
    hot = b.mine("hot_wallet")
    b.mine("miner")
    r1 = b.pay([v1], [("ransom", 100_010_000), ("victim1", 50 * COIN - 100_010_000 - 10_000)], label="ransom1")
    r2 = b.pay([v2], [("ransom", 50_000_000), ("victim2", 50 * COIN - 50_000_000 - 10_000)], label="ransom2")
    c2 = b.pay([clean], [("clean2", 50_000_000), ("clean", 50 * COIN - 50_000_000 - 10_000)], label="split")
    b.mine("miner")
    i = b.pay([r1[0], r2[0]], [("intermediary", 150_000_000)], label="sweep")
    b.mine("miner")
    d = b.pay([i[0], c2[0]], [("deposit", 199_990_000)], label="to_deposit")
    b.mine("miner")
    b.pay([d[0], hot], [("hot_wallet", 199_990_000 + 50 * COIN - 10_000)], label="exchange_sweep")
    b.mine("miner")
    return b
