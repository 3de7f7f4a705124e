"""An exchange's Ethereum reply mapped onto a generated chain (issue 21): legs written from the store's own value
flows (tokens in token units, ETH in ether) are found where they moved; off-by-one-unit, other-asset, wrong-account
and unknown-tx legs are told apart; `case attach --exchange-records --chain eth` keeps the mapping, and a reply with
a bad row is refused whole (exit 2, no attachment)."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal

import pytest
from eth_inv_served import CLI, prepared_store

from chaintrail.cases.eth_exchange_records import map_eth_legs, read_eth_legs, store_tokens
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

HEADER = "transaction_hash,address,token_contract,asset,amount,type,date,entity_name\n"


def _units(amount: int, decimals: int) -> str:
    return format(Decimal(amount).scaleb(-decimals), "f")


@pytest.fixture(scope="module")
def reply(tmp_path_factory):
    store, _ = prepared_store(tmp_path_factory)
    with ChainStore(store) as st:
        tokens = store_tokens(st)
        tok = query(st, "SELECT transaction_hash AS tx, from_address AS frm, to_address AS dst, asset, amount "
                        "FROM value_flows WHERE kind = 'erc20' AND amount::HUGEINT > 1000000 AND from_address IS NOT NULL "
                        "ORDER BY block_number, flow_index LIMIT 1", chain="eth").to_pylist()[0]
        eth = query(st, "SELECT transaction_hash AS tx, from_address AS frm, to_address AS dst, amount FROM value_flows "
                        "WHERE kind = 'tx_value' AND amount::HUGEINT > 0 ORDER BY block_number DESC, flow_index "
                        "LIMIT 1", chain="eth").to_pylist()[0]
    dec = tokens[tok["asset"]].decimals
    sym = tokens[tok["asset"]].symbol
    a, e = int(tok["amount"]), int(eth["amount"])
    rows = [f"{tok['tx']},{tok['dst']},{tok['asset']},{sym},{_units(a, dec)},Incoming,2024-05-01,Customer A",
            f"{eth['tx']},{eth['frm']},,ETH,{_units(e, 18)},Outgoing,2024-05-02,Customer A",
            f"{tok['tx']},{tok['dst']},{tok['asset']},{sym},{_units(a - 1, dec)},Incoming,,",          # one unit short
            f"{tok['tx']},{tok['dst']},,ETH,{_units(a, dec)},Incoming,,",                             # other asset
            f"{tok['tx']},0x{'77' * 20},{tok['asset']},{sym},{_units(a, dec)},Incoming,,",          # not in the tx
            f"0x{'ee' * 32},{tok['dst']},{tok['asset']},{sym},1,Incoming,,"]                      # not in the store
    return store, tok, eth, dec, (HEADER + "\n".join(rows) + "\n").encode()


def test_legs_are_placed_on_the_value_flows(reply) -> None:
    store, tok, eth, dec, data = reply
    with ChainStore(store) as st:
        legs = read_eth_legs(data, "reply.csv", store_tokens(st))
        m = map_eth_legs(st, legs)
        block = query(st, "SELECT b.hash FROM transactions t JOIN blocks b ON b.number = t.block_number "
                          "WHERE t.hash = $h", {"h": tok["tx"]}, chain="eth").to_pylist()[0]["hash"]
    assert legs[0].amount == int(tok["amount"]) and legs[0].decimals == dec
    assert [x["status"] for x in m["per_leg"]] == ["matched_to", "matched_from", "amount_differs", "asset_differs",
                                                   "address_not_in_tx", "tx_not_in_store"]
    assert m["per_leg"][0]["block_hash"] == block and m["per_leg"][5]["block_hash"] is None
    by = {a["asset"]: a for a in m["assets"]}
    assert by[tok["asset"]]["matched"] == tok["amount"] and by["ETH"]["matched"] == eth["amount"]
    assert (m["legs"], m["transactions"], m["transactions_in_store"]) == (6, 3, 2)
    assert m["entities"] == ["Customer A"] and m["format"] == "exchange-records-eth/1"


def test_cli_attaches_the_mapping_and_refuses_a_bad_reply_whole(reply, tmp_path) -> None:
    store, tok, _, _, data = reply
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINTRAIL_USER")}
    db = str(tmp_path / "cases.sqlite")

    def case(*args):
        return subprocess.run([*CLI, "case", *args, "--store", str(store), "--db", db, "--json"], capture_output=True,
                              text=True, timeout=300, env=env)

    ref = json.loads(case("new", "Exchange reply").stdout)["ref"]
    good, bad = tmp_path / "reply.csv", tmp_path / "hostile.csv"
    good.write_bytes(data)
    r = case("attach", ref, str(good), "--exchange-records", "--chain", "eth")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mapping"]["by_status"]["matched_to"] == 1
    bad.write_bytes(data + f"{tok['tx']},{tok['dst']},,USDT,1,,,\n".encode() + f"{tok['tx']},{tok['dst']},,,-5,,,\n".encode())
    r = case("attach", ref, str(bad), "--exchange-records", "--chain", "eth")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "hostile.csv:8: token 'USDT' named by symbol only" in r.stderr and "hostile.csv:9: amount '-5'" in r.stderr
    r = case("attach", ref, str(good), "--exchange-records")            # read as Bitcoin: told what it is
    assert r.returncode == 2 and "an Ethereum reply? read it with --chain eth" in r.stderr
    atts = json.loads(case("show", ref).stdout)["attachments"]
    assert [a["filename"] for a in atts] == ["reply.csv"]
