"""The workbench's read model, persisted beside the index and memory-mapped: runs, entities, tx labels.

``chaintrail serve`` answers from sorted arrays (address string -> addr_num, an address's outputs and the
inputs that spend from it, an entity's members, their totals). They are kept as fixed-width files under
``readmodel/<key>/`` and a server maps them: it starts in O(1).

``key`` names the state they were built from: the manifest's counts and part sequence (every commit and
rollback changes one of them) and the files ``chaintrail cluster`` writes (``analysis/clusters.parquet``,
``analysis/tx_labels.parquet``). A read model whose key differs from the store's is stale and never read.

Built incrementally, in bounded memory (``store/readmodel_runs.py``): the chain is append-only, so the
per-address runs, address/txid sort orders and per-row arrays live in immutable *runs* of blocks. A new
build takes the runs of the last model that are still a prefix of the store (hard links, no copy), builds
runs for the blocks after them (``ROWS`` inputs + outputs each), merges what it built into one run and
merges adjacent runs while there are more than ``MAX_RUNS``; lookups search every run (k small). Entities
(``store/readmodel_entities.py``) are rewritten only when the cluster files change (or much was ingested
since); rows after them reach cluster totals as a sparse delta.

Commit: the build writes a private ``.tmp-*`` folder and renames it to ``<key>``, so readers see all of it or
none of it, a crash mid-build leaves the old model served, and two builders racing end with one copy.
Older folders are removed once a newer one is in place: a server still serving them keeps its mapped
pages (removed files stay readable through their mappings; shared runs are hard links).

``ingest`` and ``cluster`` build it at the end of their run, and a server that finds none for its store
builds it on open (a store written before this file existed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from chaintrail.errors import StoreError
from chaintrail.store import readmodel_entities as ents
from chaintrail.store import readmodel_runs as runs_
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.staged_dir import staged_dir

log = logging.getLogger(__name__)
VERSION = 2
MAX_RUNS = 8            # runs a lookup searches at most
DELTA_ROWS = 1 << 24    # rows ingested after the entities beyond which they are rewritten
FOLDER = "readmodel"
META = "META.json"
# What ``chaintrail cluster`` writes (analysis/clustering.py, analysis/tx_labels.py): part of the key.
ANALYSIS_FILES = ("clusters.parquet", "tx_labels.parquet")


def _file_sig(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size]      # both files are replaced whole (tmp + rename)


def key_of(store: ChainStore) -> str:
    """The state of ``store`` a read model must have been built from to serve it."""
    m = store.manifest
    state = {"v": VERSION, "counts": {e: int(m["counts"].get(e, 0)) for e in ("blocks", "txs", "inputs",
                                                                              "outputs", "addresses")},
             "next_part": m.get("next_part"), "network": m.get("network"),
             "analysis": [_file_sig(store.path / "analysis" / f) for f in ANALYSIS_FILES]}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:20]


# -- building -------------------------------------------------------------------------------------------
def _latest(root: Path) -> Path | None:
    """The most recently completed model folder (the one a new build starts from), if any."""
    done = [d for d in root.iterdir() if not d.name.startswith(".tmp-") and (d / META).exists()] \
        if root.exists() else []
    return max(done, key=lambda d: (d / META).stat().st_mtime_ns, default=None)


def _block_hash(parts: runs_.Parts, b: int) -> str:
    return parts.rows("blocks", "block_seq", b, b + 1, ["hash"])["hash"][0].as_py().hex()


def _reusable(store: ChainStore, parts: runs_.Parts, prev: Path | None) -> list[dict]:
    """The previous model's runs that are still a prefix of the store (same blocks at the same ids)."""
    if prev is None:
        return []
    try:
        meta = json.loads((prev / META).read_text())
    except (OSError, ValueError):
        return []
    if meta.get("version") != VERSION:
        return []
    c = store.counts
    keep: list[dict] = []
    for run in meta["runs"]:
        b1 = run["b"][1]
        if b1 > c["blocks"] or any(run[k][1] > c[e] for k, e in zip("tioa", ("txs", "inputs", "outputs",
                                                                               "addresses"))):
            break
        if b1 < c["blocks"]:
            bft, bfa = int(store.column("blk_first_tx")[b1]), int(store.column("blk_first_addr")[b1])
            if bft != run["t"][1] or bfa != run["a"][1]:
                break
        if run["b"][1] > run["b"][0] and _block_hash(parts, b1 - 1) != run["last_hash"]:
            break
        keep.append(run)
    return keep


