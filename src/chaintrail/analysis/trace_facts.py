"""Whole-chain facts a trace engine needs, persisted beside the read model and loaded by every later engine.

Some answers a trace needs come from passes over the whole chain, once per engine: for demixing a custodial
chip mixer, its chip splits and addresses, every tx its wallet funds that pays a chip, and the chips customers
spent with their times (``demix.Demixer``); for stopping at exchanges, the deposit addresses swept into a tagged
hot wallet (``swept_deposits``). On a 10M-tx chain they took ~2.5 s of every engine's first trace (each CLI
trace, each API trace worker). They depend only on the chain, its cluster and tx labels (the read model's
state: ``readmodel.key_of``) and on the tags, so each group is kept under
``readmodel/<key>/<group>-v<VERSION>-<tags>/`` as ``.npy`` arrays and a ``META.json``:

    demix   custodial (uint32 addr_nums, ascending) | chip_splits | chip_txs | spent_chips | spent_times
    swept   keys (swept addr_nums, ascending) | into (the wallet address each was swept into)

``<tags>`` is ``notags``, or the tags file's inode, mtime and size with a hash of where each tagged address
sits in the store (``Attribution.slot_addr``): engines over other tags never share a folder. Only engines
whose labels and tags are the store's own use them (``TraceEngine.open`` and the workbench's, which carry the
read model's ``lookups``). The first such engine of a state writes a group (a ``.tmp`` folder renamed into
place, the model's older folders of that group removed); where the store cannot be written the facts stay
in memory. The read model's own pruning removes the folders with its state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from chaintrail.store.staged_dir import staged_dir

log = logging.getLogger(__name__)
VERSION = 1
META = "META.json"
GROUPS = {"demix": ("custodial", "chip_splits", "chip_txs", "spent_chips", "spent_times"),
          "swept": ("keys", "into")}


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


def folder_for(eng, group: str) -> Path | None:
    """Where ``group``'s facts for this engine's state live, or None where they cannot be shared (no
    current read model, or labels or tags that are not the store's)."""
    lk = getattr(eng, "lookups", None)
    if lk is None:
        return None
    tags = _tags_part(eng)
    if tags is None:
        return None
    return lk.model.folder / f"{group}-v{VERSION}-{tags}"


def _counts(eng) -> dict:
    return {"txs": int(eng.n_tx), "outputs": int(eng.n_out), "addresses": int(len(eng.labels))}


def load(eng, folder: Path, group: str) -> dict[str, np.ndarray] | None:
    """The persisted facts of ``group``, or None where there are none to trust."""
    try:
        meta = json.loads((folder / META).read_text())
        if meta.get("version") != VERSION or meta.get("counts") != _counts(eng):
            return None
        return {name: np.load(folder / f"{name}.npy") for name in GROUPS[group]}
    except (OSError, ValueError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("trace facts in %s unreadable (%s): found again", folder, exc)
        return None


def save(eng, folder: Path, group: str, facts: dict[str, np.ndarray]) -> None:
    """Write the facts as ``folder`` (tmp + rename) and remove the model's other folders of ``group``; a store
    this process cannot write keeps them in memory only."""
    try:
        with staged_dir(folder, META) as tmp:
            for name in GROUPS[group]:
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(facts[name]))
            (tmp / META).write_text(json.dumps({"version": VERSION, "counts": _counts(eng)}))
    except OSError as exc:
        log.warning("trace facts of %s not persisted (%s): kept in memory", eng.store.path, exc)
        return
    for old in folder.parent.glob(f"{group}-v*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    log.info("%s facts of %s persisted in %s", group, eng.store.path, folder)
