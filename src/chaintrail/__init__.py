"""chaintrail: an open-source workbench for investigating crypto-enabled crime.

Notebook use::

    import chaintrail as ct
    with ct.BtcIngest("store") as job:
        job.ingest_blocks_dir("~/.bitcoin/blocks")
    store = ct.ChainStore("store")
    ct.sql(store, "SELECT * FROM txs LIMIT 5").to_pandas()
    ct.TraceEngine.open(store).trace("TXID:0", ct.TraceParams(model="haircut", max_hops=6)).endpoints
"""

from chaintrail.analysis.clustering import ClusterParams, cluster_labels, update_clusters
from chaintrail.analysis.explain import explain
from chaintrail.analysis.scenario_eval import evaluate_scenario
from chaintrail.analysis.screening import Screener, ScreenParams
from chaintrail.analysis.tracing import TraceEngine, TraceParams, TraceResult
from chaintrail.chains.bitcoin.address import address_to_script, script_address
from chaintrail.chains.bitcoin.network import MAINNET, REGTEST, SIGNET, TESTNET, Network
from chaintrail.chains.bitcoin.script_types import ScriptType
from chaintrail.errors import (
    AddressError,
    ChaintrailError,
    DecodeError,
    SourceError,
    StoreError,
    UsageError,
    ValidationError,
)
from chaintrail.ingest.btc_job import BtcIngest, IngestReport
from chaintrail.store.chainstore import ChainStore
from chaintrail.scenario.generator import generate as generate_scenario
from chaintrail.store.sql import query as sql
from chaintrail.tags import TagStore

__version__ = "0.1.0"

__all__ = [
    "AddressError",
    "BtcIngest",
    "ChainStore",
    "ChaintrailError",
    "ClusterParams",
    "ScreenParams",
    "Screener",
    "TagStore",
    "TraceEngine",
    "TraceParams",
    "TraceResult",
    "cluster_labels",
    "evaluate_scenario",
    "explain",
    "generate_scenario",
    "update_clusters",
    "DecodeError",
    "IngestReport",
    "MAINNET",
    "Network",
    "REGTEST",
    "SIGNET",
    "ScriptType",
    "SourceError",
    "StoreError",
    "TESTNET",
    "UsageError",
    "ValidationError",
    "__version__",
    "address_to_script",
    "script_address",
    "sql",
]
