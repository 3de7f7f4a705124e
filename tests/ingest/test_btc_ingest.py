"""Bitcoin ingest into the chain store, checked through the SQL contract on real blocks.

Facts asserted here come from the data README (counts), from hashlib (merkle roots
recomputed from the txids the store gives back), from the reference address
encoder, and from well-known history (block 170, subsidies).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fakenode import alt_branch, block_hash, mainnet_blocks, txids

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.network import MAINNET, TESTNET
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store import index as ix
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

BTC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "btc"
DIR_0_599 = BTC / "mainnet" / "core-blocks-0-599"
DIR_1_255 = BTC / "mainnet" / "core-blocks-1-255"
CLI = Path(sys.executable).with_name("chaintrail")
MAGIC = MAINNET.magic
COIN = 100_000_000

GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
BLOCK1 = "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
CB9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
SATOSHI9 = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"  # P2PKH form of block 9's coinbase key

# README table: file -> (height or None, txs, inputs, outputs, hash prefix).
README = {
    "mainnet": {
        "block1.raw": (1, 1, 1, 1, "00000000839a8e6886ab"),
        "block169482.raw": (None, 14, 60, 231, "0000000000000756935f"),
        "block227835.raw": (None, 122, 263, 229, "00000000000001aa077d"),
        "block227836.raw": (227836, 100, 191, 188, "00000000000000d0dfd4"),
        "block277647.raw": (277647, 213, 733, 769, "0000000000000000054a"),
        "block300025.raw": (300025, 461, 1428, 1226, "0000000000000000821c"),
        "block363703.raw": (363703, 587, 3043, 1418, "0000000000000000011b"),
        "block370661.raw": (370661, 708, 2006, 1823, "00000000000000001416"),
        "block481815.raw": (481815, 2097, 4699, 4659, "00000000000000000089"),
        "block540107.raw": (540107, 230, 7033, 472, "00000000000000000021"),
        "block574200.raw": (574200, 3315, 5055, 8150, "00000000000000000016"),
    },
    "testnet": {
        "bitcoinj-testnet21066.raw": (21066, 2, 2, 2, "0000000004053156021d"),
        "bitcoinj-testnet32768.raw": (32768, 5, 5, 9, "000000007590ba495b58"),
        "bitcoinj-testnet700000.raw": (700000, 4, 8, 12, "000000000000406178b1"),
        "block1087400.raw": (1087400, 97, 206, 231, "0000000003db83e6ab01"),
        "block898352.raw": (898352, 10, 16, 24, "00000000c269ad542ed9"),
        "block928816.raw": (928816, 889, 8693, 9241, "00000000000001c4b87e"),
        "block928828.raw": (928828, 201, 1973, 1445, "00000000000cee3a01a2"),
        "block928831.raw": (928831, 915, 9985, 9990, "00000000000001ad1946"),
        "block928848.raw": (928848, 676, 11216, 7379, "00000000000001dc1c2c"),
        "block928849.raw": (928849, 993, 8595, 10264, "000000000000008d5be8"),
        "block928927.raw": (928927, 914, 9984, 10010, "000000000000003dbbbd"),
        "testnet924634.raw": (924634, 15, 16, 29, "000000000000045e0b16"),
    },
}
# Blocks whose bcoin undo file sits beside them.
WITH_UNDO = {"mainnet": ["block300025.raw"],
             "testnet": ["block1087400.raw", "block928816.raw", "block928828.raw", "block928831.raw",
                         "block928848.raw", "block928849.raw", "block928927.raw"]}


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def merkle(hashes: list[bytes]) -> bytes:
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def subsidy(height: int) -> int:
    return (50 * COIN) >> (height // 210_000)


def sql(store: Path, q: str, params: list | None = None) -> list[tuple]:
    with ChainStore(store) as st:
        t = query(st, q, params)
    cols = [c.to_pylist() for c in t.columns]
    return list(zip(*cols))


def frame(block: bytes, magic: bytes = MAGIC) -> bytes:
    return magic + len(block).to_bytes(4, "little") + block


def block_file(net: str, name: str) -> bytes:
    raw = (BTC / net / "raw" / name).read_bytes()
    return raw[8:] if raw[:4] in (MAINNET.magic, TESTNET.magic) else raw


def ingest_dir(store: Path, folder: Path, **kw) -> dict:
    with BtcIngest(store, **kw) as job:
        return job.ingest_blocks_dir(folder).as_dict()


def content_hash(store: Path) -> str:
    with ChainStore(store) as st:
        return st.content_hash()


def write_blocks_dir(folder: Path, blocks: list[bytes], rev: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blk00000.dat").write_bytes(b"".join(frame(b) for b in blocks))
    if rev is not None:
        (folder / "rev00000.dat").write_bytes(rev)
    return folder


# -- raw single blocks, through the CLI ------------------------------------------------

@pytest.fixture(scope="module", params=["mainnet", "testnet"])
def raw_store(request, tmp_path_factory) -> tuple[str, Path]:
    net = request.param
    store = tmp_path_factory.mktemp(f"raw-{net}") / "store"
    files = [str(BTC / net / "raw" / n) for n in README[net]]
    cmd = [str(CLI), "ingest", "btc", "--store", str(store), "--json", "--raw", *files]
    if net == "testnet":
        cmd += ["--network", "testnet"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return net, store


def test_raw_counts_match_readme(raw_store):
    net, store = raw_store
    table = README[net]
    rows = sql(store, """
        SELECT b.hash, b.height, b.tx_count,
               (SELECT count(*) FROM txs t WHERE t.block_hash = b.hash),
               (SELECT count(*) FROM inputs i JOIN txs t USING (txid) WHERE t.block_hash = b.hash),
               (SELECT count(*) FROM outputs o JOIN txs t USING (txid) WHERE t.block_hash = b.hash)
        FROM blocks b""")
    assert len(rows) == len(table)
    by_prefix = {r[0][:20]: r for r in rows}
    for name, (height, n_tx, n_in, n_out, prefix) in table.items():
        h, ht, tx_count, txs, ins, outs = by_prefix[prefix]
        assert h == sha256d(block_file(net, name)[:80])[::-1].hex()
        assert (tx_count, txs, ins, outs) == (n_tx, n_tx, n_in, n_out), name
        # Heights: derivable ones (genesis child, BIP34 coinbase) exact; pre-BIP34 unknown.
        if height is None:
            assert ht is None, name
        elif name != "block227836.raw" and not name.startswith("bitcoinj-testnet21066"):
            assert ht == height, name
    totals = sql(store, "SELECT (SELECT count(*) FROM blocks), (SELECT count(*) FROM txs), "
                        "(SELECT count(*) FROM inputs), (SELECT count(*) FROM outputs)")[0]
    assert totals == (len(table), sum(v[1] for v in table.values()), sum(v[2] for v in table.values()),
                      sum(v[3] for v in table.values()))


def test_raw_txids_from_store_give_header_merkle_roots(raw_store):
    net, store = raw_store
    rows = sql(store, "SELECT block_hash, txid FROM txs ORDER BY block_hash, tx_index")
    by_block: dict[str, list[bytes]] = {}
    for bh, txid in rows:
        by_block.setdefault(bh, []).append(bytes.fromhex(txid)[::-1])
    assert len(by_block) == len(README[net])
    for name in README[net]:
        raw = block_file(net, name)
        txids = by_block[sha256d(raw[:80])[::-1].hex()]
        assert merkle(txids) == raw[36:68], name
    # tx_index runs 0..n-1 in each block, and only index 0 is the coinbase.
    bad = sql(store, """SELECT count(*) FROM txs GROUP BY block_hash
                        HAVING min(tx_index) != 0 OR max(tx_index) != count(*) - 1
                            OR count(*) FILTER (is_coinbase) != 1 OR NOT bool_or(is_coinbase AND tx_index = 0)""")
    assert bad == []


def test_raw_undo_gives_every_input_a_value_and_exact_fees(raw_store):
    net, store = raw_store
    for name in WITH_UNDO[net]:
        height = README[net][name][0]
        bh = sha256d(block_file(net, name)[:80])[::-1].hex()
        n_in, valued, fees, unknown_fee = sql(store, """
            SELECT count(*), count(i.value_sat),
                   (SELECT sum(fee_sat) FROM txs WHERE block_hash = $1),
                   (SELECT count(*) FROM txs WHERE block_hash = $1 AND NOT is_coinbase AND fee_sat IS NULL)
            FROM inputs i JOIN txs t USING (txid) WHERE t.block_hash = $1 AND NOT t.is_coinbase""", [bh])[0]
        assert n_in == README[net][name][2] - 1 and valued == n_in and unknown_fee == 0, name
        (cb_out,) = sql(store, """SELECT sum(o.value_sat) FROM outputs o JOIN txs t USING (txid)
                                  WHERE t.block_hash = $1 AND t.is_coinbase""", [bh])[0]
        assert fees == cb_out - subsidy(height), name
        if name == "block300025.raw":
            assert fees == 7_773_345
    # Per tx: inputs = outputs + fee wherever the fee is known.
    bad = sql(store, """
        WITH i AS (SELECT txid, sum(value_sat) s FROM inputs GROUP BY txid),
             o AS (SELECT txid, sum(value_sat) s FROM outputs GROUP BY txid)
        SELECT t.txid FROM txs t JOIN i USING (txid) JOIN o USING (txid)
        WHERE t.fee_sat IS NOT NULL AND (i.s != o.s + t.fee_sat OR t.fee_sat < 0)""")
    assert bad == []
    # Blocks without undo keep unknown values as NULL and their fees NULL.
    (n_unknown,) = sql(store, "SELECT count(*) FROM raw.inputs WHERE value_sat IS NULL AND value_source = 0")[0]
    assert n_unknown > 0
    assert sql(store, "SELECT count(*) FROM raw.inputs WHERE (value_sat IS NULL) != (value_source = 0)")[0] == (0,)


def test_raw_addresses_match_reference_encoder(raw_store):
    net, store = raw_store
    network = MAINNET if net == "mainnet" else TESTNET
    rows = sql(store, """SELECT o.script, a.address, o.script_type FROM raw.outputs o
                         LEFT JOIN raw.addresses a USING (addr_num)""")
    names = ["nonstandard", "p2pk", "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "multisig", "op_return",
             "witness_unknown"]
    for script, addr, kind in rows:
        ref_kind, ref_addr = script_address(script, network)
        assert (kind, addr) == (int(ref_kind), ref_addr), script.hex()
    view = sql(store, "SELECT script_type, count(*) FROM outputs GROUP BY 1")
    raw_counts = sql(store, "SELECT script_type, count(*) FROM raw.outputs GROUP BY 1")
    assert sorted(view) == sorted((names[k], n) for k, n in raw_counts)


# -- a Core blocks folder ------------------------------------------------------------------

@pytest.fixture(scope="module")
def store_0_599(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("s0599") / "store"
    rep = ingest_dir(store, DIR_0_599)
    assert (rep["blocks"], rep["stale"], rep["bad"]) == (600, 0, [])
    return store


def test_blocks_dir_heights_and_links(store_0_599: Path):
    rows = sql(store_0_599, "SELECT height, hash, prev_hash, tx_count FROM blocks ORDER BY height")
    assert [r[0] for r in rows] == list(range(600))
    assert rows[0][1] == GENESIS and rows[0][2] == "00" * 32 and rows[1][1] == BLOCK1
    assert all(rows[h][2] == rows[h - 1][1] for h in range(1, 600))
    real = mainnet_blocks()
    assert [r[1] for r in rows] == [block_hash(b)[::-1].hex() for b in real]
    (n_tx,) = sql(store_0_599, "SELECT count(*) FROM txs")[0]
    assert sum(r[3] for r in rows) == n_tx == 616


def test_block_170_payment_to_hal(store_0_599: Path):
    outs = sql(store_0_599, "SELECT vout, value_sat, script_type, address, spent_by_txid, spent_by_vin "
                            "FROM outputs WHERE txid = $1 ORDER BY vout", [TX170])
    assert outs[0][:4] == (0, 10 * COIN, "p2pk", HAL)
    assert outs[1][:4] == (1, 40 * COIN, "p2pk", SATOSHI9)
    ins = sql(store_0_599, "SELECT vin, prev_txid, prev_vout, value_sat, address FROM inputs WHERE txid = $1",
              [TX170])
    assert ins == [(0, CB9, 0, 50 * COIN, SATOSHI9)]
    spent = sql(store_0_599, "SELECT value_sat, address, spent_by_txid, spent_by_vin FROM outputs "
                             "WHERE txid = $1", [CB9])
    assert spent == [(50 * COIN, SATOSHI9, TX170, 0)]
    tx = sql(store_0_599, "SELECT block_height, tx_index, is_coinbase, fee_sat FROM txs WHERE txid = $1", [TX170])
    assert tx == [(170, 1, False, 0)]
    (cb9_height,) = sql(store_0_599, "SELECT block_height FROM txs WHERE txid = $1", [CB9])[0]
    assert cb9_height == 9
    hal = sql(store_0_599, "SELECT script_type, first_height, received_sat FROM addresses WHERE address = $1", [HAL])
    assert hal[0][:2] == ("p2pk", 170) and hal[0][2] >= 10 * COIN


def test_satoshi_conservation(store_0_599: Path):
    s = store_0_599
    # Every input in 0-599 spends an output of 0-599.
    assert sql(s, "SELECT count(*) FROM raw.inputs i JOIN raw.txs t USING (tx_num) "
                  "WHERE NOT t.is_coinbase AND i.prev_out_num IS NULL")[0] == (0,)
    # Per tx: inputs = outputs + fee.
    per_tx = sql(s, """
        WITH i AS (SELECT txid, sum(value_sat) s FROM inputs GROUP BY txid),
             o AS (SELECT txid, sum(value_sat) s FROM outputs GROUP BY txid)
        SELECT t.fee_sat, i.s, o.s FROM txs t JOIN i USING (txid) JOIN o USING (txid) WHERE NOT t.is_coinbase""")
    assert len(per_tx) == 16 and all(fee is not None and fee >= 0 and i == o + fee for fee, i, o in per_tx)
    # Per block: coinbase outputs = subsidy + fees.
    per_block = sql(s, """
        SELECT t.block_height, sum(o.value_sat) FILTER (t.is_coinbase),
               (SELECT coalesce(sum(fee_sat), 0) FROM txs x WHERE x.block_hash = t.block_hash)
        FROM txs t JOIN outputs o USING (txid) GROUP BY t.block_height, t.block_hash""")
    assert len(per_block) == 600
    assert all(cb == subsidy(h) + fees for h, cb, fees in per_block)
    # Chain: created = spent + unspent, in SQL and in the index columns.
    created, unspent = sql(s, "SELECT sum(value_sat), sum(value_sat) FILTER (spent_by_txid IS NULL) FROM outputs")[0]
    (spent,) = sql(s, "SELECT sum(value_sat) FROM inputs WHERE value_sat IS NOT NULL")[0]
    assert created == spent + unspent
    assert unspent == 600 * 50 * COIN  # no fees were paid in 0-599: the UTXO set is the whole supply
    with ChainStore(s) as st:
        c = st.counts
        out_value, out_spent = np.asarray(st.column("out_value")), np.asarray(st.column("out_spent"))
        in_value, in_prev = np.asarray(st.column("in_value")), np.asarray(st.column("in_prev"))
        cb_inputs = np.asarray(st.column("tx_first_in"))[np.asarray(st.column("blk_first_tx"))]
        assert out_value.sum() == created and in_value[in_value >= 0].sum() == spent
        assert out_value[out_spent == ix.NONE].sum() == unspent
        real_in = np.setdiff1d(np.arange(c["inputs"]), cb_inputs)
        assert (in_prev[cb_inputs] == ix.NONE).all() and (in_value[cb_inputs] == -1).all()
        assert (in_value[real_in] == out_value[in_prev[real_in]]).all()
        assert (out_spent[in_prev[real_in]] == real_in).all()
        assert (ix.derive_out_spent(in_prev, c["outputs"]) == out_spent).all()


def test_index_is_16_bytes_per_input_and_output(store_0_599: Path):
    with ChainStore(store_0_599) as st:
        c = st.counts
        sizes = ix.index_bytes(st.index_dir)
        files = {p.name: p.stat().st_size for p in st.index_dir.glob("*.bin")}
    assert (c["inputs"], c["outputs"]) == (625, 627)
    assert sizes["inputs"] == 16 * c["inputs"] and sizes["outputs"] == 16 * c["outputs"]
    assert files["in_value.bin"] == 8 * 625 and files["in_prev.bin"] == 4 * 625 and files["in_addr.bin"] == 4 * 625
    assert files["out_value.bin"] == 8 * 627 and files["out_spent.bin"] == 4 * 627


def test_blocks_dir_without_genesis(tmp_path: Path):
    store = tmp_path / "s"
    rep = ingest_dir(store, DIR_1_255)
    assert rep["blocks"] == 255
    rows = sql(store, "SELECT height, hash FROM blocks ORDER BY height")
    assert [r[0] for r in rows] == list(range(1, 256))
    assert rows[0][1] == BLOCK1
    # The same blocks as in the 0-599 folder, at the same heights.
    real = mainnet_blocks()
    assert [r[1] for r in rows] == [block_hash(b)[::-1].hex() for b in real[1:256]]
    # Block 170's input spends block 9's coinbase, which is in the store here.
    assert sql(store, "SELECT value_sat, address FROM inputs WHERE txid = $1", [TX170]) == [(50 * COIN, SATOSHI9)]


# -- undo data -----------------------------------------------------------------------------

def block170_undo_record() -> bytes:
    """Block 170's rev*.dat record built from the spec: magic, size, CBlockUndo, checksum."""
    real = mainnet_blocks()
    cb9 = real[9]
    # Block 9's coinbase output script: 0x41 <65-byte key> OP_CHECKSIG, at a fixed place.
    script = cb9[cb9.index(b"\x43\x41\x04") + 1:][:67]
    assert len(script) == 67 and script[-1] == 0xAC
    x, odd = script[2:34], script[65] & 1
    undo = bytes([1, 1, 0x13, 0x00, 50, 4 | odd]) + x  # 1 tx, 1 coin, height 9 coinbase, 50 BTC, P2PK
    return MAGIC + len(undo).to_bytes(4, "little") + undo + sha256d(block_hash(real[169]) + undo)


