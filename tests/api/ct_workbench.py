"""Shared fixtures for the API and browser tests: real stores, the demo case, live servers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

TOKEN = "test-token-0123456789abcdef"
MAINNET_SUBJECT = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
# The UI's defaults (its mixer select starts at "pass through").
DEMO_TRACE = {"max_hops": 20, "stop": ["exchange", "mixer", "gambling"], "mixer_policy": "haircut"}


def build_mainnet(path: Path, btc_data: Path) -> Path:
    """Real mainnet blocks 0-599 (Core blk/rev files) and the single raw blocks, labelled and clustered."""
    from chaintrail.analysis.clustering import update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.analysis.tx_labels import label_transactions
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.store.chainstore import ChainStore

    with BtcIngest(path) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
        job.ingest_raw(sorted(p for p in (btc_data / "mainnet" / "raw").glob("block*.raw")
                              if not p.stem.endswith("-undo")))
    with ChainStore(path, writable=True) as st:
        label_transactions(st)
        update_clusters(st, mixer_tx_mask(st))
    return path


class Api:
    """An httpx client bound to a live server, with the token set."""

    def __init__(self, url: str, token: str = TOKEN):
        self.url = url
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get("/api/v1" + path, params=params)

    def ok(self, path: str, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def close(self) -> None:
        self.http.close()


def serve_store(store: Path, **kwargs):
    """Context manager: a live server on the store; yields an ``Api``."""
    from contextlib import contextmanager

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread

    @contextmanager
    def run():
        app = create_app(store, token=TOKEN, **kwargs)
        with ServerThread(app) as url:
            api = Api(url)
            api.app = app
            try:
                yield api
            finally:
                api.close()

    return run()


@pytest.fixture(scope="session")
def mainnet_store(tmp_path_factory, btc_data) -> Path:
    return build_mainnet(tmp_path_factory.mktemp("api") / "mainnet", btc_data)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo case at a small scale (same code path as `chaintrail demo`)."""
    from chaintrail.api.demo_case import build_demo

    return build_demo(tmp_path_factory.mktemp("api") / "demo", seed=7, scale=2)


@pytest.fixture(scope="session")
def mainnet_api(mainnet_store):
    with serve_store(mainnet_store) as api:
        yield api


@pytest.fixture(scope="session")
def demo_api(demo):
    with serve_store(Path(demo.store), case_info=demo.case_info()) as api:
        yield api
