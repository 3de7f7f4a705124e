"""TraceEngine on a real store (mainnet blocks 0-599): exact answers, accounting, JSON, determinism.

Expected amounts come from SQL over the store's contract views (a recursive walk of
the spends that sums each path's proportional share), computed apart from the
engine, and from history: block 9's coinbase paid 10 BTC to Hal Finney in block 170.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from chaintrail.analysis import taint_kernels as K
from chaintrail.analysis.tracing import StopAddresses, TraceEngine, TraceParams
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

DIR_0_599 = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "btc" / "mainnet" / "core-blocks-0-599"
CB9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"   # block 9's coinbase
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"  # block 170: 10 BTC to Hal
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
SATOSHI9 = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"  # block 9's key; its change comes back to it
COIN = 100_000_000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "store"
    with BtcIngest(path) as job:
        assert job.ingest_blocks_dir(DIR_0_599).blocks == 600
    with ChainStore(path) as st:
        yield st


@pytest.fixture(scope="module")
def engine(store):
    return TraceEngine(store)


def sql(store, q, params=None):
    return query(store, q, params).to_pylist()


# Haircut is linear: an output's taint is the sum over spend paths from the source of
# source_amount * prod(value / tx input total). The walk below uses only the SQL views.
PATHS = """
WITH RECURSIVE vin AS (SELECT txid, sum(value_sat) AS total FROM inputs GROUP BY txid),
flow(txid, vout, address, amount, spent_by, hops, fee) AS (
    SELECT txid, vout, address, value_sat::DOUBLE, spent_by_txid, 0, 0::DOUBLE
    FROM outputs WHERE txid = $txid AND vout = $vout
  UNION ALL
    SELECT o.txid, o.vout, o.address, f.amount * o.value_sat / v.total, o.spent_by_txid, f.hops + 1,
           f.amount * (v.total - (SELECT sum(value_sat) FROM outputs x WHERE x.txid = o.txid)) / v.total
    FROM flow f JOIN outputs o ON o.txid = f.spent_by JOIN vin v ON v.txid = f.spent_by
)
SELECT * FROM flow
"""


def haircut_by_sql(store, txid, vout):
    """Unspent ends per address (amount, min hops), total fees and the txs read, from the path walk."""
    rows = sql(store, PATHS, {"txid": txid, "vout": vout})
    ends: dict[str, list] = {}
    fees = 0.0
    for r in rows:
        if r["hops"] and r["vout"] == 0:
            fees += r["fee"]   # the fee of the tx that made this row, once per path (not once per output)
        if r["spent_by"] is None:
            e = ends.setdefault(r["address"], [0.0, 1 << 30])
            e[0] += r["amount"]
            e[1] = min(e[1], r["hops"])
    out = {}
    for a, (amt, h) in ends.items():
        assert abs(amt - round(amt)) < 1e-6   # the shares on this chain are whole sats
        out[a] = (round(amt), h)
    return out, round(fees), {r["txid"] for r in rows}


def totals_identity(d: dict) -> None:
    t = d["totals"]
    if d["params"]["direction"] == "forward":
        rhs = t["to_endpoints_sat"] + t["unspent_sat"] + t["below_threshold_sat"] + t["stopped_sat"] + t["fees_sat"]
        assert t["coinbase_sat"] == 0 and t["unknown_source_sat"] == 0
    else:
        rhs = t["to_endpoints_sat"] + t["coinbase_sat"] + t["unknown_source_sat"] + t["below_threshold_sat"] + \
            t["stopped_sat"]
        assert t["fees_sat"] == 0 and t["unspent_sat"] == 0
    assert t["traced_sat"] + t["absorbed_sat"] == rhs
    assert sum(e["amount_sat"] for e in d["endpoints"]) == rhs - t["fees_sat"]
    if d["model"] != "poison":
        assert t["absorbed_sat"] == 0


def scratch_is_clean(e: TraceEngine) -> None:
    # All zeros is untouched (status UNTOUCHED, pred stored + 1), so released pages need no refill.
    assert not e.taint.any() and not e.hops.any()
    assert not e.pred.any() and not e.status.any() and K.UNTOUCHED == 0
    assert not e.iv_off.any() and not e.iv_cnt.any() and not e.qbits0.any() and not e.qbits1.any()


def test_forward_haircut_from_block9_coinbase(store, engine):
    d = engine.trace(f"{CB9}:0", TraceParams()).to_dict()
    eps = {e["address"]: e for e in d["endpoints"]}
    hal = eps[HAL]
    assert (hal["amount_sat"], hal["hops"], hal["kind"]) == (10 * COIN, 1, "unspent")
    assert hal["path"] == [CB9, TX170] and hal["outputs"] == [f"{TX170}:0"]
    # Every other end, amount and hop count from the SQL path walk.
    want, fees, txs = haircut_by_sql(store, CB9, 0)
    assert want[HAL] == (10 * COIN, 1)
    assert {a: (e["amount_sat"], e["hops"]) for a, e in eps.items()} == want
    assert all(e["kind"] == "unspent" for e in d["endpoints"])
    t = d["totals"]
    assert t["traced_sat"] == 50 * COIN == sum(a for a, _ in want.values()) + fees
    assert t["fees_sat"] == fees and t["unspent_sat"] == 50 * COIN - fees
    # Provenance: one step per tx the trace read, each with the block hash SQL gives for it.
    assert {s["txid"] for s in d["steps"]} == txs
    blocks = {r["txid"]: r["block_hash"] for r in sql(store, "SELECT txid, block_hash FROM txs")}
    assert all(s["block_hash"] == blocks[s["txid"]] for s in d["steps"])
    # Each step names the rule applied there: none at the coinbase (it holds the starting point),
    # the trace's model at every tx that split taint.
    rules = {s["txid"]: (s["model"], s["heuristics"]) for s in d["steps"]}
    assert rules.pop(CB9) == (None, [])
    assert set(map(str, rules.values())) == {str(("haircut", []))}
    totals_identity(d)
    scratch_is_clean(engine)


def test_backward_from_hal_ends_at_block9_coinbase(store, engine):
    d = engine.trace(f"{TX170}:0", TraceParams(direction="backward")).to_dict()
    assert len(d["endpoints"]) == 1
    e = d["endpoints"][0]
    assert (e["kind"], e["address"], e["amount_sat"], e["hops"]) == ("coinbase", SATOSHI9, 10 * COIN, 1)
    assert e["outputs"] == [f"{CB9}:0"] and e["path"] == [TX170, CB9]
    row = sql(store, "SELECT is_coinbase, block_height FROM txs WHERE txid = $t", {"t": CB9})[0]
    assert row == {"is_coinbase": True, "block_height": 9}
    assert d["totals"]["traced_sat"] == d["totals"]["coinbase_sat"] == 10 * COIN
    totals_identity(d)


def test_json_fields_hash_and_determinism(store, engine):
    p = TraceParams(max_hops=4)
    first = engine.trace(f"{CB9}:0", p).to_json()
    # Other traces in between must leave nothing behind.
    engine.trace(SATOSHI9, TraceParams(model="poison", direction="backward"))
    engine.trace(f"{TX170}:1", TraceParams(model="fifo"))
    assert engine.trace(f"{CB9}:0", p).to_json() == first
    assert TraceEngine(store).trace(f"{CB9}:0", p).to_json() == first
    d = json.loads(first)
    assert {"source", "model", "endpoints", "totals"} <= set(d)
    assert d["source"] == {"kind": "output", "txid": CB9, "vout": 0} and d["model"] == "haircut"
    for e in d["endpoints"]:
        assert {"address", "cluster", "tags", "amount_sat", "hops", "path"} <= set(e)
        assert isinstance(e["amount_sat"], int) and e["path"][0] == CB9
    assert {"traced_sat", "to_endpoints_sat", "fees_sat", "unspent_sat"} <= set(d["totals"])
    # The hash is SHA-256 of the canonical JSON of everything else.
    h = d.pop("trace_hash")
    assert h == hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    # Any parameter changes the hash.
    assert json.loads(engine.trace(f"{CB9}:0", TraceParams(max_hops=5)).to_json())["trace_hash"] != h
    scratch_is_clean(engine)


def test_every_model_and_direction_balances(store, engine):
    # Every spent output and every output of a non-coinbase tx, both ways, all five models.
    outs = sql(store, """SELECT o.txid, o.vout FROM outputs o JOIN txs t USING (txid)
                         WHERE o.spent_by_txid IS NOT NULL OR NOT t.is_coinbase ORDER BY o.txid, o.vout""")
    assert len(outs) == 37
    values = {(r["txid"], r["vout"]): r["value_sat"] for r in sql(store, "SELECT txid, vout, value_sat FROM outputs")}
    for r in outs:
        spec = f"{r['txid']}:{r['vout']}"
        for direction in ("forward", "backward"):
            for model in K.MODELS:
                d = engine.trace(spec, TraceParams(direction=direction, model=model)).to_dict()
                assert d["totals"]["traced_sat"] == values[(r["txid"], r["vout"])]
                totals_identity(d)
    scratch_is_clean(engine)


def test_address_trace_counts_returning_change_once(store, engine):
    # Block 9's key spends its coinbase in block 170 and sends change back to itself five times:
    # its outputs hold 195 BTC, but only the 50 BTC it got from outside are distinct sats.
    got = sql(store, "SELECT sum(value_sat)::BIGINT AS s FROM outputs WHERE address = $a", {"a": SATOSHI9})[0]["s"]
    own = sql(store, """SELECT sum(o.value_sat)::BIGINT AS s FROM outputs o WHERE o.address = $a AND NOT EXISTS
                        (SELECT 1 FROM inputs i WHERE i.txid = o.txid AND i.address = $a)""", {"a": SATOSHI9})[0]["s"]
    assert (got, own) == (195 * COIN, 50 * COIN)
    by_output = engine.trace(f"{CB9}:0", TraceParams()).to_dict()
    for model in K.MODELS:
        d = engine.trace(SATOSHI9, TraceParams(model=model)).to_dict()
        assert d["source"] == {"kind": "address", "address": SATOSHI9}
        assert d["totals"]["traced_sat"] == own
        totals_identity(d)
        if model != "poison":
            # The same sats, so the same ends as the trace from the coinbase output alone.
            assert {e["address"]: e["amount_sat"] for e in d["endpoints"]} == \
                {e["address"]: e["amount_sat"] for e in by_output["endpoints"]}
    for model in ("haircut", "fifo", "lifo", "tiho"):
        d = engine.trace(SATOSHI9, TraceParams(model=model, direction="backward")).to_dict()
        assert d["totals"]["traced_sat"] == d["totals"]["coinbase_sat"] == own
        totals_identity(d)
    scratch_is_clean(engine)


def test_stops_on_real_data(store, engine):
    src = f"{CB9}:0"
    # max_hops 1: Hal's 10 BTC unspent at hop 1, the 40 BTC change stops there.
    d = engine.trace(src, TraceParams(max_hops=1)).to_dict()
    kinds = {(e["kind"], e["amount_sat"]) for e in d["endpoints"]}
    assert kinds == {("unspent", 10 * COIN), ("stopped_max_hops", 40 * COIN)}
    totals_identity(d)
    # min_amount 15 BTC: Hal's 10 BTC are below it.
    d = engine.trace(src, TraceParams(min_amount_sat=15 * COIN)).to_dict()
    assert {e["address"]: e["kind"] for e in d["endpoints"]}[HAL] == "below_threshold"
    assert d["totals"]["below_threshold_sat"] >= 10 * COIN
    totals_identity(d)
    # Time window closing before block 170: the coinbase output stops at once.
    t170 = sql(store, "SELECT b.time FROM txs t JOIN blocks b ON b.hash = t.block_hash WHERE t.txid = $t",
               {"t": TX170})[0]["time"]
    d = engine.trace(src, TraceParams(time_to=t170 - 1)).to_dict()
    assert [(e["kind"], e["amount_sat"]) for e in d["endpoints"]] == [("stopped_time", 50 * COIN)]
    # Closing at block 170: Hal's 10 BTC stay unspent, the change's next spend (block 181) is outside.
    d = engine.trace(src, TraceParams(time_to=t170)).to_dict()
    assert {(e["kind"], e["amount_sat"]) for e in d["endpoints"]} == {("unspent", 10 * COIN),
                                                                      ("stopped_time", 40 * COIN)}
    totals_identity(d)
    # Hal's address tagged as an exchange: a tagged endpoint carrying its tags.
    hal_num = sql(store, "SELECT addr_num FROM raw.addresses WHERE address = $a", {"a": HAL})[0]["addr_num"]
    tags = StopAddresses(store.counts["addresses"], {hal_num: [("exchange", "Example Exchange")]})
    tagged = TraceEngine(store, stop_addr_for=tags)
    d = tagged.trace(src, TraceParams()).to_dict()
    hal = next(e for e in d["endpoints"] if e["address"] == HAL)
    assert (hal["kind"], hal["amount_sat"], hal["tags"]) == ("tagged", 10 * COIN, ["exchange:Example Exchange"])
    assert d["totals"]["to_endpoints_sat"] == 10 * COIN
    totals_identity(d)
    d = tagged.trace(src, TraceParams(stop_categories=("mixer",))).to_dict()
    assert d["totals"]["to_endpoints_sat"] == 0
    # Block 170's tx marked as a mixer: policy stop flags the coinbase output in front of it.
    mixers = np.zeros(store.counts["txs"], np.bool_)
    mixers[engine.txid_to_num(TX170)] = True
    mixed = TraceEngine(store, mixer_txs=mixers)
    d = mixed.trace(src, TraceParams(mixer_policy="stop")).to_dict()
    assert [(e["kind"], e["amount_sat"]) for e in d["endpoints"]] == [("stopped_mixer", 50 * COIN)]
    assert d["totals"]["mixer_txs"] == 1
    assert [(s["txid"], s["model"]) for s in d["steps"]] == [(CB9, None)]   # nothing split at the mixer
    # FIFO through it with policy haircut: the step says the mixer was passed by haircut, not FIFO.
    d = mixed.trace(src, TraceParams(model="fifo", max_hops=1, mixer_policy="haircut")).to_dict()
    step = next(s for s in d["steps"] if s["txid"] == TX170)
    assert (step["model"], step["heuristics"]) == ("haircut", ["mixer-pass-through:none"])
    # Policy haircut passes it through: one input, so the same ends as without the flag.
    hc = TraceParams(mixer_policy="haircut")
    assert {e["address"]: e["amount_sat"] for e in mixed.trace(src, hc).to_dict()["endpoints"]} == \
        {e["address"]: e["amount_sat"] for e in engine.trace(src, hc).to_dict()["endpoints"]}
    for e in (engine, tagged, mixed):
        scratch_is_clean(e)


def test_endpoint_parquet_matches(store, engine, tmp_path):
    r = engine.trace(f"{CB9}:0", TraceParams())
    steps_path = r.write_parquet(tmp_path / "ends.parquet")
    d = r.to_dict()
    ends = pq.read_table(tmp_path / "ends.parquet")
    assert ends.to_pylist() == d["endpoints"]
    steps = pq.read_table(steps_path)
    assert steps_path.name == "ends.steps.parquet" and steps.to_pylist() == d["steps"]
    for t in (ends, steps):       # each file names the result it belongs to
        meta = {k.decode(): json.loads(v) for k, v in t.schema.metadata.items()}
        assert meta == {k: d[k] for k in ("trace_hash", "engine", "source", "params", "totals")}


def test_explicit_outputs_are_checked(store, engine):
    from chaintrail.errors import UsageError
    n = store.counts["outputs"]
    for outs, amts in (([n], None), ([n + 5], [1]), ([-1], [1]), ([0, 1], [5]), ([0], [-3])):
        with pytest.raises(UsageError):
            engine.trace(outputs=np.array(outs), amounts=None if amts is None else np.array(amts))
    scratch_is_clean(engine)
    # Outputs and amounts given directly: the block 9 coinbase output with 7 BTC of it (haircut: 7/50 of
    # each of its ends) -> Hal 10 * 7/50 = 1.4 BTC.
    o = int(engine.tx_first_out[engine.txid_to_num(CB9)])
    d = engine.trace(outputs=np.array([o]), amounts=np.array([7 * COIN])).to_dict()
    assert d["source"] == {"kind": "outputs", "outputs": [f"{CB9}:0"]}
    assert {e["address"]: e["amount_sat"] for e in d["endpoints"]}[HAL] == 140_000_000
    assert d["totals"]["traced_sat"] == 7 * COIN
    totals_identity(d)


def test_until_exchange_without_tags_is_refused(store):
    """No tagged service to stop at: --until-exchange would walk the whole chain; it says so instead."""
    from typer.testing import CliRunner

    from chaintrail.cli._common import EXIT_USAGE
    from chaintrail.cli.main import app

    res = CliRunner().invoke(app, ["trace", "--from", f"{CB9}:0", "--until-exchange", "--store", str(store.path),
                                   "--json"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "no address in this store is tagged" in res.output and "chaintrail tags import" in res.output


def test_unknown_stop_category_is_refused():
    # "exchnage" would otherwise stop nowhere and trace straight through every exchange.
    from chaintrail.errors import UsageError
    with pytest.raises(UsageError, match=r"unknown stop category 'exchnage'; valid: .*exchange"):
        TraceParams(stop_categories=("exchnage",)).check()
    TraceParams(stop_categories=("exchange", "mixer", "merchant", "payment_processor", "gambling")).check()


def test_the_engine_holds_no_chain_sized_array_of_its_own(store, engine):
    """Per input, output and tx the engine holds only mappings: index columns and tx maps (files, page
    cache) and the scratch (anonymous, resident where traces wrote). A copy in its own heap would grow a
    trace worker with the chain: over 100 GB on a full one. (The classifier's labels and mixer txs are
    sorted lists of the labelled txs, not arrays per tx.)"""
    import mmap

    engine.trace(f"{CB9}:0", TraceParams())
    engine.demixer()
    c = store.counts
    sizes = {c["txs"], c["txs"] + 1, c["inputs"], c["outputs"], c["txs"] // 64 + 2}
    checked = []
    for name, v in vars(engine).items():
        if not isinstance(v, np.ndarray) or len(v) not in sizes:
            continue
        root = v
        while isinstance(root, np.ndarray) and root.base is not None:
            root = root.base
        root = root.obj if isinstance(root, memoryview) else root
        assert isinstance(root, mmap.mmap), f"{name}: {len(v)} rows in the engine's own memory"
        checked.append(name)
    assert {"taint", "pred", "status", "in_tx", "out_tx", "tx_first_in", "tx_block", "out_spent"} <= set(checked)
