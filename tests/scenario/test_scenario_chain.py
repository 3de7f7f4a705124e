"""The generated chain is a valid regtest chain: PoW, merkle roots, witness commitments, undo data, money."""

from __future__ import annotations

import hashlib

import numpy as np
from bitcoin.core import CBlock

from chaintrail.chains.bitcoin.nbhash import hash160 as nb_hash160
from chaintrail.chains.bitcoin.serialize import bits_to_target
from chaintrail.chains.bitcoin.undo import record_matches_block
from chaintrail.scenario.blocks import COINBASE_MATURITY, subsidy


def _sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _hash160(b: bytes) -> bytes:
    return nb_hash160(np.frombuffer(b, np.uint8)).tobytes()


def test_blocks_are_valid_regtest_blocks(view, key):
    assert view.blocks[0].GetHash()[::-1].hex() == "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
    prev = None
    for h, (b, raw) in enumerate(zip(view.blocks, view.raw)):
        assert b.serialize() == raw                      # strict: no trailing bytes, canonical encoding
        assert b.calc_merkle_root() == b.hashMerkleRoot
        assert b.nBits == 0x207FFFFF
        assert int.from_bytes(b.GetHash(), "little") <= bits_to_target(b.nBits)
        if prev is not None:
            assert b.hashPrevBlock == prev.GetHash()
            assert b.nTime > prev.nTime
        if h:
            cb = b.vtx[0]
            assert cb.vin[0].scriptSig[0] in (0x51 + h - 1,) or cb.vin[0].scriptSig[1:1 + cb.vin[0].scriptSig[0]] \
                == h.to_bytes((h.bit_length() + 8) // 8, "little")     # BIP34 height push
            reserved = cb.wit.vtxinwit[0].scriptWitness.stack[0]
            commit = cb.vout[b.get_witness_commitment_index()].scriptPubKey[6:38]
            assert commit == _sha256d(b.calc_witness_merkle_root() + reserved)
        kb = key["blocks"][h]
        assert (kb["height"], kb["hash"], kb["merkle_root"], kb["n_tx"]) == \
            (h, b.GetHash()[::-1].hex(), b.hashMerkleRoot[::-1].hex(), len(b.vtx))
        prev = b
    assert len(view.blocks) == key["totals"]["blocks"]


def test_rev_records_hold_exactly_the_spent_outputs(view):
    assert len(view.revs) == len(view.blocks) - 1          # no undo record for genesis
    utxo = {}
    for h, b in enumerate(view.blocks):
        if h:
            rec = view.revs[h - 1]
            assert record_matches_block(rec, b.hashPrevBlock)
            assert len(rec.txs) == len(b.vtx) - 1
        for i, tx in enumerate(b.vtx):
            if i:
                coins = view.revs[h - 1].txs[i - 1]
                assert len(coins) == len(tx.vin)
                for txin, coin in zip(tx.vin, coins):
                    value, script, ch, is_cb = utxo.pop((txin.prevout.hash, txin.prevout.n))
                    assert (coin.value, coin.script, coin.height, coin.is_coinbase) == (value, script, ch, is_cb)
                    if is_cb:
                        assert h - ch >= COINBASE_MATURITY
            for n, o in enumerate(tx.vout):
                utxo[(tx.GetTxid(), n)] = (o.nValue, bytes(o.scriptPubKey), h, i == 0)


def test_satoshis_are_conserved_and_match_the_key(view, key):
    created = {}
    fees_total = out_total = spent_total = 0
    for h, b in enumerate(view.blocks):
        block_fees = 0
        for i, tx in enumerate(b.vtx):
            out_sum = sum(o.nValue for o in tx.vout)
            out_total += out_sum
            if i:
                in_sum = sum(created.pop((t.prevout.hash, t.prevout.n)) for t in tx.vin)
                spent_total += in_sum
                assert in_sum >= out_sum
                block_fees += in_sum - out_sum
            for n, o in enumerate(tx.vout):
                created[(tx.GetTxid(), n)] = o.nValue
        if h:
            assert sum(o.nValue for o in b.vtx[0].vout) == subsidy(h) + block_fees
        fees_total += block_fees
    t = key["totals"]
    assert t["fees_sat"] == fees_total
    assert t["total_output_value_sat"] == out_total
    assert t["spent_value_sat"] == spent_total
    assert t["unspent_value_sat"] == sum(created.values()) == t["subsidy_sat"]
    assert t["unspent_outputs"] == len(created)
    assert t["txs"] == sum(len(b.vtx) for b in view.blocks)
    assert t["inputs"] == sum(len(tx.vin) for b in view.blocks for tx in b.vtx[1:])


def test_input_keys_hash_to_the_spent_programs(view):
    """A parser that derives addresses from scriptSig/witness keys finds the undo data's address."""
    checked = {"p2pkh": 0, "p2wpkh": 0, "p2sh": 0, "p2tr": 0, "p2wsh": 0}
    for h, b in enumerate(view.blocks[1:], start=1):
        for i, tx in enumerate(b.vtx[1:]):
            wit = tx.wit.vtxinwit if not tx.wit.is_null() else [None] * len(tx.vin)
            for txin, w, coin in zip(tx.vin, wit, view.revs[h - 1].txs[i]):
                spk, stack = coin.script, (list(w.scriptWitness.stack) if w is not None else [])
                if spk[:3] == b"\x76\xa9\x14":
                    sig_len = txin.scriptSig[0]
                    pub = bytes(txin.scriptSig[2 + sig_len:])
                    assert len(pub) == 33 and _hash160(pub) == spk[3:23]
                    checked["p2pkh"] += 1
                elif spk[:2] == b"\x00\x14":
                    assert len(stack) == 2 and _hash160(stack[1]) == spk[2:]
                    assert stack[0][0] == 0x30 and len(stack[0]) in (71, 72)
                    checked["p2wpkh"] += 1
                elif spk[:2] == b"\xa9\x14":
                    redeem = bytes(txin.scriptSig[1:])
                    assert redeem == b"\x00\x14" + _hash160(stack[1]) and _hash160(redeem) == spk[2:22]
                    checked["p2sh"] += 1
                elif spk[:2] == b"\x51\x20":
                    assert len(stack) == 1 and len(stack[0]) == 64
                    checked["p2tr"] += 1
                elif spk[:2] == b"\x00\x20":
                    assert hashlib.sha256(stack[-1]).digest() == spk[2:] and stack[0] == b""
                    checked["p2wsh"] += 1
    # exchange cold storage (P2WSH 2-of-3) is spent only now and then; the rest appear on every chain
    assert all(v > 0 for k, v in checked.items() if k != "p2wsh"), checked


def test_chaintrail_parser_agrees(view):
    from chaintrail.chains.bitcoin.parse import compute_txids, parse_blocks
    from chaintrail.chains.bitcoin.validate import check_block

    buf = np.frombuffer(b"".join(view.raw), np.uint8)
    ends = np.cumsum([len(r) for r in view.raw])
    lay = parse_blocks(buf, np.concatenate([[0], ends[:-1]]).astype(np.int64), ends.astype(np.int64))
    txids = compute_txids(lay)
    assert lay.n_tx == sum(len(b.vtx) for b in view.blocks)
    for b in range(lay.n_blocks):
        check_block(lay, b, txids)
    assert txids[-1].tobytes() == view.blocks[-1].vtx[-1].GetTxid()


def test_no_block_spends_its_own_outputs_and_coinbases_mature(view):
    for h, b in enumerate(view.blocks):
        own = {tx.GetTxid() for tx in b.vtx}
        for tx in b.vtx[1:]:
            for txin in tx.vin:
                assert txin.prevout.hash not in own
                ph, pi, _ = view.txs[txin.prevout.hash]
                if pi == 0:
                    assert h - ph >= COINBASE_MATURITY
    assert isinstance(view.blocks[0], CBlock)
