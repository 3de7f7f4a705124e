"""The served store's current read model: reopened when an ingest commits, a consistent snapshot until then.

An ingest may grow a store while it is served. Each request asks for the
current ``Workbench``; that costs one ``stat`` of ``MANIFEST.json`` (replaced
whole at every commit). When the manifest changed, a fresh workbench (chain
view, tags, trace engine, screener, empty result cache) is built in a
background thread and swapped in once complete; requests meanwhile keep
answering from the old one, which is a snapshot of the manifest it opened
(see ``store.chainstore``). A request holds the workbench it started with, so
it never mixes two snapshots. A reopen that fails (an ingest mid-commit, a
store being repaired) is retried on a later request.

``generation`` counts the swaps; trace workers compare it with their own and
reopen their workbench before their next task (see ``runner``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from chaintrail.api.workbench import Limits, Workbench

log = logging.getLogger(__name__)
RETRY_S = 1.0          # after a failed reopen, wait this long before the next try


def manifest_signature(store_path: Path | str) -> tuple[int, int, int] | None:
    """What changes whenever a commit replaces the manifest (None if it cannot be read)."""
    try:
        st = os.stat(os.path.join(store_path, "MANIFEST.json"))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class LiveWorkbench:
    """Holds the app's current workbench and reopens it when the store's manifest changes."""

    def __init__(self, store_path: str | Path, limits: Limits | None = None, other_store: str | Path | None = None):
        self.path = Path(store_path)
        self._path_str = str(self.path)
        self.limits = limits or Limits()
        self.other_store = Path(other_store) if other_store is not None else None
        self._sig = manifest_signature(self.path)
        self._wb = Workbench(self.path, self.limits, self.other_store)
        self.generation = 0
        self.tags_version = 0
        self.on_swap: Callable[[Workbench], None] | None = None     # told of each new workbench
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None
        self._retry_at = 0.0

    def current(self) -> Workbench:
        """The newest complete workbench; starts a reopen in the background when the store has changed."""
        sig = manifest_signature(self._path_str)     # every request: a str path skips pathlib's join
        if sig != self._sig and sig is not None:
            with self._lock:
                if self._building is None and time.monotonic() >= self._retry_at:
                    self._building = threading.Thread(target=self._reopen, args=(sig,), daemon=True,
                                                      name="chaintrail-reopen")
                    self._building.start()
        return self._wb

    def refresh(self, timeout: float = 60.0) -> Workbench:
        """Reopen now if the store changed, and wait for it (tests, notebooks); the current workbench."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._retry_at = 0.0
            self.current()
            with self._lock:
                building = self._building
            if building is None and manifest_signature(self.path) == self._sig:
                break
            if building is not None:
                building.join(max(0.0, deadline - time.monotonic()))
            time.sleep(0.02)
        return self._wb

    def changed_since(self, generation: int) -> bool:
        """Whether the store was reopened, or changed on disk, since ``generation``."""
        return self.generation != generation or manifest_signature(self.path) != self._sig

    def tags_changed(self) -> None:
        """Tags were added: the current workbench re-reads them (a reopen under way does too)."""
        with self._lock:
            self.tags_version += 1
            wb = self._wb
        wb.reload_tags()

    def _reopen(self, sig: tuple[int, int, int]) -> None:
        ok = False
        try:
            tags_version = self.tags_version
            old = self._wb
            wb = Workbench(self.path, self.limits, self.other_store)
            if wb.store.manifest == old.store.manifest:
                wb.close()
                wb = old            # only the file changed (e.g. rewritten with the same content)
            with self._lock:
                if tags_version != self.tags_version and wb is not old:
                    wb.reload_tags()
                if wb is not old:
                    self._wb = wb
                    self.generation += 1
                self._sig = sig
            if wb is not old:
                log.info("store %s changed: reopened with counts %s", self.path, wb.store.counts)
                if self.on_swap is not None:
                    self.on_swap(wb)
            ok = True
        except Exception as exc:  # noqa: BLE001 - a failed reopen keeps the snapshot and is retried
            log.warning("store %s changed but could not be reopened yet (%s); still serving the previous "
                        "snapshot", self.path, exc)
        finally:
            with self._lock:
                self._building = None
                if not ok:
                    self._retry_at = time.monotonic() + RETRY_S

    def close(self) -> None:
        with self._lock:
            building = self._building
        if building is not None:
            building.join(30)
        self._wb.close()
