"""A small class on a generated chain (seed 3, easy: about 500 transactions), built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

KINDS = ["peel_chain", "custodial_mixer", "coinjoin", "straight_to_exchange", "consolidation_clustering"]


@dataclass
class Klass:
    folder: Path
    instructor: str
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def klass(tmp_path_factory) -> Klass:
    from chaintrail.training import Classroom

    folder = tmp_path_factory.mktemp("training") / "class"
    room, token = Classroom.init(folder)
    room.create_set("week1", KINDS, seed=3, level="easy", build=True)
    tokens = {name: room.add_trainee(name) for name in ("Alice", "Bob")}
    room.close()
    return Klass(folder, token, tokens)


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
