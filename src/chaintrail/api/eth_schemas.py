"""HTTP schemas of the Ethereum routes (/api/v1/eth/...).

Amounts are exact integers in the asset's base units (wei, or the token's smallest unit), written as decimal
strings because they exceed 64 bits; ``asset`` is ``ETH`` or the token contract's 0x address (``0xTOKEN#ID`` for
an ERC-721/1155 item in traces). Hashes and addresses are lower-case 0x hex.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaintrail.api.schemas import Tag

Amount = Field(description="Exact amount in base units, as a decimal string", pattern=r"^-?[0-9]+$")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class EthBalance(BaseModel):
    asset: str
    symbol: str | None
    decimals: int | None
    net_change: str = Field(description="Received minus sent over the store's blocks (its balance when the store "
                                        "starts at genesis)", pattern=r"^-?[0-9]+$")
    flows: int
    first_block: int | None
    last_block: int | None


class EthContract(BaseModel):
    block_number: int | None
    creator: str | None
    by_internal_call: bool
    code_size: int | None
    bytecode_hash: str | None
    is_erc20: bool
    is_erc721: bool
    is_erc1155: bool
    proxy_implementation: str | None


class EthToken(BaseModel):
    name: str | None
    symbol: str | None
    decimals: int | None


class EthDepositAddress(BaseModel):
    hot_wallet: str | None
    kind: str | None
    first_block: int | None
    n_customers: int | None
    evidence: str | None


class EthAccount(BaseModel):
    chain: str
    address: str
    first_block: int | None
    is_contract: bool
    contract: EthContract | None
    token: EthToken | None = Field(description="Set when the account is a token contract")
    deposit_address: EthDepositAddress | None = Field(description="Set when its forwarding pattern makes it an "
                                                                  "exchange deposit address (untagged)")
    cluster: int = Field(description="Entity id (analysis/eth_clusters.parquet; its own id before clustering)")
    cluster_size: int
    tags: list[Tag]
    balances: list[EthBalance]
    n_flows: int


class EthFlow(BaseModel):
    flow: int
    tx_hash: str | None = Field(description="Null for block rewards and withdrawals")
    block_number: int
    kind: str
    from_: str | None = Field(alias="from")
    to: str | None
    asset: str
    symbol: str | None
    amount: str = Amount
    token_id: str | None
    direction: str | None = Field(None, description="in | out | self, on an account's page")

    model_config = ConfigDict(populate_by_name=True)


class EthFlowPage(BaseModel):
    chain: str
    address: str
    total: int
    offset: int
    limit: int
    next_offset: int | None
    items: list[EthFlow]


class EthTokenTransfer(BaseModel):
    log_index: int | None
    batch_index: int | None
    standard: str
    token: str | None
    symbol: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    value: str = Amount
    token_id: str | None

    model_config = ConfigDict(populate_by_name=True)


class EthConversion(BaseModel):
    kind: str | None
    trader: str | None
    recipient: str | None
    asset_in: str
    symbol_in: str | None
    amount_in: str = Amount
    asset_out: str
    symbol_out: str | None
    amount_out: str = Amount
    rate: str | None = Field(description="amount_out / amount_in, as executed")
    venue: str | None
    hops: int | None
    evidence: str | None


class EthTransaction(BaseModel):
    chain: str
    hash: str
    block_number: int
    block_hash: str
    timestamp: int
    transaction_index: int
    nonce: int
    from_: str = Field(alias="from")
    to: str | None
    value: str = Amount
    gas: int
    gas_price: str | None
    transaction_type: int | None
    status: int | None
    gas_used: int | None
    effective_gas_price: str | None
    contract_created: str | None
    logs: int | None
    input_size: int | None
    selector: str | None
    flows: list[EthFlow]
    token_transfers: list[EthTokenTransfer]
    conversions: list[EthConversion]

    model_config = ConfigDict(populate_by_name=True)


class EthEndpoint(_Open):
    address: str | None
    asset: str
    amount: str = Amount
    kind: str
    hops: int | None
    tags: list[str]
    path: list[str]
    txs: list[str]


class EthGraphNode(_Open):
    id: str = Field(description="0xADDRESS for an account, c:TX:N for a conversion, chain:0xBRIDGE for the far "
                                "chain of a bridge not followed; a followed bridge's far chain's nodes are "
                                "CHAIN_ID:<id>")
    kind: str = Field(description="account | conversion | chain")
    chain_id: int | None = Field(None, description="The node's chain (traces across a bridge)")


class EthGraphEdge(_Open):
    source: str
    target: str
    asset: str
    kind: str = Field(description="flow | conversion_in | conversion_out | mixer_out | relayer_fee | note | "
                                  "below_threshold | lead | bridge (a followed crossing: one edge per crossing with "
                                  "its nonce, both events and the matching rule in evidence)")
    amount: str = Amount
    hops: int
    txs: list[str]
    n_txs: int


class EthTraceGraph(BaseModel):
    nodes: list[EthGraphNode]
    edges: list[EthGraphEdge]
    truncated: bool
    edges_total: int
    assets: dict[str, dict] = Field(description="Per asset: symbol and decimals (the far chain's tokens as "
                                                "CHAIN_ID:0xTOKEN)")
    chains: dict[str, int] | None = Field(None, description="Across a bridge: this chain's id (here) and the far "
                                                            "chain's (far)")


class EthBridgeStep(_Open):
    event: str = Field(description="Locked | Burned: the event the taint left this chain by")
    chain_id: int | None
    contract: str
    nonce: int
    asset: str
    amount: str = Amount
    tainted: str = Amount
    tx_hash: str
    block_hash: str
    log_index: int
    followed: bool = Field(description="Matched on the other chain's store and traced on there")
    to: dict | None = Field(None, description="followed: the receiving event (Minted | Released) on the other "
                                              "chain: chain id, tx and block hashes, log index, nonce, asset")


class EthOtherChain(_Open):
    chain: str
    chain_id: int
    totals: dict[str, dict[str, str]]
    endpoints: list[EthEndpoint] = Field(description="Every endpoint of the trace on the far chain")
    fiat: dict | None = Field(None, description="Far-chain endpoint fiat: a bridge's wrapped token at the series of "
                              "the asset it stands for on the traced chain, with the traced store's prices")
    requests: list[dict] | None = None
    bridges: list[EthBridgeStep] = Field([], description="Crossings back from the far chain")
    steps_total: int
    steps: list[dict] | None = None


class EthTraceResponse(BaseModel):
    chain: str
    source: dict
    model: str
    params: dict
    engine: str
    trace_hash: str = Field(description="SHA-256 of the canonical JSON of the full result (as `chaintrail trace "
                                        "--chain eth --json`)")
    totals: dict[str, dict[str, str]] = Field(description="Per asset: traced = to_endpoints + fees + unspent + "
                                                          "below_threshold + stopped + converted")
    stats: dict
    endpoints: list[EthEndpoint]
    endpoints_total: int
    offset: int
    limit: int
    next_offset: int | None
    steps_total: int
    steps: list[dict] | None = Field(None, description="Every tx that carried taint: block hash, rule, conversions")
    notes: list[str] = []
    requests: list[dict] | None = Field(None, description="until_exchange: per service, what arrived per asset, "
                                                          "the token contracts and the deposit addresses")
    demix: list[dict] = Field([], description="Per Tornado deposit that carried taint: the withdrawal a lead pairs "
                                              "it with, the lead (heuristic, precision, chance-match rate; a lead, "
                                              "not proof) and the true-flow estimate")
    graph: EthTraceGraph | None = Field(None, description="graph=true: the fund-flow graph")
    chain_id: int | None = Field(None, description="The traced store's chain id (across a bridge)")
    fiat: dict | None = Field(None, description="Endpoint fiat (each endpoint's ``fiat``: its asset's own series "
                              "at the UTC close of the day of the last tx that paid it): currency, rule, series used")
    bridges: list[EthBridgeStep] = Field([], description="Every bridge leg that carried taint off this chain, "
                                                         "with its event as evidence")
    other_chain: EthOtherChain | None = Field(None, description="Served with --other-store: the trace's "
                                              "continuation on the bridge's far chain (as the CLI's other_chain)")


class EthScreenResult(_Open):
    subject: str
    chain: str
    in_store: bool
    cluster: int | None
    as_of: str
    risk: dict
    tags: list[dict]
    exposures: list[dict]
    holdings: dict[str, str]
    freeze: list[dict] = Field(description="Tokens the subject holds or received whose issuer can freeze them")
    sanction_lists: list[dict] = Field(description="Which sanctions list and date the screen used")
    params: dict
    fiat: dict | None = Field(None, description="Each exposure's ``fiat`` (its asset's own series, every part at the "
                              "UTC close of the day it moved): the currency, the day convention and the series used; "
                              "null without prices in the store")


class TornadoPool(BaseModel):
    pool: str
    asset: str
    denomination: str = Amount
    deposits: int
    withdrawals: int


class TornadoLead(_Open):
    deposit_tx: str | None
    withdrawal_tx: str | None
    pool: str | None
    depositor: str | None
    recipient: str | None
    heuristic: str
    score: float | None
    precision: float | None = Field(description="The heuristic's measured precision (null: not measured)")
    chance_match_rate: float | None = Field(description="Share of random non-linked pairs the heuristic also "
                                                        "matches (placebo)")
    expected_chance_matches: float | None
    evidence: str | None
    measured_on: str | None


class TornadoLeads(BaseModel):
    chain: str
    pools: list[TornadoPool]
    leads: list[TornadoLead]
    note: str = Field(description="A lead is not proof that the withdrawal is the depositor's")


class EthExplainLink(_Open):
    from_: str = Field(alias="from")
    to: str
    heuristic: str
    detail: str | None
    block: int | None
    tx: str | None


class EthExplain(BaseModel):
    from_: str = Field(alias="from")
    to: str
    links: list[EthExplainLink]

    model_config = ConfigDict(populate_by_name=True)
