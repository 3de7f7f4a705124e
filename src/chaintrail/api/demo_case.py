"""The demo case: generate a ransomware-laundering chain, ingest, cluster and tag it, ready to serve.

Steps (each one the same library call the CLI makes):

1. ``scenario.generator.generate`` writes a regtest ``blocks/`` folder and
   ``answer_key.json`` with planted ransomware cases;
2. ``BtcIngest.ingest_blocks_dir`` builds the chain store;
3. transactions are labelled (CoinJoin/mixer) and clustered, as ``chaintrail cluster``;
4. tags, as ``chaintrail tags import``: the scenario's services as an
   investigator would have them (``scenario.attribution``: hot wallets, part of
   the exchanges' deposit addresses, a few published mixer addresses; standing
   in for a vendor's attribution data) and the real OFAC SDN Bitcoin list.

Without the scenario generator (or without a ransomware case in its answer
key) the demo falls back to the real mainnet blocks in ``../shared/data``,
clustered and screened against OFAC, with the block-9 coinbase as its subject.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaintrail.errors import SourceError
from chaintrail.i18n import N_, _
from chaintrail.store.index import NONE

_NONE = int(NONE)

MAINNET_SUBJECT = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"    # block 9's coinbase; paid Hal Finney in block 170

# The guided steps and titles as English msgids with named fields: the CLI prints them through gettext
# (``step_text``), the workbench by ``key`` from its JSON catalog (web/assets/i18n), ``*_sat`` fields as amounts.
TEXTS = {
    "demo.title.scenario": N_("Training case {id}: {description}"),
    "demo.title.mainnet": N_("Real Bitcoin mainnet blocks 0-599 (no generated case in this build)"),
    "demo.step.search": N_("Search the ransom address {address} (a victim paid {amount_sat} to it at height {height})."),
    "demo.step.trace": N_("Select it, set Mixers to demix and press Trace ▸: the trace starts from the ransom wallet (the "
                          "entity holding all {n} ransom payments), follows the owner's coins out of the chip mixer by "
                          "on-chain evidence, and stops at tagged exchanges."),
    "demo.step.endpoints": N_("Read the exchange endpoints in the Trace tab: each deposit address and amount is a request "
                              "for records to that exchange."),
    "demo.step.mainnet_search": N_("Search {address}, the address block 9's coinbase paid."),
    "demo.step.mainnet_trace": N_("Select it and press Trace ▸ to follow its coins forward (block 170: 10 BTC to Hal "
                                  "Finney)."),
    "demo.step.mainnet_endpoints": N_("Read the endpoints in the Trace tab (no exchange tags exist this early in the "
                                      "chain)."),
}


def step_text(key: str, params: dict | None = None, lang: str | None = None) -> str:
    """A step or title in ``lang`` (default: the current language), ``*_sat`` fields written as BTC."""
    from chaintrail.i18n import _, fmt_btc, use_language

    with use_language(lang) if lang else contextlib.nullcontext():
        fields = {k: fmt_btc(v) if k.endswith("_sat") else v for k, v in (params or {}).items()}
        return _(TEXTS[key]).format(**fields)


def _step(key: str, action: str | None, arg: str | None, **params) -> dict:
    return {"text": step_text(key, params, "en"), "key": key, "params": params, "action": action, "arg": arg}


@dataclass
class DemoCase:
    """What the demo built and what the workbench shows about it."""

    store: str
    source: str                      # scenario | mainnet
    title: str
    subject: str                     # the address to search first (the ransom address)
    steps: list[dict]
    answer_key: str | None = None
    case_id: str | None = None
    timings: dict = field(default_factory=dict)
    title_key: str | None = None     # the title's msgid key in TEXTS, and its fields
    title_params: dict = field(default_factory=dict)

    def case_info(self) -> dict:
        """What ``create_app(case_info=...)`` shows in the UI banner."""
        return {"title": self.title, "subject": self.subject, "steps": self.steps, "source": self.source,
                "case_id": self.case_id, "title_key": self.title_key, "title_params": self.title_params}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")


def shared_data() -> Path:
    """``../shared/data`` beside the project (looked up from the working folder and from this file)."""
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        cand = base / ".." / "shared" / "data"
        if (cand / "btc").is_dir():
            return cand.resolve()
    raise SourceError("cannot find ../shared/data beside the project")


def _check_replaceable(work: Path) -> None:
    """Only an empty folder or an earlier demo (or demo store) is ever deleted."""
    from chaintrail.errors import UsageError

    if not work.is_dir():
        raise UsageError(f"{work} exists and is not a folder")
    earlier = (work / "demo.json").exists() or (work / "MANIFEST.json").exists()
    if not earlier and any(work.iterdir()):
        raise UsageError(f"refusing to replace {work}: it is not a chaintrail demo folder")


def _generator():
    """The scenario generator's ``generate``, or None while it is not part of this build."""
    try:
        from chaintrail.scenario.generator import generate
    except ImportError:
        return None
    return generate


