"""Incremental sync from a node over RPC: find the fork point, roll back, append, re-check.

The store side is any ``ChainCursor``; the node side is an ``RpcClient``. The node is
trusted for proof of work and for which chain is best; what we check is that every block
hashes to what the node named (the client does that) and links to the block below it, so
a reorganisation that happens while we fetch cannot splice two branches together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from chaintrail.chains.bitcoin.rpc import RpcClient, RpcError
from chaintrail.errors import SourceError

__all__ = ["ChainCursor", "SyncResult", "sync_from_rpc"]

log = logging.getLogger(__name__)

_RPC_OUT_OF_RANGE = -8   # Core's RPC_INVALID_PARAMETER: "Block height out of range"
_MAX_WINDOW = 4096       # most getblockhash calls in one fork-search batch


class ChainCursor(Protocol):
    """The store's view of its best chain, as the sync needs it."""

    def tip(self) -> tuple[int, bytes] | None:
        """(height, hash in internal order) of the best block, or None when empty."""
        ...

    def hash_at(self, height: int) -> bytes | None:
        """Hash of the stored block at ``height``, or None if the store has none there."""
        ...

    def rollback_to(self, height: int) -> None:
        """Drop every block above ``height`` (-1 empties the store)."""
        ...

    def append(self, blocks: list[tuple[int, bytes]]) -> None:
        """Append (height, raw block) pairs, in height order, atomically."""
        ...


@dataclass(frozen=True)
class SyncResult:
    """What one sync did and where the store ended up."""

    appended: int               # blocks appended (over all rounds)
    rolled_back: int            # blocks dropped by reorganisations
    fork_height: int | None     # lowest height rolled back to, None if nothing was dropped
    tip_height: int             # store's best height after the sync, -1 if empty
    tip_hash: bytes             # store's best hash (internal order), b"" if empty
    node_height: int = -1       # node's best height as last seen


class _NodeMoved(Exception):
    """The node's active chain changed under us; start a new round."""


def sync_from_rpc(client: RpcClient, cursor: ChainCursor, *, start_height: int = 0,
                  batch_blocks: int = 64, progress: Callable[[int, int], None] | None = None,
                  max_rounds: int = 8) -> SyncResult:
    """Bring ``cursor``'s chain to the node's best chain; returns what changed.

    An empty store starts at ``start_height``. ``progress(height, node_height)`` is called
    after each appended batch. The node's tip is re-read after catching up and the work
    repeated (at most ``max_rounds`` times) if it moved or reorganised meanwhile. A node
    that is behind the store but agrees with it up to its own tip drops nothing.
    """
    if batch_blocks < 1:
        raise ValueError("batch_blocks must be at least 1")
    appended = rolled_back = 0
    fork_height: int | None = None
    node_h = -1
    for _round in range(max_rounds):
        info = client.getblockchaininfo()
        node_h = info["blocks"]
        node_tip = bytes.fromhex(info["bestblockhash"])[::-1]
        tip = cursor.tip()
        if tip is not None and tip[1] == node_tip:
            break
        if tip is None:
            next_h, prev = start_height, None
            if next_h > node_h:
                log.info("node at height %d has not reached start height %d", node_h, start_height)
                break
        else:
            try:
                common, prev = _common_block(client, cursor, tip[0], node_h)
            except _NodeMoved:
                continue
            if common < tip[0]:
                if common == node_h:
                    # The node agrees with us up to its tip and is merely behind: keep our blocks.
                    log.warning("node %s at height %d is behind the store (height %d); nothing to do",
                                client.url, node_h, tip[0])
                    break
                log.info("reorganisation: rolling back from %d to %d", tip[0], common)
                cursor.rollback_to(common)
                rolled_back += tip[0] - common
                fork_height = common if fork_height is None else min(fork_height, common)
            next_h = common + 1
        count, moved = _fetch(client, cursor, next_h, node_h, prev, batch_blocks, progress)
        appended += count
        if moved:
            log.info("node's chain changed during sync; re-checking")
    else:
        log.warning("node %s kept moving; stopped after %d rounds", client.url, max_rounds)
    tip = cursor.tip()
    return SyncResult(appended, rolled_back, fork_height,
                      tip[0] if tip else -1, tip[1] if tip else b"", node_h)


def _common_block(client: RpcClient, cursor: ChainCursor, store_h: int,
                  node_h: int) -> tuple[int, bytes]:
    """Highest height at which the store and the node's active chain hold the same block."""
    h = min(store_h, node_h)
    window = 1  # usually the tip itself matches: one call
    while h >= 0:
        heights = range(h, max(h - window, -1), -1)
        ours: list[bytes] = []
        for x in heights:
            mine = cursor.hash_at(x)
            if mine is None:  # below the store's first block
                break
            ours.append(mine)
        theirs = _hashes(client, heights[: len(ours)])
        for x, mine, node in zip(heights, ours, theirs):
            if mine == node:
                return x, mine
        if len(ours) < len(heights):
            raise SourceError(f"RPC sync from {client.url}: the node's chain shares no block with "
                              f"the store from height {store_h} down to {heights[len(ours)] + 1} "
                              "(another network, or a reorganisation deeper than the store)")
        h -= len(heights)
        window = min(window * 8, _MAX_WINDOW)
    raise SourceError(f"RPC sync from {client.url}: the node's chain shares no block with the "
                      "store, not even the first (another network?)")


def _hashes(client: RpcClient, heights: Sequence[int]) -> list[bytes]:
    try:
        return client.getblockhashes(heights)
    except RpcError as exc:
        if exc.code == _RPC_OUT_OF_RANGE:  # the node's chain got shorter since getblockchaininfo
            raise _NodeMoved from exc
        raise


def _fetch(client: RpcClient, cursor: ChainCursor, next_h: int, node_h: int, prev: bytes | None,
           batch_blocks: int, progress: Callable[[int, int], None] | None) -> tuple[int, bool]:
    """Append blocks next_h..node_h in batches; returns (appended, whether the node moved)."""
    count = 0
    h = next_h
    while h <= node_h:
        heights = range(h, min(h + batch_blocks, node_h + 1))
        try:
            hashes = _hashes(client, heights)
        except _NodeMoved:
            return count, True
        raws = client.getblocks_raw(hashes)
        linked = len(raws)
        for i, raw in enumerate(raws):
            if prev is not None and raw[4:36] != prev:
                linked = i  # the active chain changed between our calls
                break
            prev = hashes[i]
        if linked:
            cursor.append(list(zip(heights[:linked], raws[:linked])))
            count += linked
            if progress is not None:
                progress(heights[linked - 1], node_h)
        if linked < len(raws):
            return count, True
        h += len(heights)
    return count, False
