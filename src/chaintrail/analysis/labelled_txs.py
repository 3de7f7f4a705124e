"""Labelled transaction sets from outside the store, as the flat arrays the classifiers read.

Two real formats:

* Dumplings scanner exports (one tx per line, every input with its previous value and script):
  ``txid:::blockhash:::blockindex:::blocktime:::IN}{IN...:::OUT}{OUT...`` with
  ``IN = prev_txid-prev_vout-value+scriptPubKey_hex+type`` and ``OUT = value+scriptPubKey_hex+type``.
* Raw transactions in hex (JSON lines with ``txid`` and ``hex``), decoded by the block parser;
  input values come from other rows of the same set where a row spends one, else stay unknown (-1).

Script types are classified from the scripts themselves (``chains.bitcoin.scripts``), never taken
from the file's own type names.
"""

from __future__ import annotations

import json
import lzma
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaintrail.chains.bitcoin.parse import compute_txids, parse_blocks
from chaintrail.chains.bitcoin.scripts import classify_scripts
from chaintrail.chains.bitcoin.serialize import compact_size
from chaintrail.errors import DecodeError


@dataclass(slots=True)
class TxSet:
    """Transactions as index arrays (``*_first_*`` carry one trailing entry)."""

    txids: list[str]
    tx_first_in: np.ndarray    # uint32
    tx_first_out: np.ndarray   # uint32
    in_value: np.ndarray       # int64, -1 where unknown
    in_addr: np.ndarray        # uint32: one id per distinct spent script, 0xFFFFFFFF where unknown
    in_prev: np.ndarray        # uint32: the output (index in this set) an input spends, 0xFFFFFFFF if outside
    out_value: np.ndarray      # int64
    out_type: np.ndarray       # uint8 (ScriptType)
    out_script: list[bytes]

    @property
    def n(self) -> int:
        return len(self.txids)

    @property
    def tx_is_cb(self) -> np.ndarray:
        return np.zeros(self.n, np.bool_)

    def pays(self, scripts: set[bytes]) -> np.ndarray:
        """Per tx (uint8): does one of its outputs pay one of ``scripts``?"""
        hit = np.array([s in scripts for s in self.out_script], bool)
        per_tx = np.add.reduceat(hit, self.tx_first_out[:-1].astype(np.int64)) if len(hit) else hit
        return (per_tx > 0).astype(np.uint8)


