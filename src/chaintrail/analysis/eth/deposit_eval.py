"""Precision and recall of the deposit-address finder (analysis/eth/deposits.py) against a generated scenario's key.

Evaluation only: the finder never reads the key. Truth: every deposit address the scenario's exchanges know
(``deposit_addresses.parquet`` and the cases' ``deposit_addresses`` of kind forwarder or eoa; the OTC desk's
accounts aside), each with its exchange and kind.

* precision: of the addresses found, the share that are true deposit addresses;
* recall: of the true ones *used* (that received something on chain), the share found; forwarder recall and EOA
  recall are the same per kind; *swept-EOA* recall counts only the EOA deposit addresses that sent something
  (an EOA deposit address shows its pattern only once swept).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from chaintrail.analysis.eth.deposits import find_deposit_addresses
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


def deposit_truth(scenario: str | Path, key: dict | None = None) -> dict[str, tuple[str, str]]:
    """Every deposit address the exchanges know: address (lower-case 0x) -> (exchange, forwarder|eoa)."""
    folder = Path(scenario)
    key = key if key is not None else json.loads((folder / "answer_key.json").read_text())
    out = {r["address"]: (r["exchange"], r["kind"])
           for r in pq.read_table(folder / "deposit_addresses.parquet").to_pylist()}
    for c in key["cases"]:
        for d in c["deposit_addresses"]:
            if d["kind"] in ("forwarder", "eoa"):
                out.setdefault(d["address"], (d["exchange"], d["kind"]))
    return out


@dataclass
class DepositScore:
    """What the finder found beside the truth, and the counts each rate is made of."""

    found: dict[str, dict]                  # address -> the finder's row
    truth: dict[str, tuple[str, str]]
    used: set[str]                          # true deposit addresses that received something
    swept_eoas: set[str]                    # used EOA deposit addresses that sent something

    def counts(self) -> dict[str, tuple[int, int]]:
        """rate name -> (hits, out of)."""
        tp = set(self.found) & set(self.truth)
        fwd = {a for a in self.used if self.truth[a][1] == "forwarder"}
        eoa = {a for a in self.used if self.truth[a][1] == "eoa"}
        return {"precision": (len(tp), len(self.found)), "recall": (len(tp & self.used), len(self.used)),
                "forwarder_recall": (len(tp & fwd), len(fwd)), "eoa_recall": (len(tp & eoa), len(eoa)),
                "swept_eoa_recall": (len(tp & self.swept_eoas), len(self.swept_eoas))}

    def rate(self, name: str) -> float | None:
        k, n = self.counts()[name]
        return k / n if n else None


def score_deposits(store: ChainStore, scenario: str | Path, key: dict | None = None) -> DepositScore:
    """Run the finder on ``store`` and score it against ``scenario``'s key."""
    found = {"0x" + r["address"].hex(): r for r in find_deposit_addresses(store).to_pylist()}
    received = {r["a"] for r in query(store, "SELECT DISTINCT to_address AS a FROM eth_value_flows").to_pylist()}
    sent = {r["a"] for r in query(store, "SELECT DISTINCT from_address AS a FROM eth_value_flows "
                                         "WHERE kind NOT IN ('fee_tip', 'fee_burnt')").to_pylist()}
    truth = deposit_truth(scenario, key)
    used = {a for a in truth if a in received}
    swept = {a for a in used if truth[a][1] == "eoa" and a in sent}
    return DepositScore(found, truth, used, swept)


__all__ = ["DepositScore", "deposit_truth", "score_deposits"]