def test_rev_undo_supplies_value_and_address(tmp_path: Path):
    real = mainnet_blocks()
    folder = write_blocks_dir(tmp_path / "blocks", list(real[150:201]), block170_undo_record() + bytes(32))
    store = tmp_path / "s"
    rep = ingest_dir(store, folder)
    assert rep["blocks"] == 51
    # Block 9 is not in the store, yet the input has its value and address from rev00000.dat.
    assert sql(store, "SELECT count(*) FROM outputs WHERE txid = $1", [CB9]) == [(0,)]
    assert sql(store, "SELECT prev_txid, prev_vout, value_sat, address FROM inputs WHERE txid = $1",
               [TX170]) == [(CB9, 0, 50 * COIN, SATOSHI9)]
    raw = sql(store, """SELECT i.value_source, i.prev_out_num FROM raw.inputs i JOIN raw.txs t USING (tx_num)
                        WHERE t.txid = from_hex($1)""", [TX170])
    assert raw == [(2, None)]
    assert sql(store, "SELECT fee_sat FROM txs WHERE txid = $1", [TX170]) == [(0,)]
    # Later spends of block 170's change resolve from the store (value_source 1).
    assert sql(store, """SELECT i.value_sat, i.address FROM inputs i WHERE i.prev_txid = $1 AND i.prev_vout = 1""",
               [TX170]) == [(40 * COIN, SATOSHI9)]
    assert sql(store, "SELECT value_source, count(*) FROM raw.inputs i JOIN raw.txs t USING (tx_num) "
                      "WHERE NOT t.is_coinbase GROUP BY 1 ORDER BY 1") == [(1, 4), (2, 1)]
    assert sql(store, "SELECT first_height, sent_sat FROM addresses WHERE address = $1", [SATOSHI9])[0][1] \
        == (50 + 40 + 30 + 29) * COIN


