"""Ethereum exercises: a set on a small generated Ethereum chain pair (easy: about 3,000 transactions), built the
way a trainee's store is (generate, serve, ingest both chains, tags, analyses); the key's own answers get 100;
amounts are graded per exchange and per asset within the tolerance; feedback names swap, Tornado lead and bridge
nonce techniques; a false accusation costs twice an omission."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from training_parts import expected_of

from chaintrail.errors import DecodeError
from chaintrail.training import Classroom

KINDS = ["eth_swap_tornado_bridge", "eth_stablecoin_scam"]


def _need_anvil() -> None:
    from chaintrail.chains.ethereum.node import anvil_binary
    from chaintrail.errors import SourceError

    try:
        anvil_binary()
    except SourceError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"anvil is required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def eth_class(tmp_path_factory):
    _need_anvil()
    folder = tmp_path_factory.mktemp("training-eth") / "class"
    room, _token = Classroom.init(folder)
    with room:
        info = room.create_set("eth1", KINDS, seed=5, level="easy", build=True)
        tokens = {n: room.add_trainee(n) for n in ("Olena", "Taras")}
        ids = room.exercise_ids("eth1")
    return folder, info, tokens, ids


def units(amount, decimals: int) -> str:
    return str(Decimal(int(amount)) / (Decimal(10) ** decimals))


def eth_key_answers(exp: dict) -> dict:
    """Answers equal to the key's: per exchange and asset the haircut figure, the pools, the bridge, what is held."""
    dec = {a: v["decimals"] for a, v in exp["assets"].items()}
    return {
        "exchanges": [{"exchange": ex, "asset": a, "amount": units(v["haircut"], dec[a])}
                      for ex, per in exp["exchanges"].items() for a, v in per.items()],
        "perpetrator_addresses": list(exp["perpetrator_addresses"]),
        "mixers": [p["pool"] for p in exp["mixers"]] or ["none"],
        "bridges": [b["name"] for b in exp["bridges"]] or ["none"],
        "unspent": [{"asset": a, "amount": units(v, dec[a])} for a, v in exp["unspent"].items()],
        "reasoning": "Swapped on Uniswap (conversion), Tornado pool deposits followed by leads, the bridge legs "
                     "matched by nonce, the gas funder groups the addresses, token transfers to the exchange "
                     "deposit addresses.",
    }


def _q(grade: dict, qid: str) -> dict:
    return next(q for q in grade["questions"] if q["id"] == qid)


def test_the_set_has_both_chains_stores_and_the_case_needs_every_technique(eth_class):
    folder, info, _tokens, ids = eth_class
    assert info["eth_store"] and info["eth_store_b"] and info["store"] is None
    defi, scam = (expected_of(folder, i) for i in ids)
    assert defi["case_kind"] == "defi_exploit" and scam["case_kind"] == "pig_butchering"
    assert {"swap_conversion", "tornado_lead", "bridge_nonce"} <= set(defi["techniques"])
    assert defi["mixers"] and all(p["deposits"] >= 1 for p in defi["mixers"])
    assert defi["bridges"][0]["legs"] == len(defi["bridges"][0]["nonces"]) >= 1
    assert defi["exchanges"] and defi["perpetrator_addresses"]
    # the scam cashes out a token, not ETH: its answer is per token contract
    assert any(a != "ETH" for per in scam["exchanges"].values() for a in per)
    assert not scam["mixers"] and not scam["bridges"]


def test_the_brief_has_the_sources_and_no_answer(eth_class):
    folder, _info, _tokens, ids = eth_class
    with Classroom(folder) as room:
        ex = room.exercise(ids[0])
    exp = expected_of(folder, ids[0])
    text = str(ex)
    assert ex["brief"]["sources"] and ex["kind"] == "eth_swap_tornado_bridge"
    assert not any(a in text for a in exp["neutral_addresses"])
    assert not any(p["pool"] in text for p in exp["mixers"])
    for per in exp["exchanges"].values():
        assert not any(v["haircut"] in text for v in per.values())


