"""Best-chain selection over block headers: compact targets, work, and prev-hash links.

Blocks in blk files are in arrival order, and a folder may hold only part of the
chain, so the chain is rebuilt here as Core does on reindex: link every header
to its parent by prev hash, sum the work from each root, take the tip with the
most work (earliest in file order on a tie), and walk back from it.
Proof of work is not checked here; see :mod:`.pow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chaintrail.chains.bitcoin.blockfiles import BlockLocation
from chaintrail.chains.bitcoin.pow import meets_target, target_from_bits, work_from_bits
from chaintrail.errors import ValidationError

__all__ = [
    "ChainLayout",
    "best_chain",
    "meets_target",
    "root_height_hint",
    "target_from_bits",
    "work_from_bits",
]

_NULL_HASH = bytes(32)


@dataclass(frozen=True, slots=True)
class ChainLayout:
    """The best chain found in a set of blocks, and everything left off it."""

    main: list[BlockLocation]          # root first, tip last
    stale: list[BlockLocation]         # unique blocks not on main, in file order
    root_prev_hash: bytes              # main[0].prev_hash; all zero when main starts at genesis
    tip_work: int = 0                  # work summed from main[0] to the tip
    # For each stale block: its height above main[0] if it descends from main[0], else None.
    stale_depth: list[int | None] = field(default_factory=list)
    duplicates: list[BlockLocation] = field(default_factory=list)  # later copies of a hash


def best_chain(blocks: Sequence[BlockLocation]) -> ChainLayout:
    """Rebuild the most-work chain from ``blocks`` given in file order.

    Roots are blocks whose parent is absent. Repeated copies of a hash count once
    (the first is kept). Every other unique block is stale, orphans of other roots
    included. File order breaks work ties, as Core's sequence ids do.
    """
    index: dict[bytes, int] = {}
    uniq: list[BlockLocation] = []
    duplicates: list[BlockLocation] = []
    for b in blocks:
        if b.hash in index:
            duplicates.append(b)
            continue
        index[b.hash] = len(uniq)
        uniq.append(b)
    n = len(uniq)
    if n == 0:
        return ChainLayout(main=[], stale=[], root_prev_hash=b"", duplicates=duplicates)

    parent = [index.get(b.prev_hash, -1) for b in uniq]
    work_of_bits: dict[int, int] = {}   # bits repeat for 2016 blocks at a time
    chainwork = [0] * n
    depth = [0] * n
    root = [0] * n
    state = bytearray(n)                # 0 = todo, 1 = on the current walk, 2 = done
    for i in range(n):
        if state[i] == 2:
            continue
        # Parents may come after children in the files, so walk up to a known
        # ancestor (or a root) and fill the path in on the way down.
        path = []
        j = i
        while j >= 0 and state[j] != 2:
            if state[j] == 1:
                b = uniq[j]
                raise ValidationError("prev-hash links form a cycle", str(b.file), b.offset)
            state[j] = 1
            path.append(j)
            j = parent[j]
        if j >= 0:
            acc, d, r = chainwork[j], depth[j] + 1, root[j]
        else:
            acc, d, r = 0, 0, path[-1]
        for k in reversed(path):
            bits = uniq[k].bits
            w = work_of_bits.get(bits)
            if w is None:
                w = work_of_bits[bits] = work_from_bits(bits)
            acc += w
            chainwork[k], depth[k], root[k] = acc, d, r
            state[k] = 2
            d += 1

    tip = 0
    for i in range(1, n):
        if chainwork[i] > chainwork[tip]:   # strict: the first seen wins a tie
            tip = i

    on_main = bytearray(n)
    main_idx = []
    j = tip
    while j >= 0:
        on_main[j] = 1
        main_idx.append(j)
        j = parent[j]
    main_idx.reverse()
    main_root = main_idx[0]

    stale: list[BlockLocation] = []
    stale_depth: list[int | None] = []
    for i in range(n):
        if not on_main[i]:
            stale.append(uniq[i])
            stale_depth.append(depth[i] if root[i] == main_root else None)
    main = [uniq[i] for i in main_idx]
    return ChainLayout(
        main=main,
        stale=stale,
        root_prev_hash=main[0].prev_hash,
        tip_work=chainwork[tip],
        stale_depth=stale_depth,
        duplicates=duplicates,
    )


def root_height_hint(block: BlockLocation) -> int | None:
    """Height of a chain's first block when the header alone tells: 0 for genesis, else None."""
    return 0 if block.prev_hash == _NULL_HASH else None
