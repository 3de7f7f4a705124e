"""sync_from_rpc against FakeNode serving real mainnet blocks 0-599 and forks derived from them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds fakenode.py

from fakenode import FakeNode, alt_branch, block_hash, mainnet_blocks  # noqa: E402

from chaintrail.chains.bitcoin.rpc import RpcClient  # noqa: E402
from chaintrail.errors import SourceError  # noqa: E402
from chaintrail.ingest.rpc_sync import SyncResult, sync_from_rpc  # noqa: E402

REAL = mainnet_blocks()


class MemoryCursor:
    """In-memory ChainCursor that refuses gaps and blocks that do not link to their parent."""

    def __init__(self) -> None:
        self.start: int | None = None
        self.hashes: list[bytes] = []
        self.appends = 0
        self.rollbacks: list[int] = []
        self.after_append: Callable[[MemoryCursor], None] | None = None

    def tip(self) -> tuple[int, bytes] | None:
        if not self.hashes:
            return None
        assert self.start is not None
        return self.start + len(self.hashes) - 1, self.hashes[-1]

    def hash_at(self, height: int) -> bytes | None:
        if self.start is None or not self.start <= height < self.start + len(self.hashes):
            return None
        return self.hashes[height - self.start]

    def rollback_to(self, height: int) -> None:
        tip = self.tip()
        assert tip is not None and height < tip[0], "rollback must drop something"
        assert self.start is not None
        del self.hashes[max(height - self.start + 1, 0):]
        if not self.hashes:
            self.start = None
        self.rollbacks.append(height)

    def append(self, blocks: list[tuple[int, bytes]]) -> None:
        for height, raw in blocks:
            tip = self.tip()
            if tip is None:
                self.start = height
            else:
                assert height == tip[0] + 1, "gap in appended heights"
                assert raw[4:36] == tip[1], f"block {height} does not link to the store's tip"
            self.hashes.append(block_hash(raw))
        self.appends += 1
        if self.after_append is not None:
            self.after_append(self)

    def heights_and_hashes(self) -> list[tuple[int, bytes]]:
        assert self.start is not None
        return list(enumerate(self.hashes, start=self.start))


def hashes_of(blocks: Sequence[bytes]) -> list[bytes]:
    return [block_hash(b) for b in blocks]


@pytest.fixture
def node() -> Iterator[FakeNode]:
    with FakeNode(blocks=REAL[:301]) as n:
        yield n


@pytest.fixture
def client(node: FakeNode) -> Iterator[RpcClient]:
    with RpcClient.from_url(node.url, cookie_file=str(node.cookie_file)) as c:
        yield c


def test_initial_then_incremental_sync(node: FakeNode, client: RpcClient) -> None:
    cur = MemoryCursor()
    seen: list[tuple[int, int]] = []
    res = sync_from_rpc(client, cur, batch_blocks=64, progress=lambda h, n: seen.append((h, n)))
    assert res == SyncResult(301, 0, None, 300, block_hash(REAL[300]), 300)
    assert cur.hashes == hashes_of(REAL[:301]) and cur.start == 0
    assert seen == [(63, 300), (127, 300), (191, 300), (255, 300), (300, 300)]
    assert cur.appends == 5
    # info + 5 x (getblockhash batch + getblock batch) + info to confirm the tip
    assert node.http_requests == 12 and node.connections == 1

    node.set_chain(REAL)
    before = node.http_requests
    res = sync_from_rpc(client, cur, batch_blocks=64)
    assert res == SyncResult(299, 0, None, 599, block_hash(REAL[599]), 599)
    assert cur.hashes == hashes_of(REAL)
    # info + tip check + 5 batches of 64,64,64,64,43 + confirm
    assert node.http_requests - before == 13
    assert node.calls["getblock"] == 600  # nothing fetched twice

    before = node.http_requests
    assert sync_from_rpc(client, cur).appended == 0
    assert node.http_requests - before == 1


def test_reorg_rolls_back_to_fork_and_ends_on_real_chain(node: FakeNode, client: RpcClient) -> None:
    alt = alt_branch(REAL, 200, 5)
    assert all(block_hash(a) != block_hash(r) for a, r in zip(alt, REAL[201:206]))
    node.set_chain(list(REAL[:201]) + alt)
    cur = MemoryCursor()
    res = sync_from_rpc(client, cur, batch_blocks=64)
    assert (res.appended, res.tip_height, res.tip_hash) == (206, 205, block_hash(alt[-1]))

    node.set_chain(REAL[:261])
    res = sync_from_rpc(client, cur, batch_blocks=64)
    assert res == SyncResult(60, 5, 200, 260, block_hash(REAL[260]), 260)
    assert cur.rollbacks == [200]
    assert cur.heights_and_hashes() == list(enumerate(hashes_of(REAL[:261])))


def test_deep_reorg_across_batch_boundaries(node: FakeNode, client: RpcClient) -> None:
    cur = MemoryCursor()
    sync_from_rpc(client, cur, batch_blocks=50)
    alt = alt_branch(REAL, 100, 230, tag=7)
    node.set_chain(list(REAL[:101]) + alt)
    before = node.http_requests
    res = sync_from_rpc(client, cur, batch_blocks=50)
    assert res == SyncResult(230, 200, 100, 330, block_hash(alt[-1]), 330)
    # fork search in widening batches (1, 8, 64, 228 heights) + 5 x 2 fetches + 2 infos
    assert node.http_requests - before == 16
    assert cur.hashes == hashes_of(REAL[:101]) + hashes_of(alt)

    node.set_chain(REAL)  # and back again: the real chain wins
    res = sync_from_rpc(client, cur, batch_blocks=50)
    assert res == SyncResult(499, 230, 100, 599, block_hash(REAL[599]), 599)
    assert cur.hashes == hashes_of(REAL)


def test_shorter_conflicting_chain_still_reorganises(node: FakeNode, client: RpcClient) -> None:
    node.set_chain(list(REAL[:201]) + alt_branch(REAL, 200, 5))
    cur = MemoryCursor()
    sync_from_rpc(client, cur)
    node.set_chain(REAL[:204])
    res = sync_from_rpc(client, cur)
    assert res == SyncResult(3, 5, 200, 203, block_hash(REAL[203]), 203)
    assert cur.hashes == hashes_of(REAL[:204])


def test_node_behind_the_store_drops_nothing(node: FakeNode, client: RpcClient) -> None:
    cur = MemoryCursor()
    sync_from_rpc(client, cur)
    node.set_chain(REAL[:251])
    res = sync_from_rpc(client, cur)
    assert res == SyncResult(0, 0, None, 300, block_hash(REAL[300]), 250)
    assert cur.hashes == hashes_of(REAL[:301]) and cur.rollbacks == []


def test_reorg_while_appending(node: FakeNode, client: RpcClient) -> None:
    alt = alt_branch(REAL, 40, 280, tag=3)

    def switch_once(c: MemoryCursor) -> None:
        if c.appends == 1:
            node.set_chain(list(REAL[:41]) + alt)

    cur = MemoryCursor()
    cur.after_append = switch_once
    res = sync_from_rpc(client, cur, batch_blocks=64)
    assert res == SyncResult(64 + 280, 23, 40, 320, block_hash(alt[-1]), 320)
    assert cur.hashes == hashes_of(REAL[:41]) + hashes_of(alt)


def test_reorg_between_getblockhash_and_getblock(node: FakeNode, client: RpcClient) -> None:
    """The node switches while we fetch blocks by hash: old blocks still come, links catch it."""
    alt = alt_branch(REAL, 100, 250, tag=5)

    def hook(method: str, params: list[Any]) -> None:
        if method == "getblock" and node.calls["getblock"] == 64:
            node.set_chain(list(REAL[:101]) + alt)

    node.before_call = hook
    cur = MemoryCursor()
    res = sync_from_rpc(client, cur, batch_blocks=64)
    assert res == SyncResult(128 + 250, 27, 100, 350, block_hash(alt[-1]), 350)
    assert cur.hashes == hashes_of(REAL[:101]) + hashes_of(alt)


def test_node_shrinks_while_fetching(node: FakeNode, client: RpcClient) -> None:
    def hook(method: str, params: list[Any]) -> None:
        if method == "getblockhash" and params == [128]:
            node.set_chain(REAL[:100])

    node.before_call = hook
    cur = MemoryCursor()
    res = sync_from_rpc(client, cur, batch_blocks=64)
    # Height 128 is out of range now; the store (0..127) agrees with the node up to its tip.
    assert res == SyncResult(128, 0, None, 127, block_hash(REAL[127]), 99)
    assert cur.hashes == hashes_of(REAL[:128])


def test_store_starting_above_genesis(node: FakeNode, client: RpcClient) -> None:
    cur = MemoryCursor()
    res = sync_from_rpc(client, cur, start_height=250)
    assert (res.appended, res.tip_height) == (51, 300)
    assert cur.heights_and_hashes() == list(enumerate(hashes_of(REAL[:301])))[250:]
    assert cur.hash_at(249) is None

    alt = alt_branch(REAL, 270, 20)
    node.set_chain(list(REAL[:271]) + alt)
    res = sync_from_rpc(client, cur, start_height=250)
    assert res == SyncResult(20, 30, 270, 290, block_hash(alt[-1]), 290)

    node.set_chain(list(REAL[:201]) + alt_branch(REAL, 200, 100))
    with pytest.raises(SourceError, match="shares no block with the store from height 290 down to 250"):
        sync_from_rpc(client, cur, start_height=250)

    empty = MemoryCursor()
    res = sync_from_rpc(client, empty, start_height=400)
    assert (res.appended, res.tip_height, res.tip_hash) == (0, -1, b"")


def test_store_from_another_chain_is_refused(node: FakeNode, client: RpcClient) -> None:
    node.set_chain(alt_branch(REAL, -1, 50), network_name="regtest")
    cur = MemoryCursor()
    sync_from_rpc(client, cur)
    node.set_chain(REAL[:100])
    with pytest.raises(SourceError, match="shares no block"):
        sync_from_rpc(client, cur)
    assert len(cur.hashes) == 50 and cur.rollbacks == []


def test_rounds_are_bounded_when_node_keeps_moving(node: FakeNode, client: RpcClient) -> None:
    node.set_chain(REAL[:100])
    length = [100]

    def grow(method: str, params: list[Any]) -> None:
        if method == "getblockchaininfo":
            length[0] += 10
            node.set_chain(REAL[:length[0]])

    node.before_call = grow
    cur = MemoryCursor()
    res = sync_from_rpc(client, cur, max_rounds=3)
    assert (res.appended, res.tip_height, res.node_height) == (130, 129, 129)
    assert node.calls["getblockchaininfo"] == 3
    assert cur.hashes == hashes_of(REAL[:130])
    with pytest.raises(ValueError):
        sync_from_rpc(client, cur, batch_blocks=0)
