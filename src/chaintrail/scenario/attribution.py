"""The tags a scenario hands to an investigator: partial service attribution, not the answer key.

Real attribution data (GraphSense TagPacks, vendor sets, court records) knows an
exchange's hot and cold wallets and some of its customers' deposit addresses
(from seizures, test deposits, records returned to earlier requests), a custodial
mixer's hot wallet and the handful of deposit addresses published on forums or in
indictments, and a few addresses of each P2P trader or casino. It never knows every
one-time deposit address of a mixer. The analysis has to find the rest on chain
(co-spending, sweeps into a tagged hot wallet, chip patterns, the payout side).

``TagCoverage`` says how much of that an investigator has; ``write_service_tags``
writes the CSV ``chaintrail tags import`` reads. ``REALISTIC`` is the default
everywhere (demix, ``scenario score-trace``, the demo, the tests); ``FULL``, every
address each service controls straight from the answer key (what this project
did before), is only used when asked for, and its tag source says so.

The addresses are chosen here, on the scenario side, from the answer key's
``addresses`` table (controller and the part of the wallet each was made in);
nothing under ``analysis/`` reads them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chaintrail.errors import UsageError

TAG_CATEGORY = {"exchange": "exchange", "p2p_trader": "exchange", "mixer": "mixing_service",
                "gambling": "gambling"}
HOT = ("main", "cold")            # wallet parts an investigator's tag set holds whole for exchanges and mixers
FIELDS = ["address", "label", "category", "concepts", "is_cluster_definer", "confidence", "currency", "source",
          "context"]
_CONCEPT = {"main": "hot_wallet", "cold": "cold_wallet"}


@dataclass(frozen=True)
class TagCoverage:
    """How much service attribution an investigator has.

    ``deposit_fraction``: share of each exchange's deposit addresses known (seeded choice).
    ``mixer_published``: a custodial mixer's deposit addresses known beyond its hot wallet (a count;
    None: ``deposit_fraction`` of its deposit and chip addresses). ``trader_fraction``: share of a
    P2P trader's or casino's addresses known (at least one). ``full``: every address each
    service controls, from the answer key (not what an investigator has).
    """

    name: str
    deposit_fraction: float = 0.3
    mixer_published: int | None = 3
    trader_fraction: float = 0.3
    full: bool = False

    def describe(self) -> str:
        if self.full:
            return "FULL coverage from the answer key: every address each service controls (not what an investigator has)"
        mixer = (f"{self.mixer_published} published mixer deposit addresses" if self.mixer_published is not None
                 else f"{self.deposit_fraction:.0%} of the mixer's deposit and chip addresses")
        return (f"{self.name} coverage: exchange and mixer hot/cold wallets, {self.deposit_fraction:.0%} of exchange "
                f"deposit addresses, {mixer}, {self.trader_fraction:.0%} of P2P-trader and casino addresses (>= 1)")

    def to_dict(self) -> dict:
        return {"name": self.name, "deposit_fraction": self.deposit_fraction, "mixer_published": self.mixer_published,
                "trader_fraction": self.trader_fraction, "full": self.full, "description": self.describe()}


REALISTIC = TagCoverage("realistic")
FULL = TagCoverage("full", 1.0, None, 1.0, full=True)
HOT_ONLY = TagCoverage("hot-wallet-only", 0.0, 0, 0.0)


def coverage(spec: str | float | TagCoverage | None) -> TagCoverage:
    """``realistic`` (default), ``full``, ``hot`` or a fraction in [0, 1] (of every service's non-hot addresses)."""
    if spec is None:
        return REALISTIC
    if isinstance(spec, TagCoverage):
        return spec
    s = str(spec).strip().lower()
    if s == "realistic":
        return REALISTIC
    if s == "full":
        return FULL
    if s in ("hot", "hot-wallet-only"):
        return HOT_ONLY
    try:
        f = float(s.rstrip("%")) / (100 if s.endswith("%") else 1)
    except ValueError:
        raise UsageError(f"tag coverage {spec!r}: use realistic, full, hot or a fraction such as 0.5") from None
    if not 0.0 <= f <= 1.0:
        raise UsageError(f"tag coverage {spec!r}: a fraction must lie between 0 and 1")
    return TagCoverage(f"{f:.0%}", f, None, f)


def _pick(addrs: list[str], k: int, rng: np.random.Generator) -> list[str]:
    if k >= len(addrs):
        return list(addrs)
    return [addrs[i] for i in sorted(rng.choice(len(addrs), size=k, replace=False).tolist())]


def _count(frac: float, n: int) -> int:
    return int(round(frac * n))


def service_addresses(folder: str | Path, cov: TagCoverage,
                      seed: int | None = None) -> list[tuple[dict, list[tuple[str, str]]]]:
    """Per tagged service entity of the scenario in ``folder``: (entity, [(address, wallet part)] the
    investigator knows)."""
    folder = Path(folder)
    key = json.loads((folder / "answer_key.json").read_text())
    seed = key["generator"]["seed"] if seed is None else seed
    tab = pq.read_table(folder / "answer_key" / "addresses.parquet")
    if "wallet" not in tab.column_names:
        raise UsageError(f"{folder}: the answer key has no address wallet parts; regenerate the scenario")
    ents = [e for e in key["entities"] if e.get("kind") in TAG_CATEGORY]
    want = {int(e["id"]) for e in ents}
    addr = tab["address"].to_pylist()
    ctrl = tab["entity_id"].to_numpy()
    part = tab["wallet"].to_pylist()
    per: dict[int, dict[str, list[str]]] = {e: {} for e in want}
    for i in np.flatnonzero(np.isin(ctrl, np.fromiter(want, np.int64, len(want)))).tolist():
        per[int(ctrl[i])].setdefault(part[i], []).append(addr[i])
    part_of = {a: p for parts in per.values() for p, xs in parts.items() for a in xs}
    out = []
    for e in ents:
        parts = per[int(e["id"])]
        rng = np.random.default_rng([int(seed), 17, int(e["id"])])
        if cov.full:
            known = [a for p in parts.values() for a in p]
        elif e["kind"] in ("exchange", "mixer"):
            known = [a for p in HOT for a in parts.get(p, [])]
            rest = [a for p, xs in parts.items() if p not in HOT for a in xs]
            if e["kind"] == "exchange":
                dep = parts.get("deposit", [])
                known += _pick(dep, _count(cov.deposit_fraction, len(dep)), rng)
            elif cov.mixer_published is not None:
                known += _pick(parts.get("deposit", []), cov.mixer_published, rng)
            else:
                known += _pick(rest, _count(cov.deposit_fraction, len(rest)), rng)
        else:                      # P2P traders, casinos: the addresses seen in their trades and ads
            every = [a for p in parts.values() for a in p]
            known = _pick(every, max(1, _count(cov.trader_fraction, len(every))), rng)
        out.append((e, [(a, part_of[a]) for a in sorted(set(known))]))
    return out


def write_service_tags(folder: str | Path, path: str | Path, coverage_: str | float | TagCoverage | None = None,
                       seed: int | None = None) -> int:
    """Write the scenario's service tags at ``coverage_`` (default realistic) as a tag CSV; returns the row count."""
    cov = coverage(coverage_)
    folder = Path(folder)
    seed = json.loads((folder / "answer_key.json").read_text())["generator"]["seed"] if seed is None else seed
    rows = []
    for e, known in service_addresses(folder, cov, seed):
        for a, part in known:
            # An exchange's or mixer's hot and cold wallets define its entity; a deposit address is one
            # customer's and stays where it is. A P2P trader's or casino's addresses are its own wallet.
            wallet = e["kind"] not in ("exchange", "mixer") or part in HOT
            concept = _CONCEPT.get(part, "") if e["kind"] in ("exchange", "mixer") else ""
            rows.append({"address": a, "label": e["name"], "category": TAG_CATEGORY[e["kind"]], "concepts": concept,
                         "is_cluster_definer": "true" if wallet else "false", "confidence": "service_data",
                         "currency": "BTC",
                         "source": f"chaintrail scenario seed {seed}: service attribution, {cov.describe()}",
                         "context": f"entity {e['id']} ({e['kind']}) of the generated chain, "
                                    f"{concept.replace('_', ' ') or ('deposit address' if not wallet else 'address')}"})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    return len(rows)
