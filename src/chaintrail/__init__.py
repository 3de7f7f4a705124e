"""chaintrail: an open-source workbench for investigating crypto-enabled crime.

Notebook use::

    import chaintrail as ct
    with ct.BtcIngest("store") as job:
        job.ingest_blocks_dir("~/.bitcoin/blocks")
    store = ct.ChainStore("store")
    ct.sql(store, "SELECT * FROM txs LIMIT 5").to_pandas()
"""

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
from chaintrail.store.sql import query as sql

__version__ = "0.1.0"

__all__ = [
    "AddressError",
    "BtcIngest",
    "ChainStore",
    "ChaintrailError",
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
