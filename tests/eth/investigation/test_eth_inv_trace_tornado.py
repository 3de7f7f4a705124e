"""The Ethereum trace through Tornado pools (issue 21): the mixer policies leads (default: the answer key's
haircut rule, withdrawals followed only where a lead pairs them with a tainted deposit), demix (true flow along
the leads), haircut (pass-through) and stop, worked by hand on a built pool. On generated scenarios (the key's haircut with the
case's links confirmed, the demix report): test_eth_inv_trace.py, over its development and evaluation seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chaintrail.analysis.eth.flowgraph import build
from chaintrail.analysis.eth.trace import EthTraceParams, EthTracer
from chaintrail.analysis.eth.u128 import split
from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES, FLOW_KIND

NONE = 0xFFFFFFFF
V, A, B, C, X, P, R = range(7)      # victim, depositor, recipient 1, clean user, recipient 2, pool, relayer
N = 7


def _addr(i: int) -> bytes:
    return bytes([0xB0 + i]) * 20


def _hex(i: int) -> str:
    return "0x" + _addr(i).hex()


def _tx(t: int) -> str:
    return "0x" + (bytes([t]) * 32).hex()


# tx0 C->A 100 clean; tx1 V->A 100 (the source); tx2 A deposits 100 (d0, log 10); tx3 C deposits 100 (d1, log 11);
# tx4 withdrawal w0 (log 12): 98 to B, fee 2 to R; tx5 withdrawal w1 (log 13): 98 to X, fee 2 to R
FLOWS = [(0, C, A, 100), (1, V, A, 100), (2, A, P, 100), (3, C, P, 100), (4, P, B, 98), (4, P, R, 2),
         (5, P, X, 98), (5, P, R, 2)]


def _graph():
    cols = list(zip(*FLOWS))
    n_tx = max(cols[0]) + 1
    am = [split(a) for a in cols[3]]
    return build(np.array(cols[0], np.uint32), np.array(cols[1], np.uint32), np.array(cols[2], np.uint32),
                 np.full(len(FLOWS), NONE, np.uint32), np.full(len(FLOWS), FLOW_KIND["internal"], np.uint8),
                 np.array([a[1] for a in am], np.uint64), np.array([a[0] for a in am], np.uint64), N, n_tx,
                 np.array([0], np.uint32), np.frombuffer(b"".join(_addr(i) for i in range(N)), np.uint8).reshape(N, 20),
                 np.frombuffer(b"".join(bytes([t]) * 32 for t in range(n_tx)), np.uint8).reshape(n_tx, 32),
                 np.zeros((1, 32), np.uint8))


def _tables(root: Path, leads: list[tuple[int, int, str, float]]) -> None:
    common = {"pool": _addr(P), "asset": None, "denomination": "100"}
    deps = [{**common, "log_num": 10 + i, "tx_num": 2 + i, "sender": _addr(s)} for i, s in enumerate((A, C))]
    wds = [{**common, "log_num": 12 + i, "tx_num": 4 + i, "recipient": _addr(r), "relayer": _addr(R), "fee": "2"}
           for i, r in enumerate((B, X))]
    lead_rows = [{"deposit_log_num": d, "withdrawal_log_num": w, "deposit_tx_num": d - 8, "withdrawal_tx_num": w - 8,
                  "heuristic": h, "precision": prec, "chance_match_rate": 0.01, "score": 1.0,
                  "evidence": f"hand-made {h}"} for d, w, h, prec in leads]
    (root / "analysis").mkdir(parents=True, exist_ok=True)
    for name, rows in (("eth_tornado_deposits", deps), ("eth_tornado_withdrawals", wds), ("eth_tornado_leads", lead_rows)):
        pq.write_table(pa.Table.from_pylist(rows, schema=ETH_ANALYSIS_TABLES[name]), root / "analysis" / f"{name}.parquet")


def _ends(d: dict) -> dict:
    return {(e["address"], e["kind"]): int(e["amount"]) for e in d["endpoints"]}


FIFO = [(10, 12, "fifo_timing", 0.04), (11, 13, "fifo_timing", 0.04)]


def _conserved(d: dict) -> None:
    t = d["totals"]["ETH"]
    assert int(t["traced"]) == sum(int(t[k]) for k in ("to_endpoints", "fees", "unspent", "below_threshold",
                                                          "stopped", "converted"))


def test_leads_policy_is_the_keys_haircut_rule_with_lead_paired_withdrawals_followed(tmp_path) -> None:
    _tables(tmp_path, FIFO)
    d = EthTracer(None, _graph(), tmp_path).trace(f"{_tx(1)}:{_hex(A)}")   # default policy: leads
    # A: T=100 of 200; its deposit carries floor(100*100/200) = 50 into the pool (T=50 of B=200).
    # w0 (fifo-paired with the tainted d0): B gets floor(98*50/200) = 24, followed; R's fee floor(2*26/102) = 0.
    # w1 (paired with the clean d1): X gets floor(98*26/100) = 25 and ends there; R's fee floor(2*1/2) = 1.
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(B), "unspent"): 24, (_hex(X), "mixer_withdrawal"): 25,
                        (_hex(R), "relayer_fee"): 1}
    assert d["totals"]["ETH"]["stopped"] == "26"
    _conserved(d)
    (row,) = d["demix"]
    assert row["deposit_tx"] == _tx(2) and row["withdrawal_tx"] == _tx(4) and row["tainted_in"] == "50"
    assert row["true_flow_estimate"] == "49"         # floor((100 - 2) * 50 / 100)
    assert row["lead"]["heuristic"] == "fifo_timing" and row["lead"]["precision"] == 0.04
    assert row["lead"]["chance_match_rate"] == 0.01 and "not proof" in row["lead"]["not_proof"]
    steps = {s["tx_hash"]: s.get("tornado_withdrawal") for s in d["steps"]}
    assert steps[_tx(4)]["followed"] and steps[_tx(4)]["lead"]["heuristic"] == "fifo_timing"
    assert steps[_tx(5)]["followed"] is False and steps[_tx(5)]["lead"] is None


def test_demix_gives_the_note_to_its_paired_withdrawal_only(tmp_path) -> None:
    _tables(tmp_path, FIFO)
    tr = EthTracer(None, _graph(), tmp_path)
    d = tr.trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(mixer_policy="demix"))
    # the note holds 50: w0's recipient floor(98*50/100) = 49, the relayer the rest, 1; w1 gets nothing
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(B), "unspent"): 49, (_hex(R), "relayer_fee"): 1}
    _conserved(d)
    # a lead of higher measured precision pairs d0 with w1 instead: X gets the note
    _tables(tmp_path, [*FIFO, (10, 13, "address_match", 0.9)])
    d = EthTracer(None, _graph(), tmp_path).trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(mixer_policy="demix"))
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(X), "unspent"): 49, (_hex(R), "relayer_fee"): 1}
    assert d["demix"][0]["lead"]["heuristic"] == "address_match"
    # no leads at all: the note keeps its taint
    _tables(tmp_path, [])
    d = EthTracer(None, _graph(), tmp_path).trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(mixer_policy="demix"))
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(P), "mixer_note"): 50}
    _conserved(d)


def test_haircut_passes_through_and_stop_ends_at_the_pool(tmp_path) -> None:
    _tables(tmp_path, FIFO)
    tr = EthTracer(None, _graph(), tmp_path)
    d = tr.trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(mixer_policy="haircut"))
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(B), "unspent"): 24, (_hex(X), "unspent"): 25,
                        (_hex(R), "unspent"): 1}
    d = tr.trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(mixer_policy="stop"))
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(P), "stopped_mixer"): 50}
    # a confirmed link pairs before any lead: d0 -> w1
    d = tr.trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(links=(f"{_tx(2)}:{_tx(5)}",)))
    assert _ends(d) == {(_hex(A), "unspent"): 50, (_hex(B), "mixer_withdrawal"): 24, (_hex(X), "unspent"): 25,
                        (_hex(R), "relayer_fee"): 1}
    assert d["demix"][0]["lead"]["heuristic"] == "confirmed"
    with pytest.raises(Exception, match="not a Tornado deposit"):
        tr.trace(f"{_tx(1)}:{_hex(A)}", EthTraceParams(links=(f"{_tx(1)}:{_tx(5)}",)))
