"""An independent reader of generated block folders (python-bitcoinlib), shared by the scenario tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bitcoin.core import CBlock

from chaintrail.chains.bitcoin.blockfiles import deobfuscate, read_xor_key
from chaintrail.chains.bitcoin.undo import parse_rev_file

REGTEST_MAGIC = bytes.fromhex("fabfb5da")


@dataclass
class ChainView:
    """Blocks, rev records and a UTXO-style index built only from the files on disk."""

    folder: Path
    blocks: list[CBlock] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    revs: list = field(default_factory=list)
    txs: dict[bytes, tuple[int, int, object]] = field(default_factory=dict)   # txid -> (height, index, tx)
    spender: dict[tuple[bytes, int], bytes] = field(default_factory=dict)     # outpoint -> spending txid

    def out(self, txid: bytes, vout: int):
        return self.txs[txid][2].vout[vout]


def read_folder(folder: Path) -> ChainView:
    view = ChainView(folder)
    key = read_xor_key(folder)
    for p in sorted(folder.glob("blk*.dat")):
        data = p.read_bytes()
        if key:
            data = deobfuscate(data, key, 0)
        pos = 0
        while pos < len(data):
            assert data[pos:pos + 4] == REGTEST_MAGIC
            n = int.from_bytes(data[pos + 4:pos + 8], "little")
            view.raw.append(data[pos + 8:pos + 8 + n])
            pos += 8 + n
    for p in sorted(folder.glob("rev*.dat")):
        data = p.read_bytes()
        if key:
            data = deobfuscate(data, key, 0)
        view.revs += parse_rev_file(data, REGTEST_MAGIC, p.name)
    for h, raw in enumerate(view.raw):
        b = CBlock.deserialize(raw)
        view.blocks.append(b)
        for i, tx in enumerate(b.vtx):
            txid = tx.GetTxid()
            view.txs[txid] = (h, i, tx)
            if i:
                for txin in tx.vin:
                    view.spender[(txin.prevout.hash, txin.prevout.n)] = txid
    return view


def display(txid: bytes) -> str:
    return txid[::-1].hex()


def from_display(txid: str) -> bytes:
    return bytes.fromhex(txid)[::-1]