def _link_tree(src: Path, dst: Path) -> None:
    """``dst`` holding ``src``'s files as hard links (copies where links are refused)."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        try:
            os.link(f, dst / f.name)
        except OSError:
            shutil.copy2(f, dst / f.name)


def _merge_into(tmp: Path, names: list[str], txid: np.ndarray) -> dict:
    dest = tmp / f"m{uuid.uuid4().hex[:10]}"
    meta = runs_.merge_runs([tmp / n for n in names], dest, txid)
    for n in names:
        shutil.rmtree(tmp / n)
    name = "r-{:010d}-{:010d}".format(*meta["b"])
    os.rename(dest, tmp / name)
    return dict(meta, name=name)


def _fill(store: ChainStore, tmp: Path, prev: Path | None) -> dict:
    """Every file of the read model for the store's state, written into ``tmp``; its META."""
    c = store.counts
    parts = runs_.Parts(store)
    txid = store.column("txid")
    runs = []
    for run in _reusable(store, parts, prev):
        _link_tree(prev / run["name"], tmp / run["name"])
        runs.append(run)
    b0 = runs[-1]["b"][1] if runs else 0
    prefix = {"inputs": runs[-1]["i"][1], "outputs": runs[-1]["o"][1], "addresses": runs[-1]["a"][1]} \
        if runs else {"inputs": 0, "outputs": 0, "addresses": 0}
    new = []
    for span in runs_.spans(store, b0):
        name = "r-{:010d}-{:010d}".format(*span["b"])
        new.append(dict(runs_.build_run(store, parts, span, tmp / name), name=name))
    while len(new) > 1:         # k-way, at most MAX_RUNS at a time (each merge streams CHUNK rows)
        new = [_merge_into(tmp, [r["name"] for r in new[k:k + MAX_RUNS]], txid) if len(new[k:k + MAX_RUNS]) > 1
               else new[k] for k in range(0, len(new), MAX_RUNS)]
    runs += new
    while len(runs) > MAX_RUNS:      # merge the adjacent pair with the fewest rows
        size = [r["i"][1] - r["i"][0] + r["o"][1] - r["o"][0] for r in runs]
        j = min(range(len(runs) - 1), key=lambda k: size[k] + size[k + 1])
        runs[j:j + 2] = [_merge_into(tmp, [runs[j]["name"], runs[j + 1]["name"]], txid)]
    meta: dict = {"version": VERSION, "counts": {"txs": c["txs"], "inputs": c["inputs"], "outputs": c["outputs"],
                                                 "addresses": c["addresses"], "blocks": c["blocks"]},
                  "runs": [{k: r[k] for k in ("name", "b", "t", "i", "o", "a", "last_hash")} for r in runs]}
    meta["txl"] = _tx_labels(store, tmp, prev)
    meta["ent"] = _entities(store, tmp, prev, runs, prefix)
    return meta


def _prev_meta(prev: Path | None) -> dict:
    try:
        return json.loads((prev / META).read_text()) if prev is not None else {}
    except (OSError, ValueError):
        return {}


def _tx_labels(store: ChainStore, tmp: Path, prev: Path | None) -> dict:
    path = store.path / "analysis" / ANALYSIS_FILES[1]
    sig, n_tx = _file_sig(path), store.counts["txs"]
    old = _prev_meta(prev).get("txl")
    if old and old["sig"] == sig and old["n_tx"] <= n_tx and sig is not None:
        _link_tree(prev / "txl", tmp / "txl")      # labels of txs it names; later txs have none yet
        return old
    return dict(ents.build_tx_labels(path, tmp / "txl", n_tx), sig=sig, n_tx=n_tx)


