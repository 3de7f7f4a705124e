"""Receipt logs -> token transfer rows: ERC-20, ERC-721, ERC-1155 single and batch, WETH9 wrap/unwrap.

The standard is told by the event and its layout, as a decoder that reads only logs can:
- ``Transfer(address,address,uint256)`` with 3 topics and one data word: "erc20", value = the word;
- the same with 4 topics and no data: "erc721", token_id = topic 3 and value = 1 (ethereum-etl reports
  these as token transfers with value = tokenId);
- the same with its fields in data (1 topic + 3 words, 2 topics + 2 words), as early tokens and
  CryptoKitties emit it: "erc20", or "erc721" when the caller names the contract in ``erc721_tokens``
  (contract detection tells them apart, the log cannot);
- ``TransferSingle`` / ``TransferBatch``: "erc1155", one row per id, ``batch_index`` its position;
- ``Deposit(address indexed dst, uint wad)``: "wrap" from the token contract to dst, and
  ``Withdrawal(address indexed src, uint wad)``: "unwrap" from src to the token contract. Any contract may
  emit these, so they are candidates; the ingest mapper confirms them against the ETH that moved.
A log with one of these topics but another layout (topic count, data length, ABI offsets, dirty address
words) is skipped and reported in ``skipped``, not raised: contracts emit what they like. Bad hex in the
node's answer is the node's fault and raises ``DecodeError`` naming block, tx and log index.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from typing import NamedTuple

from chaintrail.chains.ethereum.hexutil import address, hex_bytes, hex_data, hex_int, opt_hex_int
from chaintrail.errors import DecodeError

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRANSFER_SINGLE_TOPIC = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62"
TRANSFER_BATCH_TOPIC = "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb"
DEPOSIT_TOPIC = "0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c"
WITHDRAWAL_TOPIC = "0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65"
_TOPICS = {TRANSFER_TOPIC, TRANSFER_SINGLE_TOPIC, TRANSFER_BATCH_TOPIC, DEPOSIT_TOPIC, WITHDRAWAL_TOPIC}

TRANSFER_COLUMNS = ("token_address", "from_address", "to_address", "value", "token_id", "standard",
                    "transaction_hash", "transaction_index", "log_index", "batch_index", "block_number")


class SkippedLog(NamedTuple):
    """A log with a token event's topic that does not have that event's layout."""

    block_number: int | None
    transaction_hash: str | None
    log_index: int | None
    reason: str

    def __str__(self) -> str:
        return f"block {self.block_number} tx {self.transaction_hash} log {self.log_index}: {self.reason}"


class _Skip(Exception):
    pass


def receipt_logs(receipts: Iterable[dict]) -> Iterator[dict]:
    """The logs of eth_getTransactionReceipt / eth_getBlockReceipts answers, in order."""
    for receipt in receipts:
        logs = receipt.get("logs") if isinstance(receipt, dict) else None
        if not isinstance(logs, list):
            raise DecodeError("receipt without a logs list", source=f"receipt of tx {_tx_of(receipt)}")
        yield from logs


def _tx_of(obj: object) -> object:
    return obj.get("transactionHash") if isinstance(obj, dict) else None


def _words(data: bytes) -> list[bytes]:
    if len(data) % 32:
        raise _Skip(f"data of {len(data)} bytes is not whole 32-byte words")
    return [data[i:i + 32] for i in range(0, len(data), 32)]


def _addr(word: bytes) -> str:
    if any(word[:12]):
        raise _Skip("an address word has non-zero high bytes")
    return "0x" + word[12:].hex()


def _uint(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _uint_array(data: bytes, offset_word: bytes) -> list[int]:
    offset = _uint(offset_word)
    if offset % 32 or offset + 32 > len(data):
        raise _Skip(f"array offset {offset} outside {len(data)} bytes of data")
    count = _uint(data[offset:offset + 32])
    end = offset + 32 + 32 * count
    if end > len(data):
        raise _Skip(f"array of {count} items runs past {len(data)} bytes of data")
    return [_uint(data[i:i + 32]) for i in range(offset + 32, end, 32)]


def _decode(token: str, topics: list[bytes], data: bytes, erc721_tokens: Container[str]) -> list[tuple]:
    """(from, to, value, token_id, standard) rows of one log whose topic0 is ours."""
    sig = "0x" + topics[0].hex()
    if sig == TRANSFER_TOPIC:
        fields = topics[1:] + _words(data)
        if len(fields) != 3:
            raise _Skip(f"Transfer with {len(topics)} topics and {len(data)} bytes of data")
        frm, to, amount = _addr(fields[0]), _addr(fields[1]), _uint(fields[2])
        if len(topics) == 4 or token in erc721_tokens:
            return [(frm, to, 1, amount, "erc721")]
        return [(frm, to, amount, None, "erc20")]
    if sig == TRANSFER_SINGLE_TOPIC:
        words = _words(data)
        if len(topics) != 4 or len(words) != 2:
            raise _Skip(f"TransferSingle with {len(topics)} topics and {len(data)} bytes of data")
        _addr(topics[1])  # the operator: checked, not kept
        return [(_addr(topics[2]), _addr(topics[3]), _uint(words[1]), _uint(words[0]), "erc1155")]
    if sig == TRANSFER_BATCH_TOPIC:
        words = _words(data)
        if len(topics) != 4 or len(words) < 4:
            raise _Skip(f"TransferBatch with {len(topics)} topics and {len(data)} bytes of data")
        _addr(topics[1])
        frm, to = _addr(topics[2]), _addr(topics[3])
        ids, values = _uint_array(data, words[0]), _uint_array(data, words[1])
        if len(ids) != len(values):
            raise _Skip(f"TransferBatch with {len(ids)} ids and {len(values)} values")
        return [(frm, to, v, i, "erc1155") for i, v in zip(ids, values)]
    # Deposit / Withdrawal (WETH9)
    words = _words(data)
    if len(topics) != 2 or len(words) != 1:
        name = "Deposit" if sig == DEPOSIT_TOPIC else "Withdrawal"
        raise _Skip(f"{name} with {len(topics)} topics and {len(data)} bytes of data")
    who, amount = _addr(topics[1]), _uint(words[0])
    if sig == DEPOSIT_TOPIC:
        return [(token, who, amount, None, "wrap")]
    return [(who, token, amount, None, "unwrap")]


def token_transfers(logs: Iterable[dict], *, erc721_tokens: Container[str] = (),
                    skipped: list[SkippedLog] | None = None) -> dict[str, list]:
    """Token transfer rows of node log objects (eth_getLogs / receipt ``logs``), in log order.

    Logs of other events are passed over; logs with ``removed: true`` and token events of the wrong layout
    are appended to ``skipped`` (when given) with the reason.
    """
    cols: dict[str, list] = {name: [] for name in TRANSFER_COLUMNS}
    out = [cols[name] for name in TRANSFER_COLUMNS]
    for log in logs:
        if not isinstance(log, dict):
            raise DecodeError("log is not a JSON object")
        topics = log.get("topics")
        if not isinstance(topics, list) or not topics:
            continue  # anonymous events have no topic0
        t0 = topics[0]
        if not isinstance(t0, str) or t0.lower() not in _TOPICS:
            continue
        try:
            block = opt_hex_int(log.get("blockNumber"), "blockNumber")
            tx_hash = log.get("transactionHash")
            tx_hash = None if tx_hash is None else hex_data(tx_hash, "transactionHash")
            tx_index = opt_hex_int(log.get("transactionIndex"), "transactionIndex")
            log_index = hex_int(log.get("logIndex"), "logIndex")
            token = address(log.get("address"), "address")
            raw_topics = [hex_bytes(t, f"topics[{i}]") for i, t in enumerate(topics)]
            if any(len(t) != 32 for t in raw_topics):
                raise DecodeError("topics: a topic is not 32 bytes")
            data = hex_bytes(log.get("data"), "data")
        except DecodeError as err:
            raise err.at(f"block {log.get('blockNumber')} tx {log.get('transactionHash')} "
                         f"log {log.get('logIndex')}") from None
        try:
            if log.get("removed") is True:
                raise _Skip("removed: the log's block left the chain")
            rows = _decode(token, raw_topics, data, erc721_tokens)
        except _Skip as why:
            if skipped is not None:
                skipped.append(SkippedLog(block, tx_hash, log_index, str(why)))
            continue
        for batch_index, (frm, to, value, token_id, standard) in enumerate(rows):
            row = (token, frm, to, value, token_id, standard, tx_hash, tx_index, log_index, batch_index, block)
            for col, v in zip(out, row):
                col.append(v)
    return cols