def test_the_key_gets_full_marks(eth_class):
    folder, _info, tokens, ids = eth_class
    with Classroom(folder) as room:
        olena = room.trainee_by_token(tokens["Olena"])
        for i in ids:
            g = room.submit(i, olena, eth_key_answers(expected_of(folder, i)))["grade"]
            assert g["score"] == 100.0, (i, [(q["id"], q["score"], q["feedback"]) for q in g["questions"]])


def test_amounts_are_graded_per_exchange_and_asset_within_the_tolerance(eth_class):
    folder, _info, tokens, ids = eth_class
    exp = expected_of(folder, ids[1])                                 # the stablecoin scam, easy: 5 %
    name, per = next(iter(exp["exchanges"].items()))
    asset, figures = next(iter(per.items()))
    dec = exp["assets"][asset]["decimals"]
    share = 35.0 / len(exp["exchanges"])
    part = 0.6 * share / len(per)

    def score(amount_units: int, asset_name: str = asset) -> tuple[float, list[dict]]:
        ans = eth_key_answers(exp)
        ans["exchanges"] = [r if (r["exchange"], r["asset"]) != (name, asset) else
                            {"exchange": name, "asset": asset_name, "amount": units(amount_units, dec)}
                            for r in ans["exchanges"]]
        with Classroom(folder) as room:
            g = room.submit(ids[1], room.trainee_by_token(tokens["Taras"]), ans)["grade"]
        q = _q(g, "exchanges")
        return q["score"], q["feedback"]

    h = int(figures["haircut"])
    assert score(int(h * 1.04))[0] == 35.0                                         # inside 5 %
    assert score(h, exp["assets"][asset]["symbol"])[0] == 35.0                      # the token named by symbol
    near, fb = score(int(h * 1.10))                                                 # within 3x the tolerance
    assert near == pytest.approx(35.0 - part / 2, abs=0.01)
    assert any(f["code"] == "eth_asset_amount_off" for f in fb)
    wrong, fb = score(h * 3)
    assert wrong == pytest.approx(35.0 - part, abs=0.01)
    off = next(f for f in fb if f["code"] == "eth_asset_amount_wrong")
    assert name in off["text"] and exp["assets"][asset]["symbol"] in off["text"]
    # the right amount in another asset: the key's asset is missed and the other did not reach it
    ans = eth_key_answers(exp)
    ans["exchanges"] = [r if (r["exchange"], r["asset"]) != (name, asset) else
                        {"exchange": name, "asset": "ETH", "amount": units(h, dec)} for r in ans["exchanges"]]
    with Classroom(folder) as room:
        g = room.submit(ids[1], room.trainee_by_token(tokens["Taras"]), ans)["grade"]
    q = _q(g, "exchanges")
    assert q["score"] == pytest.approx(35.0 - 1.5 * part, abs=0.01)
    assert {"eth_asset_missed", "eth_asset_not_reached"} <= {f["code"] for f in q["feedback"]}


def test_feedback_names_swap_tornado_lead_and_bridge_nonce(eth_class):
    folder, _info, tokens, ids = eth_class
    exp = expected_of(folder, ids[0])
    ans = eth_key_answers(exp) | {"mixers": ["none"], "bridges": ["none"], "exchanges": []}
    with Classroom(folder) as room:
        g = room.submit(ids[0], room.trainee_by_token(tokens["Taras"]), ans)["grade"]
    mix, bridge, ex = _q(g, "mixers"), _q(g, "bridges"), _q(g, "exchanges")
    assert mix["score"] == 0 and bridge["score"] == 0 and ex["score"] == 0
    pool = next(f for f in mix["feedback"] if f["code"] == "pool_missed")
    assert pool["techniques"][0]["technique"] == "Tornado lead" and "precision" in pool["techniques"][0]["how"]
    assert "Tornado-style pool" in pool["text"] and ("measured precision" in pool["text"] or "No lead" in pool["text"])
    b = bridge["feedback"][0]
    nonces = exp["bridges"][0]["nonces"]
    assert b["code"] == "bridge_missed" and str(nonces[0]) in b["text"]
    assert b["techniques"][0]["technique"] == "bridge leg matched by nonce"
    missed = next(f for f in ex["feedback"] if f["code"] == "eth_exchange_missed")
    assert {"swap as conversion", "Tornado lead", "bridge leg matched by nonce"} <= {
        t["technique"] for t in missed["techniques"]}


