"""The public API is exactly what __all__ says, and every name resolves."""

import chaintrail as ct


def test_all_names_resolve():
    for name in ct.__all__:
        assert getattr(ct, name) is not None, name


def test_all_is_unique_and_public_names_are_listed():
    assert len(set(ct.__all__)) == len(ct.__all__)
    exported = {n for n in vars(ct) if not n.startswith("_") and not isinstance(getattr(ct, n), type(ct))}
    assert exported <= set(ct.__all__), exported - set(ct.__all__)


def test_notebook_flow(tmp_path, btc_data):
    with ct.BtcIngest(tmp_path / "s") as job:
        report = job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    assert report.blocks == 600
    store = ct.ChainStore(tmp_path / "s")
    rows = ct.sql(store, "SELECT count(*) AS n, max(height) AS h FROM blocks").to_pylist()
    assert rows == [{"n": 600, "h": 599}]