def build_demo(workdir: str | Path, *, seed: int = 7, scale: float = 20.0,
               progress: Callable[[str], None] | None = None) -> DemoCase:
    """Build the demo under ``workdir`` (replaced): ``scenario/``, ``store/``, ``tags/`` and ``demo.json``."""
    work = Path(workdir)
    if work.exists():
        _check_replaceable(work)
        shutil.rmtree(work)
    work.mkdir(parents=True)
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    generate = _generator()
    key = None
    if generate is not None:
        say(_("generating a ransomware-laundering chain"))
        generate(work / "scenario", seed=seed, kind="ransomware", scale=scale)
        key = json.loads((work / "scenario" / "answer_key.json").read_text())
        if not any(c.get("kind") == "ransomware" and c.get("victim_payments") for c in key.get("cases", [])):
            key = None
        timings["generate_s"] = time.perf_counter() - t0
    if key is not None:
        case = _build_scenario(work, key, say, timings)
    else:
        case = _build_mainnet(work, say, timings)
    _local_operator(Path(case.store))
    case.timings = {k: round(v, 2) for k, v in timings.items()} | {"total_s": round(time.perf_counter() - t0, 2)}
    case.save(work / "demo.json")
    return case


def _local_operator(store: Path) -> None:
    """The demo's case database is single-user: make its local operator, whom the workbench acts as."""
    import os

    from chaintrail.cases.identity import os_user
    from chaintrail.cases.repository import CaseRepository

    with CaseRepository.open(store / "cases.sqlite") as repo:
        repo.ensure_operator(os.environ.get("CHAINTRAIL_AGENCY"), os.environ.get("CHAINTRAIL_USER") or os_user())


def _ingest(store: Path, say, timings, *, blocks_dir: Path, network=None, raws: list[Path] = ()) -> None:
    from chaintrail.ingest.btc_job import BtcIngest

    t = time.perf_counter()
    say(_("ingesting blocks"))
    with BtcIngest(store, network=network) as job:
        job.ingest_blocks_dir(blocks_dir)
        if raws:
            job.ingest_raw(raws)
    timings["ingest_s"] = time.perf_counter() - t


def _cluster(store: Path, say, timings) -> None:
    from chaintrail.analysis.clustering import update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.analysis.tx_labels import label_transactions
    from chaintrail.store.chainstore import ChainStore

    t = time.perf_counter()
    say(_("labelling CoinJoins and clustering addresses"))
    with ChainStore(store, writable=True) as st:
        label_transactions(st)          # CoinJoins must never merge their inputs
        update_clusters(st, mixer_tx_mask(st))
    timings["cluster_s"] = time.perf_counter() - t


def _import_tags(store: Path, files: list[Path], say, timings) -> None:
    from chaintrail.errors import UsageError
    from chaintrail.tags.tagstore import TagStore

    t = time.perf_counter()
    say(_("importing tags"))
    report = TagStore(store).import_paths(files)
    if report.errors:
        raise UsageError("demo tags did not import: " + "; ".join(report.errors))
    timings["tags_s"] = time.perf_counter() - t


def _ofac_files() -> list[Path]:
    ofac = shared_data() / "tags" / "ofac-sdn" / "sanctioned_addresses_XBT.txt"
    return [ofac] if ofac.exists() else []


def _import_prices(store: Path, scenario: Path | None, say, timings) -> None:
    """Daily prices for fiat values: the real BTC/USD and ECB EUR/USD series in ``../shared/data/prices``, else
    (no shared data) the generated chain's own synthetic series."""
    from chaintrail.ingest.prices import import_prices

    t = time.perf_counter()
    say("importing daily prices")
    try:
        real = shared_data() / "prices"
    except SourceError:
        real = None
    files = [real / f for f in ("btc_usd_daily.csv", "eur_usd_daily.csv")] if real is not None else []
    files = [f for f in files if f.exists()]
    if not files and scenario is not None and (scenario / "prices" / "btc_usd_daily.csv").exists():
        files = [scenario / "prices" / "btc_usd_daily.csv"]
    for f in files:
        import_prices(store, f)
    timings["prices_s"] = time.perf_counter() - t


