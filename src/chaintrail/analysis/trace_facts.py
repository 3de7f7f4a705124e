"""The demixer's whole-chain facts, persisted beside the read model and loaded by every later engine.

Demixing a custodial chip mixer needs facts found by passes over the whole chain: the chip splits and the
mixer's (custodial) addresses, every tx its wallet funds that pays a chip, and the chips customers spent
with their times (``demix.Demixer``). On a 10M-tx chain they took ~2 s of every engine's first demix trace
(each CLI trace, each API trace worker). They depend only on the chain, its cluster and tx labels (the read
model's state: ``readmodel.key_of``) and on the tags (a mixer's tagged hot wallet, services that are not
mixers), so they are kept under ``readmodel/<key>/demix-v<VERSION>-<tags>/``:

    META.json       version and the counts they describe
    custodial.npy   the custodial addresses (uint32 addr_nums, ascending; a bool per address when loaded)
    chip_splits.npy chip_txs.npy spent_chips.npy spent_times.npy (int64)

``<tags>`` is ``notags``, or the tags file's inode, mtime and size with a hash of where each tagged address
sits in the store (``Attribution.slot_addr``): engines over other tags never share a folder. Only engines
whose labels and tags are the store's own use it (``TraceEngine.open`` and the workbench's, which carry the
read model's ``lookups``). The first such engine of a state writes the folder (a ``.tmp`` folder renamed into
place, older ``demix-*`` folders of that model removed); where the store cannot be written the facts stay in
memory. The read model's own pruning removes the folder with its state.
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

log = logging.getLogger(__name__)
VERSION = 1
PREFIX = "demix-"
META = "META.json"
ARRAYS = ("custodial", "chip_splits", "chip_txs", "spent_chips", "spent_times")


def _tags_part(eng) -> str | None:
    """The tags' share of the folder name, or None where the engine's tags are not the store's own."""
    stop = eng.stop_addr_for
    if stop is None:
        return "notags"
    tagstore, slot_addr = getattr(stop, "tagstore", None), getattr(stop, "slot_addr", None)
    if tagstore is None or slot_addr is None or Path(tagstore.root).resolve() != eng.store.path.resolve():
        return None
    try:
        st = (eng.store.path / "analysis" / "tags.parquet").stat()
    except OSError:
        return None
    where = hashlib.sha256(np.ascontiguousarray(slot_addr, np.int64).tobytes()).hexdigest()[:12]
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}-{where}"


def folder_for(eng) -> Path | None:
    """Where the facts of this engine's state live, or None where they cannot be shared (no current read
    model, or labels or tags that are not the store's)."""
    lk = getattr(eng, "lookups", None)
    if lk is None:
        return None
    tags = _tags_part(eng)
    if tags is None:
        return None
    return lk.model.folder / f"{PREFIX}v{VERSION}-{tags}"


def _counts(eng) -> dict:
    return {"txs": int(eng.n_tx), "outputs": int(eng.n_out), "addresses": int(len(eng.labels))}


def load(eng, folder: Path) -> dict[str, np.ndarray] | None:
    """The persisted facts (``custodial`` as a bool per address), or None where there are none to trust."""
    try:
        meta = json.loads((folder / META).read_text())
        if meta.get("version") != VERSION or meta.get("counts") != _counts(eng):
            return None
        got = {name: np.load(folder / f"{name}.npy") for name in ARRAYS}
    except (OSError, ValueError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("demix facts in %s unreadable (%s): found again", folder, exc)
        return None
    mask = np.zeros(len(eng.labels), np.bool_)
    mask[got["custodial"]] = True
    got["custodial"] = mask
    return got


def save(eng, folder: Path, facts: dict[str, np.ndarray]) -> None:
    """Write the facts as ``folder`` (tmp + rename) and remove the model's other demix folders; a store
    this process cannot write keeps them in memory only."""
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        for name in ARRAYS:
            arr = facts[name]
            arr = np.flatnonzero(arr).astype(np.uint32) if name == "custodial" else np.asarray(arr, np.int64)
            np.save(tmp / f"{name}.npy", arr)
        (tmp / META).write_text(json.dumps({"version": VERSION, "counts": _counts(eng)}))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / META).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)       # another process wrote the same state first
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        log.warning("demix facts of %s not persisted (%s): kept in memory", eng.store.path, exc)
        return
    for old in folder.parent.glob(PREFIX + "*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    log.info("demix facts of %s persisted in %s", eng.store.path, folder)
