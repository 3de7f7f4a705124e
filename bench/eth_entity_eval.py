"""Measure the Ethereum deposit-address finder and each account clustering heuristic against generated answer keys.

    .venv/bin/python bench/eth_entity_eval.py [--scale 2] [--dev 7 11] [--eval 9001 9002] [--work /tmp/entity-eval]

For each seed: ``generate(seed, "all", scale)`` (reference behaviour for development seeds, behaviour randomised
for the evaluation seeds 9000-9999), served from its journals and ingested; the scenario's public service tags
imported (``service_tags.write_service_tags``, ``chaintrail tags import``); conversions and deposit addresses
written (``conversions.write_conversions``, ``deposits.write_deposit_addresses``: deposit reuse reads the latter).
Then (a) the deposit-address finder is scored (``analysis/eth/deposit_eval.py``: precision, recall over the used
deposit addresses, per kind, and over the swept EOAs) and (b) each clustering heuristic alone, and all together,
with ``analysis/eth/entity_eval.py`` (link precision, pair recall), plus for ``airdrop/1`` its recall over the
pairs of farm addresses that swept their airdrop to one owner (``airdrop.parquet``). Counts per seed, per source
(in / out of sample) summed, Wilson 95% intervals. Writes ``src/chaintrail/analysis/eth_entity_rates.json`` (the
error-rate entry format the report cites, cases/eth_methodology.py) and the two tables of docs/eth-heuristics.md.
Development seeds are where the rules were written; never tune on the evaluation seeds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chaintrail.analysis.eth.conversions import write_conversions  # noqa: E402
from chaintrail.analysis.eth.deposit_eval import score_deposits  # noqa: E402
from chaintrail.analysis.eth.deposits import write_deposit_addresses  # noqa: E402
from chaintrail.analysis.eth.entities import HEURISTICS, EntityParams, EthGraph, collect_links, service_mask  # noqa: E402
from chaintrail.analysis.eth.entity_eval import evaluate, wilson  # noqa: E402
from chaintrail.scenario.eth.generate import generate  # noqa: E402
from chaintrail.scenario.eth.serve import serve  # noqa: E402
from chaintrail.scenario.eth.service_tags import write_service_tags  # noqa: E402
from chaintrail.store.chainstore import ChainStore  # noqa: E402

DOCS = ROOT / "docs" / "eth-heuristics.md"
RATES = ROOT / "src" / "chaintrail" / "analysis" / "eth_entity_rates.json"
CLI = str(ROOT / ".venv" / "bin" / "chaintrail")
DEPOSIT_RATES = ("precision", "recall", "forwarder_recall", "eoa_recall", "swept_eoa_recall")
SOURCES = {"generated_in_sample": "in sample", "generated_out_of_sample": "out of sample"}
NAMES = {"deposit-reuse/1": "eth:deposit-reuse", "gas-funding/1": "eth:gas-funding", "approval/1": "eth:approval",
         "deployer/1": "eth:deployer", "airdrop/1": "eth:airdrop"}
WHAT = {"eth:deposit-reuse": "Accounts paying one exchange deposit address belong to one customer (Victor 2020)",
        "eth:gas-funding": "An account funded for gas by one funder just before it acts belongs to the funder",
        "eth:approval": "An account approving another account to spend its tokens (self-authorisation); spenders "
                        "approved by 3 or more owners refused",
        "eth:deployer": "A contract belongs to the account (or factory) that created it",
        "eth:airdrop": "Recipients of one airdrop (their first receipt of the token) that each forward at least what "
                       "they got to one common account (not a service) are one entity (a Sybil farm consolidating "
                       "its claims)"}


def prepare(seed: int, scale: float, work: Path) -> tuple[Path, Path]:
    """Generate, ingest, import the service tags and write conversions and deposit addresses (each once)."""
    folder, store = work / f"scenario-{seed}", work / f"store-{seed}"
    if not (folder / "answer_key.json").exists():
        generate(seed, "all", scale, folder)
    if not (store / "analysis" / "eth_deposit_addresses.parquet").exists():
        with serve(folder) as nodes:
            _cli("ingest", "eth", "--rpc", nodes[31337].url, "--store", str(store))
        write_service_tags(folder, work / f"services-{seed}.csv")
        _cli("tags", "import", str(work / f"services-{seed}.csv"), "--store", str(store))
        with ChainStore(store) as st:
            write_conversions(st)
            write_deposit_addresses(st)
    return folder, store


def _cli(*args: str) -> None:
    r = subprocess.run([CLI, *args, "--json"], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"chaintrail {args[0]} {args[1]} failed: {r.stderr.strip()[-300:]}")


def measure(seed: int, scale: float, work: Path) -> dict:
    folder, store = prepare(seed, scale, work)
    key = json.loads((folder / "answer_key.json").read_text())
    with ChainStore(store) as st:
        dep = score_deposits(st, folder, key).counts()
        service = service_mask(st)
        ent = evaluate(st, folder, service=service)
        farm = _farm_recall(st, folder, service)
    heur = {h: {"links": r["links"], "right": r["links_right"], "judged": r["links_judged"],
                "pairs_found": r["pairs_found"], "pairs_true": r["pairs_true"]} for h, r in ent.items()}
    return {"seed": seed, "scale": scale, "behaviour": key["behaviour"]["mode"], "transactions": key["transactions"],
            "deposits": {k: list(v) for k, v in dep.items()}, "entities": heur, "airdrop_farm_pairs": farm}


def _farm_recall(st: ChainStore, folder: Path, service) -> list[int]:
    """[found, true]: pairs of farm addresses that swept their airdrop to one owner, joined by airdrop/1 alone."""
    rows = pq.read_table(folder / "airdrop.parquet").to_pylist()
    owner = {r["recipient"]: r["farm_owner"] for r in rows if r["action"] == "sweep"}
    g = EthGraph(st)
    links, _, _ = collect_links(g, EntityParams(heuristics=("airdrop/1",)), service)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in zip(links["a"].to_pylist(), links["b"].to_pylist()):
        ra, rb = find(g.hex(a)), find(g.hex(b))
        if ra != rb:
            parent[rb] = ra
    found = true = 0
    sweepers = sorted(owner)
    for i, a in enumerate(sweepers):
        for b in sweepers[i + 1:]:
            if owner[a] == owner[b]:
                true += 1
                found += find(a) == find(b)
    return [found, true]


# -- rates ---------------------------------------------------------------------------------------------------

def _ci(k: int, n: int) -> list[float] | None:
    return [round(x, 4) for x in wilson(k, n)] if n else None


def _where(source: str, runs: list[dict]) -> str:
    return f"scenario --chain eth --kind all --scale {runs[0]['scale']}, seeds " + ", ".join(
        f"{r['seed']} ({r['behaviour']} behaviour)" for r in runs) + f"; {SOURCES[source]}"


def entries(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """The error-rate entries (``analysis/error_rates.json`` format) of the finder and each heuristic."""
    out: dict[str, dict] = {}
    not_real = {"status": "not measured", "reason": "no real labelled Ethereum entities"}
    figs: dict[str, dict] = {"real": {"status": "not measured", "reason": "no real labelled deposit addresses"}}
    for source, rs in runs.items():
        c = {k: [sum(r["deposits"][k][i] for r in rs) for i in (0, 1)] for k in DEPOSIT_RATES}
        (tp, nf), (hit, used) = c["precision"], c["recall"]
        figs[source] = {"status": "measured", "precision": tp / nf if nf else None, "precision_ci95": _ci(tp, nf),
                        "precision_n": nf, "recall": hit / used if used else None, "recall_ci95": _ci(hit, used),
                        "recall_n": used, "swept_eoa_recall": c["swept_eoa_recall"], "measured_on": _where(source, rs)}
    out["eth:deposit-forwarding"] = {
        "version": "deposits-1", "what": "Exchange deposit address recognised by its forwarding pattern "
        "(factory-made forwarder, or an EOA sweeping whole balances to one hot wallet), untagged",
        "unit": "deposit addresses", "status": "measured", "figures": figs}
    for h, name in NAMES.items():
        figs = {"real": dict(not_real)}
        for source, rs in runs.items():
            right, judged = (sum(r["entities"][h][k] for r in rs) for k in ("right", "judged"))
            found, true = (sum(r["entities"][h][k] for r in rs) for k in ("pairs_found", "pairs_true"))
            links = sum(r["entities"][h]["links"] for r in rs)
            figs[source] = {"status": "measured", "links": links,
                            "precision": right / judged if judged else None, "precision_ci95": _ci(right, judged),
                            "precision_n": judged, "recall": found / true if true else None,
                            "recall_ci95": _ci(found, true), "recall_n": true, "measured_on": _where(source, rs)}
            if h == "airdrop/1":
                f, t = (sum(r["airdrop_farm_pairs"][i] for r in rs) for i in (0, 1))
                figs[source].update(farm_recall=f / t if t else None, farm_recall_ci95=_ci(f, t), farm_recall_n=t)
        measured = any(f.get("precision_n") for f in figs.values())
        out[name] = {"version": h, "what": WHAT[name], "unit": "links (precision), same-entity pairs (recall)",
                     "status": "measured" if measured else "not yet measured", "figures": figs}
    return out


# -- docs ----------------------------------------------------------------------------------------------------

def _r(k: int, n: int, digits: int = 3) -> str:
    if not n:
        return "n/a (0)"
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def entity_markdown(runs: dict[str, list[dict]], stamp: str) -> str:
    lines = ["<!-- eth-entities:begin -->",
             "Measured by `bench/eth_entity_eval.py` (rates in `src/chaintrail/analysis/eth_entity_rates.json`, which "
             f"the court report cites) {stamp}. Each chain: `scenario generate --chain eth --kind all`, service tags "
             "imported, deposit addresses written first (deposit reuse reads them). *Link precision*: of the "
             "heuristic's links whose two accounts both have a truth, the share inside one true entity. *Pair "
             "recall*: of the true same-entity pairs on chain A (economy entities with their farm addresses, case "
             "perpetrators, exchanges with all their deposit addresses), the share that heuristic alone puts "
             "together. *Farm recall* (airdrop/1): of the pairs of farm addresses that swept their airdrop to one "
             "owner, the share it joins. Wilson 95% intervals; links of one entity are not independent draws, so "
             "they are optimistic. These are figures on our own generator: upper bounds, not mainnet rates.", "",
             "| seed | sample | heuristic | links | link precision [95%] | pair recall [95%] |",
             "|---|---|---|---|---|---|"]
    for source, rs in runs.items():
        for r in rs:
            for h in (*HEURISTICS, "all"):
                e = r["entities"][h]
                lines.append(f"| {r['seed']} ({r['behaviour']}) | {SOURCES[source]} | {h} | {e['links']} | "
                             f"{_r(e['right'], e['judged'])} | {_r(e['pairs_found'], e['pairs_true'], 4)} |")
    lines += ["", "| seed | sample | airdrop/1 farm recall [95%] |", "|---|---|---|"]
    for source, rs in runs.items():
        for r in rs:
            lines.append(f"| {r['seed']} | {SOURCES[source]} | {_r(*r['airdrop_farm_pairs'])} |")
    lines.append("<!-- eth-entities:end -->")
    return "\n".join(lines)


def deposit_markdown(runs: dict[str, list[dict]], stamp: str) -> str:
    lines = ["<!-- deposit-addresses:begin -->",
             "## Exchange deposit addresses by forwarding pattern (analysis/eth/deposits.py, `deposits-1`)", "",
             "Rules (the module docstring has them in full): **forwarder**, a contract made by a factory whose "
             "outgoing value all goes to one address H (ETH in the tx that brought it, tokens only in txs H sent), "
             "and its unused siblings of the same factory and code; **eoa_sweep**, an EOA whose own txs all move "
             "value to one EOA H that itself pays ETH out, each leaving at most 50% of the swept asset beyond the gas "
             "reserve (balance - gas x maxFeePerGas), within 64 blocks of a receipt, with H swept into so by at "
             "least 3 EOAs.", "",
             f"Measured by `bench/eth_entity_eval.py` {stamp} (`analysis/eth/deposit_eval.py`; rates in "
             "`src/chaintrail/analysis/eth_entity_rates.json`). Truth: every deposit address the scenario's exchanges "
             "know (`deposit_addresses.parquet` plus the cases' `deposit_addresses`, OTC desk aside). *Precision*: "
             "of the addresses found, the true ones; *recall*: of the true ones that received something on chain, "
             "those found (also per kind); *swept-EOA recall*: over the EOA deposit addresses that sent something. "
             "Wilson 95% intervals. Figures on our own generator: upper bounds on mainnet behaviour, not measures of "
             "it. Floors in tests/eth/investigation/test_eth_inv_deposits.py.", "",
             "| seed (kind all) | sample | transactions | precision | recall | forwarder recall | EOA recall | "
             "swept-EOA recall |", "|---|---|---|---|---|---|---|---|"]
    for source, rs in runs.items():
        for r in rs:
            d = r["deposits"]
            lines.append(f"| {r['seed']} ({r['behaviour']}) | {SOURCES[source]} | {r['transactions']:,} | "
                         + " | ".join(_r(*d[k]) for k in DEPOSIT_RATES) + " |")
    lines += ["", "What limits it: an EOA deposit address is recognisable only once swept, and the scenario's "
              "exchanges sweep every `sweep_every` blocks (3-50 on evaluation seeds), so on a short chain EOA recall "
              "over all used addresses is low while recall over swept ones is high; forwarders show themselves at "
              "the first ETH forward or, unused, through their factory's siblings. Its false positives are "
              "addresses emptied whole into one consolidation address that itself pays out, such as the "
              "pig-butchering case's \"scam deposit\" addresses: the same pattern as an exchange's, said here "
              "rather than hidden. A hot wallet that is a contract (a multisig) is not recognised by the EOA rule.",
              "<!-- deposit-addresses:end -->"]
    return "\n".join(lines)


def write_docs(entity_md: str, deposit_md: str) -> None:
    text = DOCS.read_text()
    for md in (entity_md, deposit_md):
        begin, end = md.split("\n", 1)[0], md.rsplit("\n", 1)[1]
        if begin not in text or end not in text:
            raise SystemExit(f"{DOCS} has no {begin} ... {end} markers")
        head, rest = text.split(begin, 1)
        text = head + md + rest.split(end, 1)[1]
    DOCS.write_text(text)


def _stamp(scale: float) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    read = [f"src/chaintrail/analysis/eth/{m}.py" for m in ("entities", "airdrop", "deposits", "conversions",
                                                             "entity_eval", "deposit_eval")]
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *read, "src/chaintrail/scenario/eth"], cwd=ROOT,
                           capture_output=True, text=True)
    changed = " (with uncommitted changes to the heuristics or the scenario)" if dirty.stdout.strip() else ""
    return f"at commit {commit.stdout.strip()}{changed}, scale {scale}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=2)
    ap.add_argument("--dev", type=int, nargs="+", default=[7, 11])
    ap.add_argument("--eval", type=int, nargs="+", default=[9001, 9002])
    ap.add_argument("--work", type=Path, default=Path("/tmp/entity-eval"))
    ap.add_argument("--no-write", action="store_true", help="print the figures; leave the docs and rates alone")
    a = ap.parse_args()
    if any(s >= 9000 for s in a.dev) or any(not 9000 <= s <= 9999 for s in a.eval):
        raise SystemExit("--dev seeds are below 9000, --eval seeds within 9000-9999")
    a.work.mkdir(parents=True, exist_ok=True)
    runs = {"generated_in_sample": [measure(s, a.scale, a.work) for s in a.dev],
            "generated_out_of_sample": [measure(s, a.scale, a.work) for s in a.eval]}
    stamp = _stamp(a.scale)
    table = {"format": "chaintrail-error-rates/2", "about": "Ethereum deposit-address finder and account clustering "
             "heuristics measured on generated chains by bench/eth_entity_eval.py (upper bounds on our own "
             "generator, not mainnet rates); rendered in docs/eth-heuristics.md", "measured_at": stamp,
             "runs": runs, "heuristics": entries(runs)}
    print(json.dumps(runs, indent=1))
    if not a.no_write:
        RATES.write_text(json.dumps(table, indent=1) + "\n")
        write_docs(entity_markdown(runs, stamp), deposit_markdown(runs, stamp))


if __name__ == "__main__":
    main()