def test_rev_undo_absent_leaves_value_unknown(tmp_path: Path):
    real = mainnet_blocks()
    folder = write_blocks_dir(tmp_path / "blocks", list(real[150:201]))
    store = tmp_path / "s"
    ingest_dir(store, folder)
    assert sql(store, "SELECT value_sat, address FROM inputs WHERE txid = $1", [TX170]) == [(None, None)]
    assert sql(store, "SELECT fee_sat FROM txs WHERE txid = $1", [TX170]) == [(None,)]
    assert sql(store, "SELECT value_source FROM raw.inputs i JOIN raw.txs t USING (tx_num) "
                      "WHERE t.txid = from_hex($1)", [TX170]) == [(0,)]


def test_closing_the_job_releases_the_writer_index(tmp_path: Path):
    """The CLI builds the read model after the ingest with the job still in scope: the writer's in-memory
    index (GBs on a long chain) must be gone by then, or the two peaks add up."""
    import gc
    import weakref

    with BtcIngest(tmp_path / "s") as job:
        job.ingest_blocks_dir(DIR_0_599)
        state = job._state
        held = [weakref.ref(a) for a in (state.txids._keys, state.txids._table, state.addrs._keys,
                                          state.out_value._a)]
        del state
    gc.collect()
    assert job.report.blocks == 600
    assert [r() is None for r in held] == [True] * 4


