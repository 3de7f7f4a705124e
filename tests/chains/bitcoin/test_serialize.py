"""The per-object transaction and block writer against known hashes, real blocks and python-bitcoinlib."""

from __future__ import annotations

from pathlib import Path

import pytest
from bitcoin.core import CBlock, CTransaction

from chaintrail.chains.bitcoin.serialize import (
    BlockHeader,
    OutPoint,
    Tx,
    TxIn,
    TxOut,
    bip34_height_script,
    bits_to_target,
    coinbase_tx,
    compact_size,
    grind_header,
    merkle_root,
    regtest_genesis_block,
    script_num,
    serialize_block,
    sha256d,
    witness_commitment,
)

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "btc"


def _from_bitcoinlib(tx: CTransaction) -> Tx:
    wit = tx.wit.vtxinwit if not tx.wit.is_null() else [None] * len(tx.vin)
    vin = tuple(TxIn(OutPoint(i.prevout.hash, i.prevout.n), bytes(i.scriptSig), i.nSequence,
                     tuple(w.scriptWitness.stack) if w is not None else ())
                for i, w in zip(tx.vin, wit))
    vout = tuple(TxOut(o.nValue, bytes(o.scriptPubKey)) for o in tx.vout)
    return Tx(vin, vout, version=tx.nVersion, locktime=tx.nLockTime)


def test_compact_size_boundaries():
    assert compact_size(0) == b"\x00"
    assert compact_size(0xFC) == b"\xfc"
    assert compact_size(0xFD) == b"\xfd\xfd\x00"
    assert compact_size(0xFFFF) == b"\xfd\xff\xff"
    assert compact_size(0x10000) == b"\xfe\x00\x00\x01\x00"
    assert compact_size(0x100000000) == b"\xff\x00\x00\x00\x00\x01\x00\x00\x00"
    with pytest.raises(ValueError):
        compact_size(-1)


def test_regtest_genesis_hash_and_merkle_root():
    header, cb = regtest_genesis_block()
    assert header.hash()[::-1].hex() == "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
    assert cb.txid()[::-1].hex() == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    assert int.from_bytes(header.hash(), "little") <= bits_to_target(header.bits)


@pytest.mark.parametrize("name", ["block1.raw", "block481815.raw", "block540107.raw", "block574200.raw"])
def test_rebuilt_mainnet_block_matches_bytes_txids_and_merkle(name):
    path = DATA / "mainnet" / "raw" / name
    if not path.exists():
        pytest.skip(f"{name} not in shared data")
    raw = path.read_bytes()
    blk = CBlock.deserialize(raw)
    txs = [_from_bitcoinlib(t) for t in blk.vtx]
    rebuilt = serialize_block(raw[:80], [t.serialize() for t in txs])
    assert rebuilt == raw
    assert [t.txid() for t in txs] == [t.GetTxid() for t in blk.vtx]
    assert merkle_root([t.txid() for t in txs]) == blk.hashMerkleRoot
    if any(t.has_witness for t in txs):
        assert [t.wtxid() for t in txs[1:]] == [t.GetHash() for t in blk.vtx[1:]]
        reserved = txs[0].vin[0].witness[0]
        commit = blk.vtx[0].vout[blk.get_witness_commitment_index()].scriptPubKey[6:38]
        assert witness_commitment([t.wtxid() for t in txs], reserved) == commit


def test_segwit_tx_vsize_and_round_trip_through_bitcoinlib():
    prev = OutPoint(bytes(range(32)), 1)
    tx = Tx((TxIn(prev, b"", 0xFFFFFFFD, (b"\x30" * 71, b"\x02" + b"\x11" * 32)),),
            (TxOut(12345, b"\x00\x14" + b"\x22" * 20), TxOut(67890, b"\x51\x20" + b"\x33" * 32)),
            version=2, locktime=800000)
    raw = tx.serialize()
    back = CTransaction.deserialize(raw)
    assert back.serialize() == raw
    assert back.GetTxid() == tx.txid()
    assert back.GetHash() == tx.wtxid() != tx.txid()
    # one P2WPKH input, P2WPKH + P2TR outputs: 10.5 + 68 + 31 + 43 vbytes, rounded up
    assert tx.vsize() == 153


def test_script_num_and_bip34_heights():
    assert script_num(0) == b""
    assert script_num(127) == b"\x7f"
    assert script_num(128) == b"\x80\x00"
    assert script_num(-1) == b"\x81"
    assert script_num(255) == b"\xff\x00"
    assert bip34_height_script(1) == b"\x51"
    assert bip34_height_script(16) == b"\x60"
    assert bip34_height_script(17) == b"\x01\x11"
    assert bip34_height_script(500) == b"\x02\xf4\x01"
    # mainnet block 227836's coinbase starts with its BIP34 height
    assert bip34_height_script(227836) == bytes.fromhex("03fc7903")


def test_coinbase_with_commitment_and_ground_header():
    commit = witness_commitment([bytes(32), sha256d(b"a"), sha256d(b"b")])
    cb = coinbase_tx(200, [TxOut(50 * 10**8, b"\x00\x14" + b"\x01" * 20)], tag=b"/test/", commitment=commit)
    assert cb.vin[0].script_sig.startswith(b"\x02\xc8\x00")  # 200 needs a sign byte
    assert cb.vout[-1].script == b"\x6a\x24\xaa\x21\xa9\xed" + commit
    assert cb.vin[0].witness == (bytes(32),)
    header = grind_header(BlockHeader(0x20000000, bytes(32), merkle_root([cb.txid()]), 1_700_000_000,
                                      0x207FFFFF, 0))
    assert int.from_bytes(header.hash(), "little") <= bits_to_target(0x207FFFFF)
    blk = CBlock.deserialize(serialize_block(header.serialize(), [cb.serialize()]))
    assert blk.calc_merkle_root() == header.merkle_root
    assert blk.GetHash() == header.hash()


def test_merkle_root_duplicates_last_hash_on_odd_levels():
    h = [sha256d(bytes([i])) for i in range(3)]
    assert merkle_root(h) == sha256d(sha256d(h[0] + h[1]) + sha256d(h[2] + h[2]))
    assert merkle_root(h[:1]) == h[0]
    with pytest.raises(ValueError):
        merkle_root([])
