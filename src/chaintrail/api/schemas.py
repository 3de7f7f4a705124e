"""HTTP schemas of the REST API (what the OpenAPI document promises and the tests hold it to).

Amounts are integer satoshis (``*_sat``); times are unix seconds; heights are
null where a block's height cannot be known. Pages carry ``total``,
``offset``, ``limit`` and ``next_offset`` (null on the last page).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="One sentence saying what was wrong")
    detail: Any | None = None


class Tag(BaseModel):
    address: str | None
    label: str | None
    kind: str
    category: str | None = None
    abuse: str | None = None
    risk_categories: list[str] = []
    actor: str | None = None
    source: str | None = None
    confidence: str | None = None
    confidence_level: int | None = None
    is_cluster_definer: bool = False
    provenance: str
    via: str = Field("address", description="address: its own tag; cluster: a definer tag of its entity")
    conflict: bool = False


class TxRef(BaseModel):
    txid: str
    height: int | None
    time: int
    block_hash: str


class AddressSummary(BaseModel):
    address: str
    script_type: str
    cluster: int = Field(description="Entity id (the smallest address id of the entity)")
    cluster_size: int
    large_entity: bool = Field(description="The entity is too big to draw; page its members instead")
    received_sat: int
    sent_sat: int
    balance_sat: int
    n_outputs: int
    n_inputs: int
    n_txs: int
    first_seen: TxRef | None
    last_seen: TxRef | None
    label: str | None
    risk: list[str]
    tags: list[Tag] = Field(description="The first 50 tags that apply (own, then the entity's definer tags)")
    tags_total: int
    fiat: dict | None = Field(None, description="Fiat (store prices): received and sent, each part at the UTC close of its "
                              "tx's day, and the balance at the store's last day; the reporting currency where asked; "
                              "null without prices")


class AddressTx(BaseModel):
    txid: str
    height: int | None
    time: int
    received_sat: int = Field(description="Paid to this address in this tx")
    sent_sat: int = Field(description="Spent from this address in this tx")
    fee_sat: int | None
    pattern: str | None
    fiat: dict | None = Field(None, description="day, BTC close (price_usd), received_usd and sent_usd at that "
                              "UTC close; absent without prices")


class AddressTxPage(BaseModel):
    address: str
    items: list[AddressTx]
    total: int
    offset: int
    limit: int
    next_offset: int | None


class TxInput(BaseModel):
    vin: int
    address: str | None
    value_sat: int | None
    prev_txid: str | None
    prev_vout: int | None
    cluster: int | None
    risk: list[str]


class TxOutput(BaseModel):
    vout: int
    address: str | None
    value_sat: int
    spent_by: str | None = Field(description="txid:vin of the input that spends it, if in the store")
    cluster: int | None
    risk: list[str]


class Transaction(BaseModel):
    txid: str
    height: int | None
    time: int
    block_hash: str
    is_coinbase: bool
    pattern: str | None = Field(description="CoinJoin / mixer / consolidation / batch label, if any")
    mixing: bool
    fee_sat: int | None
    vsize: int
    n_inputs: int
    n_outputs: int
    input_sat: int | None
    output_sat: int
    inputs: list[TxInput]
    outputs: list[TxOutput]
    offset: int
    limit: int


class Entity(BaseModel):
    id: int
    size: int
    name: str | None
    large: bool
    received_sat: int
    sent_sat: int
    balance_sat: int = Field(description="Unspent outputs of its addresses")
    risk: list[str]
    tagged_members: int
    tags: list[Tag]
    root_address: str | None
    fiat: dict | None = Field(None, description="Fiat (store prices): received and sent, each part at the UTC close of its "
                              "tx's day, and the balance at the store's last day; the reporting currency where asked; "
                              "null without prices")


class EntityMember(BaseModel):
    address: str
    received_sat: int
    sent_sat: int
    risk: list[str]
    tagged: bool
    fiat: dict | None = Field(None, description="received_usd and sent_usd: each output and input valued at the UTC "
                              "close of its tx's day (None where a day has no price); absent without prices")


class EntityMemberPage(BaseModel):
    entity: int
    order: str
    items: list[EntityMember]
    total: int
    offset: int
    limit: int
    next_offset: int | None


class GraphNode(BaseModel):
    id: str
    kind: str = Field(description="address | tx | entity | output | coinbase | more")
    label: str | None = None
    address: str | None = None
    txid: str | None = None
    cluster: int | None = None
    cluster_size: int | None = None
    large_entity: bool | None = None
    risk: list[str] = []
    tags: list[str] = []
    amount_sat: int | None = None
    received_sat: int | None = None
    sent_sat: int | None = None
    time: int | None = None
    height: int | None = None
    fee_sat: int | None = None
    pattern: str | None = None
    mixing: bool | None = None
    coinbase: bool | None = None
    n_inputs: int | None = None
    n_outputs: int | None = None
    more: int | None = None
    role: str | None = None
    endpoint: dict | None = None


class GraphEdge(BaseModel):
    id: str
    source: str
    target: str
    amount_sat: int
    kind: str = Field(description="spend (address->tx) | pay (tx->address) | mint | member | flow (trace)")


class Graph(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    total: int
    offset: int
    limit: int
    truncated: bool
    note: str | None = None


class Endpoint(BaseModel):
    address: str | None
    cluster: int | None
    tags: list[str]
    amount_sat: int
    hops: int
    path: list[str]
    kind: str
    outputs: list[str]
    risk: list[str] = []
    label: str | None = None
    fiat: dict | None = Field(None, description="USD value on each output's UTC day (store prices): usd, days, "
                              "prices_usd; the reporting currency where asked; missing names a day without a price")


class TraceResponse(BaseModel):
    source: dict
    model: str
    params: dict
    engine: str
    trace_hash: str = Field(description="SHA-256 of the canonical JSON of the full result (as `chaintrail trace --json`)")
    totals: dict
    endpoints: list[Endpoint]
    endpoints_total: int
    offset: int
    limit: int
    next_offset: int | None
    steps_total: int
    step_rules: dict[str, int] = Field(default_factory=dict, description="How many steps each rule split the taint by "
                                       "(model, and what it rested on where not the trace's own model)")
    steps: list[dict] | None = None
    fiat: dict | None = Field(None, description="The fiat valuation: reporting currency, day convention (UTC close) "
                              "and every price series used (source, licence, file, sha256); null without prices")
    graph: Graph | None = None


class SearchHit(BaseModel):
    kind: str = Field(description="address | transaction | entity | tag")
    id: str = Field(description="What to open: the address, txid or entity id")
    label: str
    detail: str | None = None
    risk: list[str] = []


class SearchResults(BaseModel):
    query: str
    items: list[SearchHit]


class ReasonPart(BaseModel):
    template: str = Field(description="Template id: the web catalog's reason.<id>, analysis.risk_words.TEMPLATES")
    values: dict = Field(description="The template's values, raw (sats, fractions, category keys, address lists)")


class RiskReason(BaseModel):
    level: str
    category: str | None
    text: str = Field(description="The reason in English (fixed wording, for scripts)")
    parts: list[ReasonPart] = Field(default_factory=list,
                                    description="The same reason as templates and values, to show it in the "
                                                "reader's language (absent where only English exists)")


class RiskLevel(BaseModel):
    level: str = Field(description="low | medium | high | severe")
    reasons: list[RiskReason]


class ScreenResult(BaseModel):
    """As ``chaintrail screen --json`` (analysis.screening.ScreenResult.to_dict)."""

    subject: str
    kind: str = Field(description="address | transaction")
    in_store: bool
    cluster: int | None
    risk: RiskLevel
    tags: list[dict]
    exposures: list[dict] = Field(description="Per category and direction (self, incoming, outgoing): amount_sat, "
                                              "share, direct/indirect sats, hops, path, tags; fiat: each part "
                                              "valued at the UTC close of the day it reached (or, incoming, left) "
                                              "the tagged address (usd, the reporting currency, days, missing)")
    totals: dict
    conflicts: list[str]
    params: dict


class TagList(BaseModel):
    address: str
    in_store: bool
    items: list[Tag]


class TagSearch(BaseModel):
    query: str
    items: list[Tag]


class NewTag(BaseModel):
    address: str = Field(min_length=1, max_length=128)
    label: str = Field(min_length=1, max_length=200)
    category: str | None = Field(None, max_length=64, description="GraphSense concept or screening category")
    source: str | None = Field(None, max_length=500)
    confidence: str | None = Field(None, max_length=64)
    is_cluster_definer: bool = False
    case: str | None = Field(None, max_length=128)
    context: str | None = Field(None, max_length=2000)


class Meta(BaseModel):
    version: str
    network: str | None
    counts: dict[str, int]
    tags: int
    features: dict[str, bool]
    limits: dict[str, int]
    case: dict | None = Field(None, description="The demo's case and its guided steps, when serving the demo")