# -- idempotence, stale blocks, reorgs ----------------------------------------------------------

def test_same_data_twice_changes_nothing(store_0_599: Path, tmp_path: Path):
    store = tmp_path / "s"
    shutil.copytree(store_0_599, store)
    before = content_hash(store)
    rep = ingest_dir(store, DIR_0_599)
    assert rep["blocks"] == 0 and content_hash(store) == before
    files = [BTC / "mainnet" / "raw" / n for n in ("block1.raw", "block169482.raw", "block300025.raw")]
    with BtcIngest(store) as job:
        assert job.ingest_raw(files).blocks == 2  # block 1 is already in the store
    after_raw = content_hash(store)
    assert after_raw != before
    with BtcIngest(store) as job:
        rep2 = job.ingest_raw(files)
    assert rep2.blocks == 0 and rep2.skipped_known == 3
    assert content_hash(store) == after_raw
    # The folder again, after blocks from elsewhere: those blocks are not its fork and stay.
    rep3 = ingest_dir(store, DIR_0_599)
    assert (rep3["blocks"], rep3["rolled_back"]) == (0, 0)
    assert content_hash(store) == after_raw


def test_fork_blocks_are_recorded_stale(tmp_path: Path):
    real = mainnet_blocks()
    h597 = block_hash(real[597])
    alts = alt_branch(real, 597, 1, tag=7) + alt_branch(real, 597, 2, tag=9)[:1]  # two siblings of 598
    folder = write_blocks_dir(tmp_path / "blocks", list(real) + alts)
    store = tmp_path / "s"
    rep = ingest_dir(store, folder, check_pow=False)   # forks of real blocks cannot meet the real target
    assert rep["blocks"] == 600 and rep["stale"] == 2
    stale = sql(store, "SELECT lower(hex(hash)), lower(hex(prev_hash)) FROM raw.stale_blocks ORDER BY 1")
    assert stale == sorted((block_hash(a)[::-1].hex(), h597[::-1].hex()) for a in alts)
    assert sql(store, "SELECT count(*) FROM blocks WHERE hash IN (SELECT lower(hex(hash)) FROM raw.stale_blocks)") \
        == [(0,)]
    assert sql(store, "SELECT max(height), count(*) FROM blocks") == [(599, 600)]
    # Their (retagged) coinbases are not in the chain's tables either.
    assert sql(store, "SELECT count(*) FROM txs") == [(616,)]
    for a in alts:
        assert sql(store, "SELECT count(*) FROM txs WHERE txid = $1", [txids(a)[0][::-1].hex()]) == [(0,)]


