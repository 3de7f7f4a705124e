"""Attribution tags: GraphSense TagPacks and ActorPacks, OFAC SDN lists, CSV and hand-added tags.

    ts = TagStore("store")                      # tags live beside the chain store
    ts.import_paths(["../shared/data/tags"])    # files or folders; errors name file:line
    ts.add_tag("bc1q...", "Seized wallet", category="darknet market", case="C-7")
    ts.lookup("bc1q...")                        # constant-time, any spelling of the address

``propagation.Attribution`` lays the tags over a chain store's clusters;
``analysis.screening.Screener`` screens addresses and transactions with them.
"""

from chaintrail.tags.model import Actor, Tag
from chaintrail.tags.tagstore import ImportReport, TagStore

__all__ = ["Actor", "ImportReport", "Tag", "TagStore"]
