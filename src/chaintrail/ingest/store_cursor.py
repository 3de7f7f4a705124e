"""The chain store seen as a ``ChainCursor`` for node RPC sync."""

from __future__ import annotations

from chaintrail.ingest.btc_job import BtcIngest


class StoreCursor:
    """Adapts a running ``BtcIngest`` to the sync's ChainCursor protocol."""

    def __init__(self, job: BtcIngest, source: str):
        self.job = job
        self.source = source

    def tip(self) -> tuple[int, bytes] | None:
        chain = self.job.main_chain()
        return chain[-1] if chain else None

    def hash_at(self, height: int) -> bytes | None:
        for h, block_hash in reversed(self.job.main_chain()):
            if h == height:
                return block_hash
            if h < height:
                return None
        return None

    def rollback_to(self, height: int) -> None:
        self.job.rollback_to_height(height)

    def append(self, blocks: list[tuple[int, bytes]]) -> None:
        self.job.append_rpc_blocks(blocks, self.source)