CONTRACT = {
    "blocks": "SELECT * FROM blocks ORDER BY height",
    "txs": "SELECT * FROM txs ORDER BY block_height, tx_index",
    "outputs": "SELECT * FROM outputs ORDER BY txid, vout",
    "inputs": "SELECT * FROM inputs ORDER BY txid, vin",
    "addresses": "SELECT * FROM addresses ORDER BY address",
}


def contract_rows(store: Path) -> dict[str, list[tuple]]:
    return {name: sql(store, q) for name, q in CONTRACT.items()}


def test_rerun_after_reorg_rolls_back_to_the_new_best_chain(tmp_path: Path):
    real = list(mainnet_blocks())
    first = write_blocks_dir(tmp_path / "first", real[:596])
    store = tmp_path / "s"
    ingest_dir(store, first)
    assert sql(store, "SELECT max(height) FROM blocks") == [(595,)]
    # The node reorganised: blocks 594-595 were replaced by a longer branch 594'-598'.
    alts = alt_branch(real, 593, 5, tag=3)
    second = write_blocks_dir(tmp_path / "second", real[:596] + alts)
    rep = ingest_dir(store, second, check_pow=False)   # forks of real blocks cannot meet the real target
    assert rep["rolled_back"] == 2 and rep["blocks"] == 5
    fresh = tmp_path / "fresh"
    ingest_dir(fresh, second, check_pow=False)
    got, want = contract_rows(store), contract_rows(fresh)
    for name in CONTRACT:
        assert got[name] == want[name], name
    heights = sql(store, "SELECT height, hash FROM blocks ORDER BY height")
    assert [h for h, _ in heights] == list(range(599))
    assert [x for _, x in heights[594:]] == [block_hash(a)[::-1].hex() for a in alts]
    # Nothing of the dropped blocks remains: their coinbases are gone.
    for b in real[594:596]:
        cb_rows = sql(store, "SELECT count(*) FROM txs WHERE block_hash = $1", [block_hash(b)[::-1].hex()])
        assert cb_rows == [(0,)]
    # Spend links and the index agree with a fresh build.
    with ChainStore(store) as a, ChainStore(fresh) as b:
        assert a.counts == b.counts
        for col in ("in_prev", "out_spent", "in_value", "out_value", "txid", "blk_first_tx", "out_addr"):
            assert np.array_equal(np.asarray(a.column(col)), np.asarray(b.column(col))), col


