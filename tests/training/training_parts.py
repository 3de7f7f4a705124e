"""Helpers the training tests share (a module of its own: ``from conftest import`` resolves to whichever
conftest was imported first when several test folders run together)."""

from __future__ import annotations

from pathlib import Path

KINDS = ["peel_chain", "custodial_mixer", "coinjoin", "straight_to_exchange", "consolidation_clustering"]


def expected_of(folder: Path, exercise_id: int) -> dict:
    """The grader's expected answers, read straight from the database (the test is the instructor)."""
    import json
    import sqlite3

    con = sqlite3.connect(folder / "training.sqlite")
    try:
        return json.loads(con.execute("SELECT expected_json FROM exercises WHERE id = ?", (exercise_id,)).fetchone()[0])
    finally:
        con.close()


def btc(sat: int) -> str:
    whole, frac = divmod(sat, 10**8)
    return f"{whole}.{frac:08d}"


def key_answers(exp: dict) -> dict:
    """Answers equal to the key: what a perfect trainee submits."""
    return {"exchanges": [{"exchange": k, "amount_btc": btc(v)} for k, v in exp["exchanges"].items()],
            "perpetrator_addresses": list(exp["perpetrator_addresses"]),
            "mixers": list(exp["mixers"]) or ["none"], "unspent_btc": btc(exp["unspent_sat"]),
            "reasoning": "Clustered the consolidation (common input), followed the peel chain by the change output, "
                         "demixed the mixer's chips, followed the CoinJoin postmix coins, the batch payouts and the "
                         "mules' hops to the exchange deposit addresses."}
