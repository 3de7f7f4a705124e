"""Tags and screening benchmark: import, lookup, and batch screening of 100,000 addresses, ours beside peers.

Run: .venv/bin/python bench/screen.py [--tags ../shared/data/tags] [--batch 100000] [--scale 10] [--hops 3]

1. Import of every file under --tags (524,170 TagPack tags + OFAC lists): ours (fast block-YAML
   reader, columnar build, Parquet write) beside the plain way, PyYAML's libyaml loader on the
   same TagPacks (parsing only).
2. Address lookup: microseconds per lookup in the full tag store and in one 1/64 its size
   (a constant-time lookup costs the same in both).
3. Direct screening of a batch (default 100,000 addresses, a fifth of them tagged): ours
   (Screener.screen_many, full results with reasons) beside a pure-Python dict and a DuckDB
   hash join; the flagged sets must agree.
4. Flow screening on a generated chain (scenario generator, ransomware cases; the operators'
   wallets and the exchanges tagged from the answer key): incoming exposure within --hops of
   every address of the chain (up to --batch), ours beside a straightforward pure-Python
   backward haircut over dicts; the per-category totals must agree to the sat per tx.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chaintrail.analysis.risk import RANK, RiskPolicy  # noqa: E402
from chaintrail.analysis.screening import Screener, ScreenParams  # noqa: E402
from chaintrail.store.chainstore import ChainStore  # noqa: E402
from chaintrail.tags import taxonomy as tx  # noqa: E402
from chaintrail.tags.tagstore import TagStore  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def row(label: str, ours: float, peer: float | None, unit: str = "s", note: str = "") -> None:
    peer_s = f"{peer:10.3f} {unit}" if peer is not None else " " * 12
    ratio = f"{peer / ours:7.1f}x" if peer and ours else ""
    print(f"  {label:<42} ours {ours:10.3f} {unit}   peer {peer_s} {ratio}  {note}")


# -- 1. import ---------------------------------------------------------------------------------
def bench_import(tags_dir: Path, work: Path, yaml_peer: bool, workers: int) -> TagStore:
    print(f"1. import of {tags_dir}")
    ts = TagStore(work / "tags1")
    rep, t1 = timed(lambda: ts.import_paths([tags_dir], workers=1))
    assert rep.ok, rep.errors
    n_pack = sum(f["tags"] for f in rep.files if f["kind"] == "tagpack")
    peer = None
    if yaml_peer:
        import yaml
        packs = sorted(tags_dir.rglob("*.yaml"))

        def libyaml():
            n = 0
            for p in packs:
                with open(p, encoding="utf-8") as fh:
                    d = yaml.load(fh, Loader=yaml.CSafeLoader)
                n += len(d.get("tags") or [])
            return n
        n_peer, peer = timed(libyaml)
        assert n_peer == n_pack, (n_peer, n_pack)
    row(f"{n_pack:,} TagPack tags + {rep.total_tags - n_pack:,} OFAC (1 process)", t1, peer,
        note="peer: yaml.CSafeLoader, parse only")
    if workers > 1:
        ts2 = TagStore(work / "tags2")
        rep2, t2 = timed(lambda: ts2.import_paths([tags_dir], workers=workers))
        assert rep2.total_tags == rep.total_tags
        row(f"same, {workers} worker processes", t2, peer)
    _, t3 = timed(lambda: ts.import_paths([tags_dir]))
    row("re-import (unchanged files are skipped)", t3, None)
    fresh = TagStore(ts.root)
    _, t4 = timed(lambda: fresh.index)
    row("open the tag store and build its index", t4, None)
    return fresh


# -- 2. lookup ---------------------------------------------------------------------------------
def bench_lookup(ts: TagStore, work: Path) -> None:
    print("2. single-address lookups")
    addrs = ts.tags.column("address").to_pylist()
    rng = random.Random(7)
    small_rows = sorted(rng.sample(range(len(addrs)), len(addrs) // 64))
    small = TagStore(work / "small")
    small.dir.mkdir(parents=True, exist_ok=True)
    small._write("tags", ts.tags.take(small_rows))
    small = TagStore(small.root)
    for name, store in (("full", ts), ("1/64", small)):
        idx = store.index
        pool = store.tags.column("address").to_pylist()
        probe = [rng.choice(pool) for _ in range(50_000)] + [f"1Missing{i:026d}" for i in range(50_000)]
        rng.shuffle(probe)
        idx.slot(probe[0])     # build the hash table outside the timing
        _, dt = timed(lambda: [idx.rows(a) for a in probe])
        print(f"  {name:>5} store ({idx.n_addr:>7,} addresses): {dt / len(probe) * 1e6:6.2f} us per lookup "
              f"(100,000 lookups, half of them misses)")


# -- 3. direct batch screening -----------------------------------------------------------------
def make_batch(ts: TagStore, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    pool = list(set(ts.tags.column("address").to_pylist()))
    tagged = rng.sample(pool, min(n // 5, len(pool)))
    fake = [f"1Untagged{i:025d}" for i in range(n - len(tagged))]
    batch = tagged + fake
    rng.shuffle(batch)
    return batch


def bench_direct(ts: TagStore, n: int) -> None:
    print(f"3. direct screening of {n:,} addresses against {len(ts):,} tags")
    batch = make_batch(ts, n)
    policy = RiskPolicy()

    def ours():
        sc = Screener(ts, None, ScreenParams(hops=0))
        return {r.subject: r.risk.level for r in sc.screen_many(batch)}
    got, t_ours = timed(ours)

    def level_of(cats) -> str:
        return max((policy.self_level[c] for c in cats), key=RANK.__getitem__, default="low")

    def python_dict():
        by_addr: dict[str, set] = {}
        for a, cats in zip(ts.tags.column("address").to_pylist(), ts.tags.column("risk_categories").to_pylist()):
            by_addr.setdefault(a, set()).update(cats or ())
        return {a: level_of(by_addr.get(a, ())) for a in batch}
    ref, t_dict = timed(python_dict)

    def duckdb_join():
        import duckdb
        import pyarrow as pa
        con = duckdb.connect()
        con.register("tags", ts.tags.select(["address", "risk_categories"]))
        con.register("batch", pa.table({"address": batch}))
        rows = con.execute("""
            SELECT b.address, list_distinct(flatten(list(t.risk_categories))) AS cats
            FROM batch b LEFT JOIN tags t USING (address) GROUP BY b.address""").fetchall()
        return {a: level_of([c for c in (cats or []) if c is not None]) for a, cats in rows}
    ref2, t_duck = timed(duckdb_join)
    tri, t_tri = timed(lambda: Screener(ts).triage(batch))
    got2 = dict(zip(tri.column("subject").to_pylist(), tri.column("level").to_pylist()))
    assert got == ref == ref2 == got2
    flagged = sum(v != "low" for v in got.values())
    row("Screener.screen_many (results with reasons)", t_ours, t_dict, note="peer: pure-Python dict")
    row("", t_ours, t_duck, note="peer: DuckDB hash join")
    row("Screener.triage (levels, vectorised)", t_tri, t_dict, note="peer: pure-Python dict")
    row("", t_tri, t_duck, note="peer: DuckDB hash join")
    print(f"  {flagged:,} flagged; {n / t_ours:,.0f} addresses/s")


# -- 4. flow screening on a generated chain ----------------------------------------------------
def build_chain(work: Path, scale: float):
    import pyarrow.parquet as pq

    from chaintrail.analysis.clustering import update_clusters
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.scenario.generator import generate

    chain, store = work / "chain", work / "store"
    _, t_gen = timed(lambda: generate(chain, seed=11, kind="ransomware", scale=scale))
    with BtcIngest(store) as job:
        job.ingest_blocks_dir(chain)
    with ChainStore(store) as st:
        update_clusters(st, np.zeros(st.counts["txs"], np.bool_))
    key = json.loads((chain / "answer_key.json").read_text())
    case_of = {p["entity"]: c["id"] for c in key["cases"] for p in c["perpetrators"]}
    exchanges = {e["id"]: e["name"] for e in key["entities"] if e["kind"] == "exchange"}
    lines = ["address,label,category,is_cluster_definer"]
    for r in pq.read_table(chain / key["files"]["addresses"]).to_pylist():
        if r["entity_id"] in case_of:
            lines.append(f"{r['address']},{case_of[r['entity_id']]},ransomware,false")
    for e in key["entities"]:
        if e["id"] in exchanges:
            lines += [f"{a},{e['name']},exchange,true" for a in e["addresses"][:2]]
    (work / "case.csv").write_text("\n".join(lines) + "\n")
    assert TagStore(store).import_paths([work / "case.csv"]).ok
    return store, t_gen


def peer_incoming(eng, stop: np.ndarray, labels: np.ndarray, addr: int, hops: int) -> dict[int, float]:
    """Backward haircut in plain Python (floats): amount reaching each tagged address within ``hops``."""
    none = 0xFFFFFFFF
    own = labels[addr]
    first_out, first_in = eng.tx_first_out, eng.tx_first_in
    taint: dict[int, float] = {}
    hop: dict[int, int] = {}
    passed: set[int] = set()
    queued: set[int] = set()
    heap: list[int] = []
    ends: dict[int, float] = {}

    def settle(o: int, h: int, source: bool) -> None:
        a = int(eng.out_addr[o])
        if not source and a != none and stop[a] and labels[a] != own:
            ends[a] = ends.get(a, 0.0) + taint[o]
            return
        t = int(np.searchsorted(first_out, o, side="right") - 1)
        if eng.tx_is_cb[t] or h >= hops:
            return
        passed.add(o)
        if t not in queued:
            queued.add(t)
            heapq.heappush(heap, -t)     # latest tx first: all its taint has arrived

    for o in np.flatnonzero(np.asarray(eng.out_addr) == addr).tolist():
        taint[o], hop[o] = float(eng.out_value[o]), 0
        settle(o, 0, True)
    while heap:
        t = -heapq.heappop(heap)
        tainted = [o for o in range(int(first_out[t]), int(first_out[t + 1])) if o in passed]
        T = sum(taint[o] for o in tainted)
        h = min(hop[o] for o in tainted)
        ins = range(int(first_in[t]), int(first_in[t + 1]))
        vals = [max(int(eng.in_value[i]), 0) for i in ins]
        V = sum(vals)
        for i, v in zip(ins, vals):
            p = int(eng.in_prev[i])
            if p == none or V == 0 or v == 0:
                continue
            again = p in taint
            taint[p] = min(taint.get(p, 0.0) + T * v / V, float(eng.out_value[p]))  # a source met again: capped
            if not again:
                hop[p] = h + 1
                settle(p, h + 1, False)
    return ends


def bench_flow(work: Path, scale: float, hops: int, n: int) -> None:
    store, t_gen = build_chain(work, scale)
    with ChainStore(store) as st:
        c = st.counts
        print(f"4. incoming flow screening, {hops} hops, on a generated chain ({c['txs']:,} txs, "
              f"{c['addresses']:,} addresses; generated in {t_gen:.1f} s)")
        sc = Screener(TagStore(store), st, ScreenParams(hops=hops, directions=("incoming",)))
        names = st.read_table("addresses", ["address"]).column("address").to_pylist()
        subjects = [a for a in names if a][:n]
        results, t_ours = timed(lambda: list(sc.screen_many(subjects)))
        ours_tot = {cat: sum(e.amount_sat for r in results for e in r.exposures
                             if e.category == cat and e.direction == "incoming") for cat in tx.CATEGORIES}
        sample = subjects[: min(len(subjects), 2000)]
        eng, stop, labels = sc.engine, sc._stop, sc.attr.labels
        bits = sc.attr.addr_bits

        def peer():
            tot = {cat: 0.0 for cat in tx.CATEGORIES}
            for a_str in sample:
                a = sc.addr_num(a_str)
                for end, amt in peer_incoming(eng, stop, labels, a, hops).items():
                    for cat in tx.categories_from_bits(int(bits[end])):
                        tot[cat] += amt
            return tot
        peer_tot, t_peer = timed(peer)
        ours_sample = {cat: sum(e.amount_sat for r in results[: len(sample)] for e in r.exposures
                                if e.category == cat and e.direction == "incoming") for cat in tx.CATEGORIES}
        for cat in tx.CATEGORIES:
            assert abs(ours_sample[cat] - peer_tot[cat]) <= max(1.0, 1e-6 * peer_tot[cat]) + 2 * len(sample), cat
        flagged = sum(r.risk.level != "low" for r in results)
        per_ours = t_ours / len(subjects)
        per_peer = t_peer / len(sample)
        row(f"{len(subjects):,} addresses (peer timed on {len(sample):,})", per_ours * 1e3, per_peer * 1e3, "ms",
            note="per address; peer: Python backward haircut")
        print(f"  ours: {len(subjects) / t_ours:,.0f} addresses/s, {flagged:,} flagged; exposure found: "
              + ", ".join(f"{k} {v:,} sat" for k, v in ours_tot.items() if v))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tags", type=Path, default=ROOT / ".." / "shared" / "data" / "tags")
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--scale", type=float, default=10.0, help="generated chain size, thousands of txs")
    ap.add_argument("--hops", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="also time the import with this many processes")
    ap.add_argument("--no-yaml-peer", action="store_true", help="skip the libyaml peer (about 45 s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-screen-") as tmp:
        work = Path(tmp)
        ts = bench_import(args.tags.resolve(), work, not args.no_yaml_peer, args.workers)
        bench_lookup(ts, work)
        bench_direct(ts, args.batch)
        bench_flow(work, args.scale, args.hops, args.batch)
    print("(single runs: on a shared machine, load shows in every figure)")


if __name__ == "__main__":
    main()