def _entities(store: ChainStore, tmp: Path, prev: Path | None, runs: list[dict], prefix: dict) -> dict | None:
    """Entities from ``clusters.parquet`` (None without one: every address is its own entity); the previous
    model's are kept while the file is the same, the chain they were built on is still a prefix of the store
    (``prefix``: where its reused runs end) and not too much was ingested since."""
    path = store.path / "analysis" / ANALYSIS_FILES[0]
    sig = _file_sig(path)
    if sig is None:
        return None
    c = store.counts
    old = _prev_meta(prev).get("ent")
    since = old["counts"] if old else None
    keep = (old is not None and old["sig"] == sig and all(since[k] <= prefix[k] for k in prefix)
            and (c["inputs"] + c["outputs"] - since["inputs"] - since["outputs"]) <= DELTA_ROWS)
    if keep:
        _link_tree(prev / "ent", tmp / "ent")
        ent = dict(old)
    else:
        opened = [runs_.open_run(tmp / r["name"])[1] for r in runs]
        ent = dict(ents.build_entities(store, tmp / "ent", c["addresses"], opened), sig=sig,
                   counts={k: c[k] for k in ("inputs", "outputs", "addresses")})
    labels = _map(tmp / "ent", "labels", ent["arrays"]["labels"])
    ent["delta"] = ents.build_delta(store, tmp / "delta", labels, ent["counts"])
    return ent


def build(store: ChainStore) -> Path:
    """Build the read model for the store's current state and put it in place atomically; its folder."""
    root = store.path / FOLDER
    key = key_of(store)
    final = root / key
    if (final / META).exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    prev = _latest(root)
    with staged_dir(final, META) as tmp:
        meta = _fill(store, tmp, prev)
        meta["key"] = key
        with open(tmp / META, "w") as f:       # last: a folder with META is complete
            json.dump(meta, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        for d in [tmp, *tmp.iterdir()]:
            if d.is_dir():
                _fsync(d)
    _fsync(root)
    _prune(root, keep=key)
    log.info("read model for %s built in %s", store.path, final)
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(root: Path, keep: str) -> None:
    """Remove complete read models of older states (a builder's unfinished .tmp folder is its own)."""
    for d in root.iterdir():
        if d.name != keep and not d.name.startswith(".tmp-"):
            shutil.rmtree(d, ignore_errors=True)


# -- reading --------------------------------------------------------------------------------------------
def _map(folder: Path, name: str, spec: dict) -> np.ndarray:
    dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(folder / f"{name}.bin", dtype=dtype, mode="r", shape=shape).view(np.ndarray)


class ReadModel:
    """The read model's files, memory-mapped read-only (plain ndarray views: cheap element access).

    ``runs``: (META, arrays) per run in chain order; ``ent`` / ``delta``: entity arrays (None without
    clusters); ``txl``: the sparse tx labels and ``pattern_names``.
    """

    def __init__(self, folder: Path):
        try:
            self.meta = json.loads((folder / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"read model {folder} is unreadable: {exc}") from exc
        if self.meta.get("version") != VERSION:
            raise StoreError(f"read model {folder} has version {self.meta.get('version')}, not {VERSION}")
        self.folder = folder
        self.runs = [runs_.open_run(folder / r["name"]) for r in self.meta["runs"]]
        txl = self.meta["txl"]
        self.pattern_names: list[str] = txl["names"]
        self.txl = {k: _map(folder / "txl", k, v) for k, v in txl["arrays"].items()}
        ent = self.meta.get("ent")
        self.ent = {k: _map(folder / "ent", k, v) for k, v in ent["arrays"].items()} if ent else None
        self.delta = {k: _map(folder / "delta", k, v) for k, v in ent["delta"]["arrays"].items()} if ent else None


def open_read_model(store: ChainStore, build_if_missing: bool = True) -> ReadModel:
    """The read model of the store's current state; built now (O(chain), once) if there is none yet."""
    folder = store.path / FOLDER / key_of(store)
    for _ in range(2):
        if (folder / META).exists():
            try:
                return ReadModel(folder)
            except (FileNotFoundError, StoreError):
                if not build_if_missing:
                    raise
        elif not build_if_missing:
            raise StoreError(f"store {store.path} has no read model for its current state")
        log.warning("building the read model of %s (once per ingest or cluster run)", store.path)
        folder = build(store)
    return ReadModel(folder)
