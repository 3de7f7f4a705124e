"""The workbench's tags, persisted beside the read model and memory-mapped: opening them is O(1) in the tags.

Opening the tag store for the workbench found every distinct tagged address in the read model (a string
search per address: 11 s for 153k tags on a 1M-tx chain) and decoded ``tags.parquet`` into memory (145 MB
anonymous). Both depend only on the tags and on the read model's state, so they are kept under
``readmodel/<key>/tags-<sig>/`` (``sig``: the tags file's inode, mtime and size; it is replaced whole on
every change) and memory-mapped by every process that serves the store:

    tags.arrow       the tags table, uncompressed Arrow IPC (mapped: zero-copy, the page cache's pages)
    addresses.arrow  the distinct tagged addresses (``TagIndex.addresses``)
    <name>.npy       ``TagIndex.ARRAYS`` and ``slot_addr`` (each tagged address's addr_num, -1: none)

The first process to open a state builds the folder (O(tags), once; a ``.tmp`` folder renamed into place,
so readers see all of it or none and racing builders end with one copy) and removes older ``tags-*``
folders. Where the store cannot be written, the tags open in memory as before.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.readmodel import FOLDER, key_of
from chaintrail.store.staged_dir import staged_dir
from chaintrail.tags.index import TagIndex
from chaintrail.tags.tagstore import TagStore

log = logging.getLogger(__name__)
VERSION = 1
META = "META.json"
PREFIX = "tags-"


class MappedTagStore(TagStore):
    """A tag store whose tags table and index are the persisted, memory-mapped ones (read-only)."""

    def __init__(self, root: Path, tags: pa.Table, index: TagIndex):
        super().__init__(root)
        self._tags, self._index = tags, index


def _signature(store: ChainStore) -> str | None:
    try:
        st = (store.path / "analysis" / "tags.parquet").stat()
    except OSError:
        return None
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def _write_arrow(path: Path, data: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data, max_chunksize=max(data.num_rows, 1))


def _read_arrow(path: Path) -> pa.Table:
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()


def _build(folder: Path, store: ChainStore, n_addr: int, addr_nums) -> None:
    """Write ``folder`` (absent) from the tag store: the table, its index and every tagged address's addr_num."""
    ts = TagStore(store.path)
    tags, idx = ts.tags, ts.index
    got = np.asarray(addr_nums(idx.addresses.to_pylist()), np.int64) if idx.n_addr and n_addr \
        else np.full(idx.n_addr, -1, np.int64)
    slot_addr = np.where((got >= 0) & (got < n_addr), got, -1)
    with staged_dir(folder, META) as tmp:
        _write_arrow(tmp / "tags.arrow", tags)
        _write_arrow(tmp / "addresses.arrow", pa.table({"address": idx.addresses}))
        for name in (*TagIndex.ARRAYS, "slot_addr"):
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(slot_addr if name == "slot_addr" else getattr(idx, name)))
        (tmp / META).write_text(json.dumps({"version": VERSION, "rows": tags.num_rows, "n_addr": n_addr}))
    for old in folder.parent.glob(PREFIX + "*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    log.info("tags of %s persisted in %s (%d rows)", store.path, folder, tags.num_rows)


def open_tags(store: ChainStore, n_addr: int, addr_nums) -> tuple[TagStore, np.ndarray | None]:
    """The store's tags for the workbench and each tagged address's addr_num (None: let ``Attribution`` find
    them). Mapped from the read model's folder, built there first if this state has none."""
    sig = _signature(store)
    model = store.path / FOLDER / key_of(store)
    if sig is None or not (model / "META.json").exists():
        return TagStore(store.path), None
    folder = model / f"{PREFIX}{sig}"
    if not (folder / META).exists():
        try:
            _build(folder, store, n_addr, addr_nums)
        except OSError as exc:
            log.warning("tags of %s not persisted (%s): opened in memory", store.path, exc)
            return TagStore(store.path), None
    try:
        meta = json.loads((folder / META).read_text())
        if meta.get("version") != VERSION or meta.get("n_addr") != n_addr:
            raise ValueError(f"tags folder {folder} was built for another state")
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray)
                  for name in (*TagIndex.ARRAYS, "slot_addr")}
        col = _read_arrow(folder / "addresses.arrow")["address"]
        index = TagIndex.from_arrays(col.chunk(0) if col.num_chunks == 1 else col.combine_chunks(), arrays)
        tags = _read_arrow(folder / "tags.arrow")
    except (OSError, ValueError, pa.ArrowException) as exc:
        log.warning("tags of %s: persisted copy unreadable (%s): opened in memory", store.path, exc)
        return TagStore(store.path), None
    return MappedTagStore(store.path, tags, index), arrays["slot_addr"]