def test_reorg_seen_in_a_folder_that_lacks_the_old_branch(tmp_path: Path):
    """Another node's folder holds only the new branch: the store's old tip is still rolled back."""
    real = list(mainnet_blocks())
    store = tmp_path / "s"
    ingest_dir(store, write_blocks_dir(tmp_path / "first", real[:596]))
    alts = alt_branch(real, 593, 3, tag=5)
    second = write_blocks_dir(tmp_path / "second", real[:594] + alts)
    rep = ingest_dir(store, second, check_pow=False)
    assert (rep["rolled_back"], rep["blocks"]) == (2, 3)
    fresh = tmp_path / "fresh"
    ingest_dir(fresh, second, check_pow=False)
    assert contract_rows(store) == contract_rows(fresh)


def test_raw_hex_and_multi_record_framed_files(tmp_path: Path):
    """--raw takes hex text and Core-framed files holding several blocks, as well as bare blocks."""
    b1, b169482 = block_file("mainnet", "block1.raw"), block_file("mainnet", "block169482.raw")
    (tmp_path / "b.hex").write_text(b169482.hex().upper() + "\n")
    real = mainnet_blocks()
    (tmp_path / "two.dat").write_bytes(frame(real[0]) + frame(real[2]) + bytes(16))  # zero padding is fine
    (tmp_path / "b1.raw").write_bytes(b1)
    store = tmp_path / "s"
    with BtcIngest(store) as job:
        rep = job.ingest_raw([tmp_path / "b1.raw", tmp_path / "two.dat", tmp_path / "b.hex"])
    assert (rep.blocks, rep.txs) == (4, 3 + 14)
    rows = sql(store, "SELECT height, hash, tx_count FROM blocks ORDER BY height NULLS LAST")
    assert rows == [(0, GENESIS, 1), (1, BLOCK1, 1), (2, block_hash(real[2])[::-1].hex(), 1),
                    (None, sha256d(b169482[:80])[::-1].hex(), 14)]
    src = sql(store, "SELECT source, source_offset FROM raw.blocks ORDER BY block_seq")
    assert src == [(str(tmp_path / "b1.raw"), 0), (str(tmp_path / "two.dat"), 8),
                   (str(tmp_path / "two.dat"), 8 + len(real[0]) + 8), (str(tmp_path / "b.hex"), 0)]