def test_a_false_accusation_costs_twice_an_omission(eth_class):
    folder, _info, tokens, ids = eth_class
    exp = expected_of(folder, ids[0])
    innocent = expected_of(folder, ids[1])["perpetrator_addresses"][0]          # the scam's, not the exploit's
    perp, n = exp["perpetrator_addresses"], len(exp["perpetrator_addresses"])

    def score(addresses):
        with Classroom(folder) as room:
            g = room.submit(ids[0], room.trainee_by_token(tokens["Taras"]),
                            eth_key_answers(exp) | {"perpetrator_addresses": addresses})["grade"]
        return _q(g, "perpetrator")

    omitted = score(perp[1:])["score"]
    q = score([a.upper().replace("0X", "0x") for a in perp] + [innocent])        # case does not matter
    assert omitted == pytest.approx(20.0 * (n - 1) / n, abs=0.01)
    assert 20.0 - q["score"] == pytest.approx(2 * (20.0 - omitted), abs=0.02)
    assert [f["code"] for f in q["feedback"]] == ["false_accusation"]


def test_answers_are_read_strictly(eth_class):
    folder, _info, tokens, ids = eth_class
    with Classroom(folder) as room:
        t = room.trainee_by_token(tokens["Taras"])
        with pytest.raises(DecodeError, match="not an asset of this exercise"):
            room.submit(ids[0], t, {"exchanges": [{"exchange": "exchange_1", "asset": "DOGE", "amount": 1}]})
        with pytest.raises(DecodeError, match="more than 6 decimals"):
            room.submit(ids[1], t, {"unspent": [{"asset": "USDX", "amount": "0.0000001"}]})
        with pytest.raises(DecodeError, match="unknown field 'unspent_btc'"):
            room.submit(ids[0], t, {"unspent_btc": 1})


def _trainee_case(store, key_case: dict, tagged: list[str], other=None) -> str:
    """The case a trainee builds in the workbench's case file: one trace finding per source (until exchange,
    across the bridge), the addresses they judge the perpetrator's tagged, their reasoning in a note."""
    from chaintrail.cases.eth_findings import eth_trace_finding, eth_trace_params
    from chaintrail.cases.repository import CaseRepository
    from chaintrail.store.chainstore import ChainStore

    with CaseRepository.open(str(store / "cases.sqlite")) as repo:
        p = repo.ensure_operator(None, "olena")
        ref = repo.create_case(p, "Vault drain")["ref"]
        with ChainStore(store) as st, ChainStore(other) as far:
            for src in sorted({f"{s['tx']}:{s['to']}" for s in key_case["sources"]}):
                params = eth_trace_params(until_exchange=True)
                repo.add_finding(p, ref, eth_trace_finding(st, src, params, other=far))
        for a in tagged:
            repo.add_tag(p, ref, a, "perpetrator (attacker's wallet)")
        repo.add_tag(p, ref, tagged[0], "victim?")                          # not a perpetrator label: ignored
        repo.add_note(p, ref, "Swapped on Uniswap, then Tornado pools and the bridge to chain B.")
    return ref