def _script_types(scripts: list[bytes]) -> np.ndarray:
    buf = np.frombuffer(b"".join(scripts) or b"\0", np.uint8)
    lens = np.array([len(s) for s in scripts], np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    return classify_scripts(buf, offs, lens)[0]


def _ids(keys: list[bytes | None]) -> np.ndarray:
    """Dense ids for the distinct keys, 0xFFFFFFFF for None."""
    seen: dict[bytes, int] = {}
    return np.array([0xFFFFFFFF if k is None else seen.setdefault(k, len(seen)) for k in keys], np.uint32)


def _build(txids, n_in, n_out, in_value, in_script, in_ref, out_value, out_script) -> TxSet:
    """Arrays from per-input/-output lists; ``in_ref`` is each input's (prev txid hex, vout)."""
    fi = np.zeros(len(txids) + 1, np.uint32)
    fo = np.zeros(len(txids) + 1, np.uint32)
    np.cumsum(n_in, out=fi[1:])
    np.cumsum(n_out, out=fo[1:])
    row = {t: i for i, t in enumerate(txids)}
    prev = np.full(len(in_ref), 0xFFFFFFFF, np.uint32)
    for k, (t, v) in enumerate(in_ref):
        i = row.get(t)
        if i is not None and v < fo[i + 1] - fo[i]:
            prev[k] = fo[i] + v
    return TxSet(list(txids), fi, fo, np.array(in_value, np.int64), _ids(in_script), prev,
                 np.array(out_value, np.int64), _script_types(out_script), list(out_script))


def parse_dumplings_lines(lines, where: str = "dumplings") -> TxSet:
    """A Dumplings export (an iterable of lines) as a ``TxSet``; a malformed line raises naming it."""
    txids, n_in, n_out, in_value, in_script, in_ref, out_value, out_script = [], [], [], [], [], [], [], []
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            txid, _blk, _idx, _time, ins, outs = line.split(":::")
            k_in = k_out = 0
            for item in ins.split("}{") if ins else []:
                prev, script, _t = item.split("+")
                ptxid, vout, value = prev.split("-")
                in_ref.append((ptxid, int(vout)))
                in_value.append(int(value))
                in_script.append(bytes.fromhex(script))
                k_in += 1
            for item in outs.split("}{") if outs else []:
                value, script, _t = item.split("+")
                out_value.append(int(value))
                out_script.append(bytes.fromhex(script))
                k_out += 1
            if len(txid) != 64 or k_out == 0:
                raise ValueError("no txid or no outputs")
        except ValueError as exc:
            raise DecodeError(f"{where}:{no}: not a Dumplings tx line ({exc})", where, no) from exc
        txids.append(txid)
        n_in.append(k_in)
        n_out.append(k_out)
    return _build(txids, n_in, n_out, in_value, in_script, in_ref, out_value, out_script)


def read_dumplings(zip_path: Path, members: list[str]) -> tuple[TxSet, np.ndarray]:
    """``Scanner/*.txt`` members of a Dumplings export zip as one ``TxSet`` (so spends between them
    link), and per tx the index of the member it came from (a txid listed twice keeps its first)."""
    def lines():
        with zipfile.ZipFile(zip_path) as zf:
            for k, m in enumerate(members):
                with zf.open(m) as f:
                    for b in f:
                        txid = b[:64].decode("ascii", "replace")
                        if txid not in seen:
                            seen.add(txid)
                            origin.append(k)
                            yield b.decode("ascii")
    seen: set[str] = set()
    origin: list[int] = []
    txs = parse_dumplings_lines((line for line in lines() if line.strip()), f"{zip_path.name}:{','.join(members)}")
    return txs, np.array(origin, np.int32)


def parse_raw_txs(rows: list[dict], where: str = "raw") -> TxSet:
    """Rows with ``hex`` (and ``txid``, checked against the recomputed one) as a ``TxSet``.

    The txs are framed as one block body for the strict block parser (no header is checked:
    only the transaction decoding is used).
    """
    raws = [bytes.fromhex(r["hex"]) for r in rows]
    body = bytes(80) + compact_size(len(raws)) + b"".join(raws)
    lay = parse_blocks(np.frombuffer(body, np.uint8), np.array([0]), np.array([len(body)]))
    txids = [bytes(t[::-1]).hex() for t in compute_txids(lay)]
    for r, t in zip(rows, txids):
        if r.get("txid", t) != t:
            raise DecodeError(f"{where}: row says txid {r['txid']} but its hex hashes to {t}", where, 0)
    mv = lay.buf
    out_script = [bytes(mv[o:o + n]) for o, n in zip(lay.out_script.tolist(), lay.out_script_len.tolist())]
    out_value = lay.out_value.tolist()
    first_out = lay.tx_first_out.tolist()
    by_txid = {t: i for i, t in enumerate(txids)}
    in_value, in_script, in_ref = [], [], []
    for p, v in zip(lay.in_prev.tolist(), lay.in_vout.tolist()):
        prev = bytes(mv[p:p + 32][::-1]).hex()
        in_ref.append((prev, v))
        i = by_txid.get(prev)
        if i is not None and v < first_out[i + 1] - first_out[i]:
            in_value.append(out_value[first_out[i] + v])
            in_script.append(out_script[first_out[i] + v])
        else:
            in_value.append(-1)
            in_script.append(None)
    return _build(txids, np.diff(lay.tx_first_in), np.diff(lay.tx_first_out), in_value, in_script, in_ref,
                  out_value, out_script)


def read_raw_jsonl(path: Path) -> tuple[list[dict], TxSet]:
    """A JSON-lines file (optionally .xz) of raw txs: the rows (without hex) and their ``TxSet``."""
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    txs = parse_raw_txs(rows, path.name)
    return [{k: v for k, v in r.items() if k != "hex"} for r in rows], txs
