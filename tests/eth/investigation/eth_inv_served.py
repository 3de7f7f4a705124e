"""A generated Ethereum scenario store prepared as an investigator would (service tags imported, conversions,
deposit addresses and entities built) and served by the workbench API; shared by the API and case-file tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from eth_inv_stores import scenario_store

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
TOKEN = "eth-api-test-token-0123456789"


def cli(*args: str, ok: int = 0):
    r = subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == ok, r.stderr
    return json.loads(r.stdout) if r.stdout.strip() else None


def prepared_store(tmp_path_factory, seed: int = 11) -> tuple[Path, dict]:
    """A private copy of the session's scenario store (its analysis files are this module's), prepared."""
    from chaintrail.analysis.eth.conversions import write_conversions
    from chaintrail.analysis.eth.deposits import write_deposit_addresses
    from chaintrail.scenario.eth.service_tags import write_service_tags
    from chaintrail.store.chainstore import ChainStore

    src, scenario, key = scenario_store(tmp_path_factory, seed)
    root = tmp_path_factory.mktemp("eth-api")
    store = root / "store"
    shutil.copytree(src, store)
    write_service_tags(scenario, root / "services.csv")
    cli("tags", "import", str(root / "services.csv"), "--store", str(store))
    with ChainStore(store) as st:
        write_conversions(st)
        write_deposit_addresses(st)
    cli("cluster", "--chain", "eth", "--store", str(store))
    return store, key


class Api:
    def __init__(self, url: str, token: str = TOKEN):
        self.url = url
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120)

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get("/api/v1" + path, params=params)

    def ok(self, path: str, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()


def serve(store: Path):
    """Context manager: a live server on ``store``; yields an ``Api``."""
    from contextlib import contextmanager

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread

    @contextmanager
    def run():
        app = create_app(store, token=TOKEN)
        with ServerThread(app) as url:
            api = Api(url)
            try:
                yield api
            finally:
                api.http.close()

    return run()