def test_answers_are_read_from_the_trainees_case(eth_class):
    import json
    import subprocess
    import sys
    from pathlib import Path

    folder, info, tokens, ids = eth_class
    exp = expected_of(folder, ids[0])
    key = json.loads((folder / "sets" / "eth1" / "eth" / "scenario" / "answer_key.json").read_text())
    case = next(c for c in key["cases"] if c["id"] == exp["case_id"])
    tagged = exp["perpetrator_addresses"][:5]
    store = Path(info["eth_store"])
    ref = _trainee_case(store, case, tagged, Path(info["eth_store_b"]))
    with Classroom(folder) as room:
        got = room.submit_case(ids[0], room.trainee_by_token(tokens["Olena"]), ref,
                               _view(store, ref))
    ans, g = got["from_case"]["answers"], got["grade"]
    # what the case says: the tagged addresses, the pools and the bridge its traces crossed, its note
    assert sorted(ans["perpetrator_addresses"]) == sorted(tagged)
    assert set(ans["mixers"]) == {p["pool"] for p in exp["mixers"]}
    assert set(ans["bridges"]) <= set(exp["bridges"][0]["addresses"]) and ans["bridges"]
    assert "Tornado" in ans["reasoning"]
    n = len(exp["perpetrator_addresses"])
    assert _q(g, "perpetrator")["score"] == pytest.approx(20.0 * 5 / n, abs=0.01)
    assert _q(g, "mixers")["score"] == 10.0 and _q(g, "bridges")["score"] == 10.0
    # every exchange of the key is named with its ETH amount as the traces' records requests give it
    named = {r["exchange"] for r in ans["exchanges"]}
    assert set(exp["exchanges"]) <= named
    assert _q(g, "exchanges")["score"] >= 0.4 * 35.0
    # the same through the CLI: --from-case reads the case beside the exercise's store
    cli = Path(sys.executable).with_name("chaintrail")
    r = subprocess.run([str(cli), "training", "submit", "--exercise", str(ids[0]), "--from-case", ref, "--dir",
                        str(folder), "--token", tokens["Taras"], "--user", "olena", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["from_case"]["answers"] == ans and out["grade"]["score"] == g["score"]
    r = subprocess.run([str(cli), "training", "submit", "--exercise", str(ids[0]), "--dir", str(folder),
                        "--token", tokens["Taras"]], capture_output=True, text=True)
    assert r.returncode == 5 and "exactly one of --answers" in r.stderr


def _view(store, ref: str) -> dict:
    from chaintrail.cases.repository import CaseRepository

    with CaseRepository.open(str(store / "cases.sqlite")) as repo:
        return repo.case(repo.ensure_operator(None, "olena"), ref).to_dict()


def test_the_workbench_api_submits_a_trainees_case(eth_class):
    """POST /training/exercises/{id}/submissions/from-case over a live server on the set's Ethereum store: the
    server's token stands for the local case operator; the answers come from the case; a case that does not
    exist answers 404."""
    import json
    from pathlib import Path

    import httpx

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread

    folder, info, tokens, ids = eth_class
    exp = expected_of(folder, ids[0])
    key = json.loads((folder / "sets" / "eth1" / "eth" / "scenario" / "answer_key.json").read_text())
    case = next(c for c in key["cases"] if c["id"] == exp["case_id"])
    store = Path(info["eth_store"])
    ref = _trainee_case(store, case, exp["perpetrator_addresses"], Path(info["eth_store_b"]))
    bearer = "e" * 24
    app = create_app(store, token=bearer, training_dir=folder, other_store=info["eth_store_b"])
    with ServerThread(app) as url, httpx.Client(base_url=url, timeout=120) as c:
        hdr = {"Authorization": f"Bearer {bearer}", "X-Chaintrail-Training-Token": tokens["Olena"],
               "X-Chaintrail-User-Token": bearer}
        r = c.post(f"/api/v1/training/exercises/{ids[0]}/submissions/from-case", headers=hdr, json={"case": ref})
        assert r.status_code == 201, r.text
        got = r.json()
        assert sorted(got["from_case"]["answers"]["perpetrator_addresses"]) == exp["perpetrator_addresses"]
        assert _q(got["grade"], "perpetrator")["score"] == 20.0 and _q(got["grade"], "bridges")["score"] == 10.0
        r = c.post(f"/api/v1/training/exercises/{ids[0]}/submissions/from-case", headers=hdr, json={"case": "NOPE-9"})
        assert r.status_code == 404
