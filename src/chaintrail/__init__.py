"""chaintrail: an open-source workbench for investigating crypto-enabled crime.

Notebook use::

    import chaintrail as ct
    with ct.BtcIngest("store") as job:
        job.ingest_blocks_dir("~/.bitcoin/blocks")
    store = ct.ChainStore("store")
    ct.sql(store, "SELECT * FROM txs LIMIT 5").to_pandas()
    ct.TraceEngine.open(store).trace("TXID:0", ct.TraceParams(model="haircut", max_hops=6)).endpoints
"""

# Names load on first use (PEP 562): a CLI command or `import chaintrail` then pays only for what it
# uses (importing everything took ~1 s: numba, the scenario generator, screening).
_LAZY = {
    "ClusterParams": ("chaintrail.analysis.clustering", "ClusterParams"),
    "cluster_labels": ("chaintrail.analysis.clustering", "cluster_labels"),
    "update_clusters": ("chaintrail.analysis.clustering", "update_clusters"),
    "explain": ("chaintrail.analysis.explain", "explain"),
    "evaluate_scenario": ("chaintrail.analysis.scenario_eval", "evaluate_scenario"),
    "Screener": ("chaintrail.analysis.screening", "Screener"),
    "ScreenParams": ("chaintrail.analysis.screening", "ScreenParams"),
    "TraceEngine": ("chaintrail.analysis.tracing", "TraceEngine"),
    "TraceParams": ("chaintrail.analysis.tracing", "TraceParams"),
    "TraceResult": ("chaintrail.analysis.tracing", "TraceResult"),
    "address_to_script": ("chaintrail.chains.bitcoin.address", "address_to_script"),
    "script_address": ("chaintrail.chains.bitcoin.address", "script_address"),
    "MAINNET": ("chaintrail.chains.bitcoin.network", "MAINNET"),
    "REGTEST": ("chaintrail.chains.bitcoin.network", "REGTEST"),
    "SIGNET": ("chaintrail.chains.bitcoin.network", "SIGNET"),
    "TESTNET": ("chaintrail.chains.bitcoin.network", "TESTNET"),
    "Network": ("chaintrail.chains.bitcoin.network", "Network"),
    "ScriptType": ("chaintrail.chains.bitcoin.script_types", "ScriptType"),
    "AddressError": ("chaintrail.errors", "AddressError"),
    "ChaintrailError": ("chaintrail.errors", "ChaintrailError"),
    "DecodeError": ("chaintrail.errors", "DecodeError"),
    "SourceError": ("chaintrail.errors", "SourceError"),
    "StoreError": ("chaintrail.errors", "StoreError"),
    "UsageError": ("chaintrail.errors", "UsageError"),
    "ValidationError": ("chaintrail.errors", "ValidationError"),
    "BtcIngest": ("chaintrail.ingest.btc_job", "BtcIngest"),
    "IngestReport": ("chaintrail.ingest.btc_job", "IngestReport"),
    "ChainStore": ("chaintrail.store.chainstore", "ChainStore"),
    "generate_scenario": ("chaintrail.scenario.generator", "generate"),
    "sql": ("chaintrail.store.sql", "query"),
    "TagStore": ("chaintrail.tags", "TagStore"),
}


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


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'chaintrail' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
