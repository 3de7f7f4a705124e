"""The trace summary says how the amounts were split where the trace's own model did not decide it
(each step of a trace result names its model and heuristics)."""

from __future__ import annotations

from chaintrail.cases.report_prose import trace_summary


def finding(steps, params=None, mixer_txs=0) -> dict:
    totals = {"traced_sat": 10**8, "to_endpoints_sat": 0, "fees_sat": 0, "unspent_sat": 10**8,
              "below_threshold_sat": 0, "stopped_sat": 0, "txs_touched": len(steps), "mixer_txs": mixer_txs}
    p = {"direction": "forward", "model": "haircut", "max_hops": 10, "mixer_policy": "haircut", **(params or {})}
    return {"params": p, "result": {"source": {"kind": "output", "txid": "ab" * 32, "vout": 0}, "totals": totals,
                                    "endpoints": [], "steps": steps, "model": p["model"]}}


def step(model, *heuristics):
    return {"txid": "cd" * 32, "block_hash": "00" * 32, "model": model, "heuristics": list(heuristics)}


def text(f) -> str:
    return " ".join(trace_summary(f))


def test_plain_steps_add_nothing():
    t = text(finding([step(None), step("haircut"), step("haircut")]))
    assert "CoinJoin" not in t and "proportion instead" not in t


def test_pass_through_demix_and_fallback_are_each_said():
    t = text(finding([step(None), step("haircut", "mixer-pass-through:wasabi2"),
                      step("haircut", "mixer-pass-through:whirlpool_mix")], mixer_txs=2))
    assert "passed through 2 CoinJoin or mixer transactions" in t and "proportional estimates" in t
    t = text(finding([step(None)] + [step("haircut", "demix:coinjoin", "converge")] * 3,
                     {"mixer_policy": "demix"}, mixer_txs=3))
    assert "At 3 CoinJoin transactions the coins were followed" in t and "proportional estimates" not in t
    t = text(finding([step(None), step("fifo"), step("haircut", "unknown-input-value")], {"model": "fifo"}))
    assert "At 1 transaction the value of some inputs is not in the store, so the FIFO order" in t
    # A result without per-step rules (older findings): the mixer count alone still warns.
    t = text(finding([{"txid": "cd" * 32, "block_hash": "00" * 32}], mixer_txs=1))
    assert "passed through 1 CoinJoin or mixer transaction;" in t


def test_sweep_pattern_leads_are_called_leads():
    f = finding([step(None)] + [step("haircut", "demix:coinjoin", "converge", "pattern:sweep")] * 2,
                {"mixer_policy": "demix"}, mixer_txs=2)
    f["result"]["demix"] = [{"exits": ["ef" * 32 + ":1", "ef" * 32 + ":2", "ef" * 32 + ":3"],
                             "exit_amounts": [50_000_000, 25_000_000, 40_000_000],
                             "evidence": ["converge:3", "pattern:sweep", "pattern:sweep"],
                             "leads": [{"exit": "ef" * 32 + ":2", "swept_in": "aa" * 32},
                                       {"exit": "ef" * 32 + ":3", "swept_in": "bb" * 32}]}]
    t = text(f)
    assert "2 outputs leaving the mixes (0.65000000 BTC) were attributed as leads, not on evidence" in t
    assert "records for those deposits confirm or refute them" in t
    del f["result"]["demix"][0]["leads"]
    assert "leads" not in text(f)
