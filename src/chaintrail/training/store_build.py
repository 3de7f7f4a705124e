"""The chain store trainees open in the workbench: a set's scenario ingested, clustered and tagged.

The same library calls as ``chaintrail ingest btc``, ``chaintrail cluster`` and
``chaintrail tags import``; the tags are the scenario's partial service
attribution (``scenario.attribution``), what an investigator would have, never
the answer key.
"""

from __future__ import annotations

from pathlib import Path


def build_store(scenario: Path, store: Path) -> None:
    """Ingest ``scenario``'s blocks into ``store``, label and cluster, import the scenario's service tags."""
    from chaintrail.analysis.clustering import update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.analysis.tx_labels import label_transactions
    from chaintrail.chains.bitcoin.network import REGTEST
    from chaintrail.errors import UsageError
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.scenario.attribution import write_service_tags
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.tagstore import TagStore

    with BtcIngest(store, network=REGTEST) as job:
        job.ingest_blocks_dir(scenario)
    with ChainStore(store, writable=True) as st:
        label_transactions(st)
        update_clusters(st, mixer_tx_mask(st))
    tags = store.parent / "scenario-services.csv"
    write_service_tags(scenario, tags)
    report = TagStore(store).import_paths([tags])
    if report.errors:
        raise UsageError("service tags did not import: " + "; ".join(report.errors))
