"""`chaintrail follow` as a service: ingest each new block (reorg-safe), evaluate the watches, hand alerts on.

The ingest is the project's own: ``EthIngest`` for Ethereum, ``BtcIngest`` with the RPC sync for Bitcoin, both
resumable from the store's tip and both cutting the store back on a reorganisation. The follower notes where
a reorganisation cut the store, so the monitor retracts the alerts of the dropped blocks. A node that goes
away (a source error) is retried with backoff; the store keeps what was committed, so the next successful
look resumes at its tip.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from chaintrail.cases.db import Database
from chaintrail.chains.urls import public_url
from chaintrail.errors import SourceError
from chaintrail.monitor.alerts import retract
from chaintrail.monitor.monitor import REORG, Monitor, UpdateResult

log = logging.getLogger(__name__)


@dataclass
class FollowStats:
    looks: int = 0
    blocks: int = 0
    raised: int = 0
    retracted: int = 0
    node_errors: int = 0
    last_error: str | None = None
    latencies: list[float] = field(default_factory=list)     # seconds from ingest start to alerts recorded

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("latencies")
        return d


class _EthSource:
    """One connection to an Ethereum node and the ingest job on the store."""

    def __init__(self, store_path: Path, url: str, timeout: float):
        from chaintrail.chains.ethereum.rpc import EthRpc
        from chaintrail.ingest.eth_job import EthIngest
        parts = urlsplit(url if "://" in url else "http://" + url)
        self.rpc = EthRpc(url, timeout=timeout, retries=1)
        outer = self

        class _Job(EthIngest):
            def rollback_to(self, number: int) -> None:
                super().rollback_to(number)
                outer._cut(self.state.n_blocks)

        self.kept: int | None = None
        try:
            self.job = _Job(store_path, self.rpc, source=f"rpc:{parts.hostname}:{parts.port or 8545}",
                            batch_blocks=100, traces="auto")
        except BaseException:
            self.rpc.close()
            raise
        self.store = self.job.store

    def _cut(self, kept: int) -> None:
        self.kept = kept if self.kept is None else min(self.kept, kept)

    def sync(self) -> None:
        self.job.run(confirmations=0)

    def hash_at(self, number: int) -> str | None:
        first = self.job.first_block
        if first is None or not first <= number <= (self.job.tip if self.job.tip is not None else -1):
            return None
        return "0x" + bytes(self.job.hashes[number - first]).hex()

    def close(self) -> None:
        self.job.close()
        self.rpc.close()


class _BtcSource:
    """A Bitcoin Core RPC client and the ingest job, through the same sync ``ingest btc --rpc`` uses."""

    def __init__(self, store_path: Path, url: str, timeout: float, cookie: str | None = None,
                 check_pow: bool = True):
        from chaintrail.chains.bitcoin.rpc import RpcClient
        from chaintrail.ingest.btc_job import BtcIngest
        from chaintrail.ingest.store_cursor import StoreCursor
        parts = urlsplit(url if "://" in url else "http://" + url)
        self.client = RpcClient.from_url(url, cookie_file=cookie, timeout=timeout)
        outer = self

        class _Cursor(StoreCursor):
            def rollback_to(self, height: int) -> None:
                super().rollback_to(height)
                outer._cut(int(self.job.store.counts["blocks"]))

        self.kept: int | None = None
        try:
            net = self.client.network()
            self.job = BtcIngest(store_path, network=net, check_pow=check_pow)
            self.job.store.set_network(net.name)
        except BaseException:
            self.client.close()
            raise
        self.cursor = _Cursor(self.job, f"rpc:{parts.hostname}:{parts.port or 8332}")
        self.store = self.job.store

    def _cut(self, kept: int) -> None:
        self.kept = kept if self.kept is None else min(self.kept, kept)

    def sync(self) -> None:
        from chaintrail.ingest.rpc_sync import sync_from_rpc
        sync_from_rpc(self.client, self.cursor)

    def hash_at(self, number: int) -> str | None:
        h = self.cursor.hash_at(number)
        return None if h is None else h[::-1].hex()

    def close(self) -> None:
        self.job.close()
        self.client.close()


class Follower:
    """Follows one node into one store and one case database until ``stop()``."""

    def __init__(self, store_path: str | Path, url: str, chain: str, db: Database, *, poll_s: float = 1.0,
                 timeout: float = 30.0, retry_max_s: float = 30.0, cookie: str | None = None,
                 on_update: Callable[[UpdateResult], None] | None = None, check_pow: bool = True):
        self.store_path = Path(store_path)
        self.url = url
        # for logs and stats: no user:password, query string or provider key in the path
        self.public_url = public_url(url if "://" in url else "http://" + url)
        self.chain = chain
        self.db = db
        self.poll_s = poll_s
        self.timeout = timeout
        self.retry_max_s = retry_max_s
        self.cookie = cookie
        self.on_update = on_update
        self.check_pow = check_pow          # False only for tests that fork real mainnet blocks
        self.stats = FollowStats()
        self._stop = threading.Event()
        self._source: _EthSource | _BtcSource | None = None
        self._monitor: Monitor | None = None

    def stop(self) -> None:
        self._stop.set()

    def _open(self) -> _EthSource | _BtcSource:
        if self.chain == "eth":
            return _EthSource(self.store_path, self.url, self.timeout)
        return _BtcSource(self.store_path, self.url, self.timeout, self.cookie, self.check_pow)

    def look(self) -> UpdateResult:
        """One look at the node: ingest what is new, evaluate, record. Raises SourceError if the node fails."""
        if self._source is None:
            opened = self._open()
            self._source = opened
            self._monitor = Monitor(opened.store, self.chain, self.db)
            if self._monitor.done:      # alerts of blocks a reorg dropped while we were away go at once
                retract(self.db, self.chain, lambda n, h: opened.hash_at(n) == h, REORG)
        src, mon = self._source, self._monitor
        assert mon is not None
        src.kept = None
        src.sync()
        res = mon.update(kept=src.kept, hash_at=src.hash_at)
        self.stats.looks += 1
        self.stats.blocks += res.blocks
        self.stats.raised += len(res.raised)
        self.stats.retracted += len(res.retracted)
        if self.on_update is not None and (res.raised or res.retracted):
            self.on_update(res)
        return res

    def _drop_source(self) -> None:
        if self._source is not None:
            try:
                self._source.close()
            except Exception:       # closing a broken connection must not hide the error that broke it
                log.debug("closing the node connection failed", exc_info=True)
        self._source, self._monitor = None, None

    def run(self, *, stop_after: float | None = None) -> FollowStats:
        """Look, sleep ``poll_s``, repeat; on a node error retry with backoff (1 s doubling to retry_max_s)."""
        t0 = time.monotonic()
        backoff = min(1.0, self.retry_max_s)
        try:
            while not self._stop.is_set():
                try:
                    self.look()
                    backoff = min(1.0, self.retry_max_s)
                    wait = self.poll_s
                except SourceError as exc:
                    self.stats.node_errors += 1
                    self.stats.last_error = str(exc)
                    log.warning("node %s failed (%s); retrying in %.1f s", self.public_url, exc, backoff)
                    self._drop_source()
                    wait, backoff = backoff, min(backoff * 2, self.retry_max_s)
                if stop_after is not None and time.monotonic() - t0 >= stop_after:
                    break
                self._stop.wait(wait)
        finally:
            self._drop_source()
        return self.stats
