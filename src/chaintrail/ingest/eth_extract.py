"""What a batch of Ethereum blocks holds beyond its rows: the node's answers per block, the contracts it creates,
its token events, and the token contracts it meets first. The job uses these to ask the node for what the
blocks do not say (code, proxy slots, token metadata) before the mapper builds the batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaintrail.chains.ethereum import contracts as ct
from chaintrail.chains.ethereum.token_events import token_transfers
from chaintrail.errors import DecodeError


def _b(h: str | None) -> bytes | None:
    return None if h is None else bytes.fromhex(h[2:])


@dataclass
class RawBlock:
    """One block as the node gave it: the block with full transactions, its receipts, its trace rows."""

    block: dict
    receipts: list[dict]
    traces: dict[str, list] | None      # chains.ethereum.traces columns; None when the node has no tracer
    transfers: dict[int, list[tuple]] | None = None   # token events per tx index (decoded once)
    skipped_logs: int = 0


@dataclass
class NewContract:
    address: str
    block_number: int
    tx_index: int
    creator: str | None
    by_internal_call: bool
    code: str | None                    # deployed code from the creating trace, if any


@dataclass
class Extras:
    """What the job fetched for a batch beyond blocks, receipts and traces."""

    codes: dict[str, str] = field(default_factory=dict)                 # address -> deployed code (hex)
    implementations: dict[str, str | None] = field(default_factory=dict)  # address -> EIP-1967 implementation
    tokens: dict[str, dict] = field(default_factory=dict)              # address -> name/symbol/decimals/total_supply


# One token event as the mapper reads it.
TRANSFER_FIELDS = ("standard", "token_address", "from_address", "to_address", "value", "token_id", "log_index",
                   "batch_index")


def decoded_transfers(raw: RawBlock, erc721: set[str] = frozenset()) -> dict[int, list[tuple]]:
    """Token events of each successful transaction of a block (tuples of ``TRANSFER_FIELDS``) by transaction
    index, decoded once (one pass over the block's logs) and kept on the block."""
    if raw.transfers is None:
        txs = raw.block.get("transactions") or []
        logs = [lg for rc in raw.receipts if rc.get("logs") and rc.get("status") != "0x0" for lg in rc["logs"]]
        skipped: list = []
        rows = token_transfers(logs, erc721_tokens=erc721, skipped=skipped)
        raw.skipped_logs = len(skipped)
        raw.transfers = {}
        if rows["standard"]:
            index_of = {tx["hash"]: int(tx["transactionIndex"], 16) for tx in txs}
            for h, row in zip(rows["transaction_hash"], zip(*(rows[f] for f in TRANSFER_FIELDS))):
                ti = index_of.get(h)
                if ti is None:
                    raise DecodeError(f"a log names tx {h}, which is not in the block",
                                      source=f"block {int(raw.block['number'], 16)}")
                raw.transfers.setdefault(ti, []).append(row)
    return raw.transfers


def token_candidates(raws: list[RawBlock], extras: "Extras", tokens: set[str], erc721: set[str]) -> dict[int, list[str]]:
    """Token contracts first met in the batch, by the block they are first met in: those moved in a token
    event, and new contracts that look like ERC-20/721/1155. Decodes the batch's token events on the way."""
    out: dict[int, list[str]] = {}
    seen = set(tokens)
    erc721 = set(erc721)
    created: dict[int, list[NewContract]] = {}
    for c in new_contracts(raws):
        created.setdefault(c.block_number, []).append(c)
    for raw in raws:
        number = int(raw.block["number"], 16)
        found: list[str] = []
        for c in created.get(number, ()):
            code = c.code if c.code not in (None, "0x") else extras.codes.get(c.address)
            sels = ct.function_selectors(_b(code) if code else b"")
            if ct.is_erc20(sels) or ct.is_erc721(sels) or ct.is_erc1155(sels):
                found.append(c.address)
            if ct.is_erc721(sels):
                erc721.add(c.address)
        for rows in decoded_transfers(raw, erc721).values():
            found.extend(row[1] for row in rows)
        for a in found:
            if a not in seen:
                seen.add(a)
                out.setdefault(number, []).append(a)
    return out


def new_contracts(raws: list[RawBlock]) -> list[NewContract]:
    """Contracts the batch creates: successful create frames, else (no traces) receipts' contractAddress."""
    out: list[NewContract] = []
    for raw in raws:
        number = int(raw.block["number"], 16)
        if raw.traces is not None:
            t = raw.traces
            for k in range(len(t["trace_type"])):
                if t["trace_type"][k] == "create" and t["status"][k] == 1 and t["to_address"][k]:
                    out.append(NewContract(t["to_address"][k], number, t["transaction_index"][k],
                                           t["from_address"][k], bool(t["trace_address"][k]), t["output"][k]))
        else:
            for tx, rc in zip(raw.block["transactions"], raw.receipts):
                if rc.get("contractAddress") and rc.get("status", "0x1") == "0x1":
                    out.append(NewContract(rc["contractAddress"].lower(), number, int(tx["transactionIndex"], 16),
                                           tx["from"].lower(), False, None))
    return out
