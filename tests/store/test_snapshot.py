"""A store opened read-only is a snapshot: writers that roll back or commit under it never pull pages away."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from chaintrail.errors import StoreError
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore


@pytest.fixture
def store(tmp_path, btc_data):
    path = tmp_path / "store"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    return path


def test_rollback_leaves_a_readers_mapped_columns_whole(store):
    # In a child process: before the fix the reader died of SIGBUS (its mapped pages were truncated away).
    code = textwrap.dedent(f"""
        import numpy as np
        from chaintrail.store.chainstore import ChainStore
        reader = ChainStore({str(store)!r})
        cols = {{n: reader.column(n) for n in ("in_prev", "in_value", "out_value", "tx_first_out", "txid")}}
        sums = {{n: int(np.asarray(c, np.int64).sum()) for n, c in cols.items()}}
        with ChainStore({str(store)!r}, writable=True) as w:
            w.rollback(100)
            assert w.counts["blocks"] == 100
        after = {{n: int(np.asarray(c, np.int64).sum()) for n, c in cols.items()}}
        assert after == sums, (after, sums)
        print("ok", reader.counts["blocks"], ChainStore({str(store)!r}).counts["blocks"])
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.split() == ["ok", "600", "100"]


def test_a_commit_in_progress_does_not_block_readers_but_a_crash_does(store):
    with ChainStore(store, writable=True):
        (store / "DIRTY").touch()            # a writer mid-commit: the manifest is still the last commit
        with ChainStore(store) as reader:
            assert reader.counts["blocks"] == 600
    # No writer holds the lock: DIRTY is left from a crash.
    with pytest.raises(StoreError, match="interrupted mid-write"):
        ChainStore(store)
    with ChainStore(store, writable=True):
        pass
    assert not (store / "DIRTY").exists()
