"""Where an Ethereum trace stops: tagged services and exchange deposit addresses, per address."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq

from chaintrail.analysis.eth import trace_kernel as K
from chaintrail.analysis.eth.flowgraph import FlowGraph
from pathlib import Path

DEPOSITS_FILE = "eth_deposit_addresses.parquet"
BRIDGE_CATEGORIES = ("defi_bridge", "bridge")
MIXER_CATEGORIES = ("mixer", "mixing_service")


def hex_of(v) -> str | None:
    """A 0x address from the bytes or string a Parquet column holds."""
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    s = str(v).lower()
    return s if s.startswith("0x") else "0x" + s


@dataclass
class Stops:
    kind: np.ndarray                              # addr_num -> account status it ends in (0: none)
    tags: dict[int, list[str]] = field(default_factory=dict)      # addr_num -> "category:label"
    service: dict[int, str] = field(default_factory=dict)         # addr_num -> the service it belongs to
    evidence: dict[int, str] = field(default_factory=dict)        # addr_num -> why it stops the trace


def load_stops(root: Path, g: FlowGraph, categories: tuple[str, ...], mixer_policy: str,
               deposit_stops: str = "tagged") -> Stops:
    """Stops from the tag store (categories as Bitcoin's, bridges always, mixers by policy) and the deposit
    addresses ``analysis/eth_deposit_addresses.parquet`` names (attributed to their hot wallet's service).

    ``deposit_stops``: ``tagged`` stops at a deposit address only when its hot wallet is a tagged service the
    trace stops at (the pattern alone also fits a criminal's own collection addresses swept to one
    consolidation address, which must be followed); ``all`` stops at every one found."""
    from chaintrail.tags import taxonomy as tx
    from chaintrail.tags.tagstore import TagStore

    st = Stops(np.zeros(max(g.n_addr, 1), np.uint8))
    index = {bytes(k): i for i, k in enumerate(g.addr_key)}
    want = {tx.normalize_category(c) or c for c in categories} - set(MIXER_CATEGORIES)
    ts = TagStore(root)
    if len(ts):
        t = ts.tags.select(["address", "label", "category", "risk_categories"]).to_pylist()
        for r in t:
            a = r["address"] or ""
            if not a.startswith("0x") or len(a) != 42:
                continue
            n = index.get(bytes.fromhex(a[2:]))
            if n is None:
                continue
            cat = r["category"] or ""
            cats = {cat, tx.normalize_category(cat) or cat, *(r["risk_categories"] or [])}
            st.tags.setdefault(n, []).append(f"{cat}:{r['label']}")
            st.service.setdefault(n, r["label"] or a)
            if cats & set(BRIDGE_CATEGORIES):
                st.kind[n], st.evidence[n] = K.STOP_BRIDGE, f"tag {cat}:{r['label']} (bridge: not followed across)"
            elif cats & want and st.kind[n] == 0:
                st.kind[n], st.evidence[n] = K.STOP_SERVICE, f"tag {cat}:{r['label']}"
            elif cats & set(MIXER_CATEGORIES) and mixer_policy == "stop" and st.kind[n] == 0:
                st.kind[n], st.evidence[n] = K.STOP_MIXER, f"tag {cat}:{r['label']} (mixer policy stop)"
    path = Path(root) / "analysis" / DEPOSITS_FILE
    if path.exists():
        for r in pq.read_table(path).to_pylist():
            a, hot = hex_of(r["address"]), hex_of(r.get("hot_wallet"))
            n = index.get(bytes.fromhex(a[2:]))
            if n is None or st.kind[n] == K.STOP_SERVICE:
                continue
            h = index.get(bytes.fromhex(hot[2:])) if hot else None
            if deposit_stops == "tagged" and (h is None or st.kind[h] != K.STOP_SERVICE):
                continue
            st.kind[n] = K.STOP_DEPOSIT
            st.service[n] = st.service.get(h, hot or "unknown exchange") if h is not None else (hot or "unknown")
            st.evidence[n] = f"deposit address ({r.get('kind')}) of hot wallet {hot}: {r.get('evidence')}"
    return st
