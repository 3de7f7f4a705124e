"""The follower's incremental entities use the batch clustering's CoinJoin guard: a multi-input transaction the
classifiers mark as mixing (``analysis/tx_labels.parquet``, which ``chaintrail cluster`` writes and
``mixer_tx_mask`` reads) joins nothing, while an unmarked one joins its inputs. Real mainnet blocks, block by
block over RPC: block 496 holds the chain's first three-input transaction."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fakenode import FakeNode, mainnet_blocks

from chaintrail.cases.repository import CaseRepository
from chaintrail.monitor.follow import Follower
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watch

TX504 = "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33"     # block 496, three inputs


def _inputs_of(store, txid: str) -> np.ndarray:
    txids = np.asarray(store.column("txid"))
    want = bytes.fromhex(txid)[::-1]
    t = next(i for i in range(len(txids)) if bytes(txids[i]) == want)
    tfi = store.column("tx_first_in")
    end = int(tfi[t + 1]) if t + 1 < len(txids) else store.counts["inputs"]
    return np.unique(np.asarray(store.column("in_addr")[int(tfi[t]):end], np.int64))


@pytest.mark.parametrize("marked", [True, False])
def test_a_coinjoin_marked_tx_joins_no_entities(tmp_path, marked):
    blocks = mainnet_blocks()[:500]
    repo = CaseRepository.open(tmp_path / "cases.sqlite")
    try:
        p = repo.ensure_operator("FBI", "agent")
        ref = repo.create_case(p, "Early joins")["ref"]
        add_watch(repo, p, ref, check_spec("btc", "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"))
        with FakeNode(blocks=blocks[:496]) as node:
            f = Follower(tmp_path / "store", node.auth_url, "btc", repo.db, check_pow=False)
            f.look()
            if marked:      # as `chaintrail cluster` records a CoinJoin: the label file covers txs to come too
                path = tmp_path / "store" / "analysis" / "tx_labels.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                n = 1000
                mixing = np.zeros(n, np.bool_)
                mixing[504] = True
                pq.write_table(pa.table({"tx_num": np.arange(n, dtype=np.int64), "is_mixing": mixing}), path)
            node.set_chain(blocks[:497])
            assert f.look().blocks == 1
            ins = _inputs_of(f._source.store, TX504)
            roots = f._monitor.entities.find(ins)
            f._drop_source()
    finally:
        repo.close()
    assert len(ins) == 3
    assert len(set(roots.tolist())) == (3 if marked else 1)
