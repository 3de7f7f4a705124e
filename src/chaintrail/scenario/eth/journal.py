"""The journal of a generated chain: every call that changed the node, in order, so a fresh anvil replays it.

Why a journal and not anvil's state dump (measured on anvil 1.7.1):

- ``--dump-state FILE`` (written on exit) and ``anvil_dumpState`` keep the blocks, the mined transactions with
  their receipts and parity traces, and the accounts at the tip. A node started with ``--load-state`` answers
  ``eth_getBlockByNumber``, ``eth_getBlockReceipts`` and ``trace_block`` for old blocks exactly as the original
  did (same block hashes), but has no state before the tip: ``eth_getBalance``/``eth_call``/``eth_getStorageAt``
  at an older block and ``debug_traceBlockByNumber`` fail with ``BlockOutOfRangeError``. ``chaintrail ingest eth``
  reads contract state at the blocks that created them, so it fails on such a node.
- Started with ``--preserve-historical-states`` (or ``anvil_dumpState [true]``), the dump also holds a full state
  snapshot per block, and ingesting the loaded node gives the same store (same ``chaintrail store hash``) as the
  original. But each snapshot is the whole state: 47 KB per block with ten idle dev accounts (19 MB for 400
  blocks), growing with every contract's storage, so it only suits small chains.

So a scenario keeps this journal instead: ``JournalRpc`` (an ``EthRpc``) writes each state-changing call
(``eth_sendTransaction``, ``evm_mine``, ``anvil_*`` settings; reads are left out) and each batch as one unit,
with the transaction hashes the node answered, to a gzipped JSON-lines file whose first line holds the anvil
settings (``Genesis``). ``replay`` starts nothing itself: it sends the same batches to a fresh node started from
those settings, checks every answered hash against the journal and the tip against the journal's last line.
Anvil is deterministic given the same calls in the same order (its pool's in-block ordering included), so the
replayed chain is byte-identical: same block hashes, same receipts, and full history for ingest.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from chaintrail.chains.ethereum.rpc import EthRpc, RpcError
from chaintrail.errors import SourceError
from chaintrail.scenario.eth.genesis import Genesis

FORMAT = "chaintrail-eth-journal/1"
_READS = {"anvil_getAutomine", "anvil_nodeInfo", "anvil_metadata", "anvil_dumpState"}
_SENDS = {"eth_sendTransaction", "eth_sendRawTransaction"}


def changes_state(method: str) -> bool:
    """Whether a call changes what the node will mine: sends and anvil's/evm's own settings and mining calls."""
    return method in _SENDS or (method.startswith(("evm_", "anvil_")) and method not in _READS)


class JournalRpc(EthRpc):
    """An ``EthRpc`` that writes every state-changing call to a journal; give it ``workers=1`` semantics.

    Batches go out as single requests in the caller's order (one worker), so the node sees the same arrival
    order on replay. Retries are off: a retried send could reach the node twice.
    """

    def __init__(self, url: str, path: str | Path, genesis: Genesis, *, timeout: float = 120.0):
        super().__init__(url, timeout=timeout, batch_size=1 << 30, workers=1, retries=0)
        self.path = Path(path)
        self.genesis = genesis
        # mtime 0: the same calls give the same bytes
        self._file = open(self.path, "wb")
        raw = gzip.GzipFile(filename="", mode="wb", fileobj=self._file, compresslevel=5, mtime=0)
        self._out: IO[str] | None = io.TextIOWrapper(raw, encoding="utf-8")
        self._write({"format": FORMAT, "genesis": genesis.as_dict()})
        self.sent = 0

    def __enter__(self) -> JournalRpc:
        return self

    def _write(self, record: dict) -> None:
        if self._out is None:
            raise SourceError(f"journal {self.path} is closed")
        self._out.write(json.dumps(record, separators=(",", ":")) + "\n")

    def call(self, method: str, params: list) -> Any:
        (answer,) = self._batch([(method, params)])
        if isinstance(answer, RpcError):
            raise answer
        return answer

    def _batch(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        answers = super()._batch(calls)
        kept = [(i, m, p) for i, (m, p) in enumerate(calls) if changes_state(m)]
        if kept:
            self._write({"calls": [[m, p] for _, m, p in kept],
                         "answers": [_answer(answers[i]) if m in _SENDS else None for i, m, _ in kept]})
            self.sent += sum(1 for _, m, _ in kept if m in _SENDS)
        return answers

    def finish(self) -> dict:
        """Write the tip (number and hash) as the journal's last line, close it and return the tip."""
        head = self.call("eth_getBlockByNumber", ["latest", False])
        tip = {"tip": int(head["number"], 16), "tip_hash": head["hash"], "transactions": self.sent}
        self._write(tip)
        self.close_journal()
        return tip

    def close_journal(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            self._file.close()  # GzipFile leaves a file object it was given open

    def close(self) -> None:
        self.close_journal()
        super().close()


def _answer(answer: Any) -> Any:
    return {"error": str(answer)} if isinstance(answer, Exception) else answer


def batch_answers(rpc: EthRpc, calls: Sequence[tuple[str, list]]) -> list[Any]:
    """Answers in order, each JSON-RPC error left in place as an ``RpcError`` instead of raised."""
    return rpc._batch(calls)  # EthRpc's own path; ``batch`` raises the first error and loses which call it was


def read_genesis(path: str | Path) -> Genesis:
    """The anvil settings a journal was recorded on (its first line)."""
    for record in _records(path):
        return _genesis(record, path)
    raise SourceError(f"journal {path} is empty")


def _genesis(record: dict, path: str | Path) -> Genesis:
    if record.get("format") != FORMAT or "genesis" not in record:
        raise SourceError(f"{path}: not a chaintrail Ethereum journal (first line has format "
                          f"{record.get('format')!r}, expected {FORMAT!r})")
    return Genesis.from_dict(record["genesis"])


def _records(path: str | Path) -> Iterator[dict]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise SourceError(f"{path} line {line_no}: not JSON ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise SourceError(f"cannot read journal {path}: {exc}") from exc


def replay(path: str | Path, rpc: EthRpc) -> dict:
    """Send a journal's calls to the fresh node behind ``rpc`` (started from its ``Genesis``); return its tip.

    Every transaction hash the node answers must equal the journal's, and the tip must equal its last line:
    anything else is a ``SourceError`` naming the line.
    """
    if rpc.head() != 0:
        raise SourceError(f"replay {path}: the node at {rpc.url} is not fresh (head {rpc.head()})")
    tip: dict | None = None
    records = _records(path)
    first = next(records, None)
    if first is None:
        raise SourceError(f"journal {path} is empty")
    _genesis(first, path)
    for line_no, record in enumerate(records, 2):
        if "tip" in record:
            tip = record
            break
        calls = [(m, p) for m, p in record["calls"]]
        answers = batch_answers(rpc, calls)
        for (method, params), got, want in zip(calls, answers, record["answers"]):
            if isinstance(got, Exception) and not (isinstance(want, dict) and "error" in want):
                raise SourceError(f"replay {path} line {line_no}: {method} failed on the fresh node: {got}")
            if method in _SENDS and not isinstance(want, dict) and got != want:
                raise SourceError(f"replay {path} line {line_no}: {method} gave tx {got}, the journal has {want} "
                                  "(was the node started from the journal's genesis settings?)")
    if tip is None:
        raise SourceError(f"journal {path} has no tip line: the generation that wrote it did not finish")
    head = rpc.call("eth_getBlockByNumber", ["latest", False])
    if int(head["number"], 16) != tip["tip"] or head["hash"] != tip["tip_hash"]:
        raise SourceError(f"replay {path}: tip is block {int(head['number'], 16)} {head['hash']}, the journal has "
                          f"block {tip['tip']} {tip['tip_hash']}")
    return tip


__all__ = ["FORMAT", "JournalRpc", "batch_answers", "changes_state", "read_genesis", "replay"]