def traceable_cash_outs(view, case: dict, through_mixer: bool = False) -> list[dict]:
    """The case's cash-outs a chain trace can reach, summed per deposit address.

    The answer key follows money through the custodial mixer by its records
    (deposits credited, chips handed over). A pass-through trace cannot: a
    cash-out whose transaction descends from a handed-over chip is left out
    (only the mixer's records link it to the ransom). ``through_mixer``: every
    cash-out, as a demixing trace follows the owner's chips out of the mixer.
    """
    laundering = {r for r in case.get("_txids", ())}
    frontier = [] if through_mixer else [c for h in case.get("mixer_handovers", []) for c in h["chips"]]
    behind: set[str] = set()
    seen = 0
    while frontier and seen < 100_000:
        txid, _, vout = frontier.pop().partition(":")
        seen += 1
        t = view.tx_num(txid)
        if t is None:
            continue
        o = int(view.tx_first_out[t]) + int(vout)
        spender = int(view.out_spent[o])
        if spender == _NONE:
            continue
        st = view.tx_of_in(spender)
        sid = view.txid(st)
        if sid in behind or (laundering and sid not in laundering):
            continue
        behind.add(sid)
        frontier += [f"{sid}:{k}" for k in range(int(view.tx_first_out[st + 1] - view.tx_first_out[st]))]
    per: dict[str, dict] = {}
    for e in case.get("cash_out_endpoints", []):
        if e["txid"] in behind or not e.get("address"):
            continue
        row = per.setdefault(e["address"], {"address": e["address"], "exchange": e["entity_name"], "amount_sat": 0})
        row["amount_sat"] += int(e["amount_sat"])
    return sorted(per.values(), key=lambda r: -r["amount_sat"])


def _with_txids(key: dict) -> list[dict]:
    cases = [dict(c) for c in key.get("cases", []) if c.get("kind") == "ransomware" and c.get("victim_payments")]
    for c in cases:
        c["_txids"] = {r["txid"] for r in key.get("laundering_txs", []) if r["case"] == c["id"]}
    return cases


def pick_case(view, key: dict) -> tuple[dict, list[dict]]:
    """The ransomware case whose trace reaches the most exchanges on chain (first one on a tie)."""
    best = None
    for c in _with_txids(key):
        exp = traceable_cash_outs(view, c)
        score = len({r["exchange"] for r in exp})
        if best is None or score > best[0]:
            best = (score, c, exp)
    _, case, expected = best
    case.pop("_txids", None)
    return case, expected


def _build_scenario(work: Path, key: dict, say, timings) -> DemoCase:
    from chaintrail.chains.bitcoin.network import REGTEST
    from chaintrail.scenario.attribution import write_service_tags

    store = work / "store"
    _ingest(store, say, timings, blocks_dir=work / "scenario", network=REGTEST)
    _cluster(store, say, timings)
    (work / "tags").mkdir()
    write_service_tags(work / "scenario", work / "tags" / "scenario-services.csv")   # realistic coverage
    _import_tags(store, [work / "tags" / "scenario-services.csv", *_ofac_files()], say, timings)
    _import_prices(store, work / "scenario", say, timings)
    from chaintrail.api.chainview import ChainView
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store) as st:
        case, _ = pick_case(ChainView(st), key)
    ransom = case["victim_payments"][0]
    n_pay = len(case["victim_payments"])
    steps = [
        _step("demo.step.search", "search", ransom["address"], address=ransom["address"],
              amount_sat=int(ransom["value_sat"]), height=ransom["height"]),
        _step("demo.step.trace", "trace", ransom["address"], n=n_pay) | {"mixer_policy": "demix"},
        _step("demo.step.endpoints", "endpoints", None),
    ]
    title = {"id": case["id"], "description": case["description"]}
    return DemoCase(store=str(store), source="scenario", title=step_text("demo.title.scenario", title, "en"),
                    subject=ransom["address"], steps=steps, answer_key=str(work / "scenario" / "answer_key.json"),
                    case_id=case["id"], title_key="demo.title.scenario", title_params=title)


def _build_mainnet(work: Path, say, timings) -> DemoCase:
    btc = shared_data() / "btc" / "mainnet"
    store = work / "store"
    raws = sorted(p for p in (btc / "raw").glob("block*.raw") if not p.stem.endswith("-undo"))
    _ingest(store, say, timings, blocks_dir=btc / "core-blocks-0-599", raws=raws)
    _cluster(store, say, timings)
    _import_tags(store, _ofac_files(), say, timings)
    _import_prices(store, None, say, timings)
    steps = [
        _step("demo.step.mainnet_search", "search", MAINNET_SUBJECT, address=MAINNET_SUBJECT),
        _step("demo.step.mainnet_trace", "trace", MAINNET_SUBJECT),
        _step("demo.step.mainnet_endpoints", "endpoints", None),
    ]
    return DemoCase(store=str(store), source="mainnet", title=step_text("demo.title.mainnet", None, "en"),
                    subject=MAINNET_SUBJECT, steps=steps, title_key="demo.title.mainnet")
