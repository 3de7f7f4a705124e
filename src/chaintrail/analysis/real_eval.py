"""The transaction classifiers measured on real labelled data and real background blocks.

Positives (recall, protocol named correctly, not just "mixing"):

* Dumplings scanner exports (``labels/dumplings-coinjoins``): Whirlpool mixes of all four pools and
  Tx0s, Wasabi 1 and 2 rounds, JoinMarket. Their labels are Dumplings' own heuristics, not ground
  truth: a row we label otherwise is listed as a disagreement, not silently counted as our error.
* Raw 2018 Wasabi 1 rounds (``labels/wasabi1-raw-coinjoins``, positives: in the blocksec Wasabi list,
  crawled independently of any structural rule); input values come from other rows where they link.

Negatives: Dumplings' own false detections (the JoinMarket filter's false positives), the raw set's
non-round rows, and real background blocks (``btc/mainnet``), where every mixing label is listed for
review and counted per 10,000 transactions. Post-mix spends are reported as a rate, not as truth.

Every figure carries its counts, a 95% Wilson interval and the dataset it came from.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from chaintrail.analysis import mixers as M
from chaintrail.analysis.evaluation import wilson
from chaintrail.analysis.labelled_txs import TxSet, read_dumplings, read_raw_jsonl

DUMPLINGS = "labels/dumplings-coinjoins"
WASABI1_RAW = "labels/wasabi1-raw-coinjoins/wasabi1_coinjoins_2018.jsonl.xz"
BACKGROUND = ("btc/mainnet/blocks-560062-560074", "btc/mainnet/raw")

WASABI1 = (M.L_WASABI10, M.L_WASABI11)
# (protocol row, zip, member, the labels that name the protocol)
POSITIVES = (
    ("coinjoin: whirlpool", "dumplings__sw_202403.zip", "Scanner/SamouraiCoinJoins.txt", (M.L_WHIRLPOOL,)),
    ("mixer: whirlpool_tx0", "dumplings__sw_202403.zip", "Scanner/SamouraiTx0s.txt", (M.L_TX0,)),
    ("coinjoin: wasabi2", "dumplings__end_zksnacks_202405.zip", "Scanner/Wasabi2CoinJoins.txt", (M.L_WASABI2,)),
    ("coinjoin: wasabi1", "dumplings__end_zksnacks_202405.zip", "Scanner/WasabiCoinJoins.txt", WASABI1),
    ("coinjoin: wasabi1", "dumplings__ww1_202405.zip", "Scanner/WasabiCoinJoins.txt", WASABI1),
    ("coinjoin: joinmarket", "dumplings__jm_202406.zip", "Scanner/OtherCoinJoins.txt", (M.L_JOINMARKET,)),
)
# Post-mix spends, read with the rounds they spend (so a spend's parents are known).
POSTMIX = (
    ("dumplings__sw_202403.zip", "Scanner/SamouraiCoinJoins.txt", "Scanner/SamouraiPostMixTxs.txt"),
    ("dumplings__end_zksnacks_202405.zip", "Scanner/Wasabi2CoinJoins.txt", "Scanner/Wasabi2PostMixTxs.txt"),
    ("dumplings__end_zksnacks_202405.zip", "Scanner/WasabiCoinJoins.txt", "Scanner/WasabiPostMixTxs.txt"),
    ("dumplings__ww1_202405.zip", "Scanner/WasabiCoinJoins.txt", "Scanner/WasabiPostMixTxs.txt"),
    ("dumplings__jm_202406.zip", "Scanner/OtherCoinJoins.txt", "Scanner/OtherCoinJoinPostMixTxs.txt"),
)
HARD_NEGATIVES = (("jm_filter_false_positives.zip", "Scanner/OtherCoinJoins.txt"),)


def _coordinator_scripts() -> set[bytes]:
    from chaintrail.chains.bitcoin.address import address_to_script
    from chaintrail.chains.bitcoin.network import MAINNET
    return {address_to_script(a, MAINNET) for a in M.WASABI1_COORDINATORS}


def label_set(txs: TxSet, coordinators: bool = True) -> np.ndarray:
    """The classifier's labels for a ``TxSet``, as the store's labelling pass gives them."""
    coord = txs.pays(_coordinator_scripts()) if coordinators else None
    labels = M.classify(txs.tx_first_in, txs.tx_first_out, txs.in_value, txs.in_addr, txs.out_value, txs.out_type,
                        txs.tx_is_cb, coord)
    return M.whirlpool_postmix(labels, txs.tx_first_in, txs.tx_first_out, txs.in_prev)


def _interval(k: int, n: int) -> list[float] | None:
    ci = wilson(k, n)
    return None if ci is None else [round(ci[0], 4), round(ci[1], 4)]


def _max_equal(txs: TxSet, i: int) -> int:
    return Counter(txs.out_value[txs.tx_first_out[i]:txs.tx_first_out[i + 1]].tolist()).most_common(1)[0][1]


def _pool(txs: TxSet, i: int) -> str:
    v = Counter(txs.out_value[txs.tx_first_out[i]:txs.tx_first_out[i + 1]].tolist()).most_common(1)[0][0]
    return {100_000: "0.001", 1_000_000: "0.01", 5_000_000: "0.05", 50_000_000: "0.5"}.get(v, "other")


def recall_row(name: str, dataset: str, labels: np.ndarray, want: tuple[int, ...], txs: TxSet,
               values: np.ndarray) -> dict:
    """A positives-only row: recall with its interval, what the misses were labelled, examples."""
    hit = np.isin(labels, want)
    n, k = len(labels), int(hit.sum())
    missed = np.flatnonzero(~hit)
    return {"name": name, "dataset": dataset, "positives": n, "tp": k, "fn": n - k, "fp": None,
            "precision": None, "recall": k / n if n else None, "recall_ci95": _interval(k, n),
            "labelled_as": dict(Counter(M.LABELS[x] for x in labels[~hit]).most_common()),
            "any_mixing_label": int(M.MIXING[labels].sum() + M.MIXER_RELATED[labels].sum()),
            "without_input_values": int((~values).sum()),
            "missed_examples": [txs.txids[i] for i in missed[:5].tolist()]}


def evaluate_positives(data: Path) -> list[dict]:
    rows = []
    for name, zname, member, want in POSITIVES:
        txs, origin = read_dumplings(data / DUMPLINGS / zname, [member])
        labels = label_set(txs)
        values = M.values_known(txs.tx_first_in, txs.in_value)
        row = recall_row(name, f"{DUMPLINGS}/{zname}:{member} (Dumplings' heuristic labels)", labels, want, txs,
                         values)
        if want == (M.L_WHIRLPOOL,):
            row["by_pool"] = {}
            for i in range(txs.n):
                p = row["by_pool"].setdefault(_pool(txs, i), {"positives": 0, "tp": 0, "chip_labels": 0})
                p["positives"] += 1
                p["tp"] += int(labels[i] == M.L_WHIRLPOOL)
                p["chip_labels"] += int(labels[i] in (M.L_CHIP_SPLIT, M.L_CHIP_MERGE))
        rows.append(row)
        if want == (M.L_JOINMARKET,):
            # Dumplings' "other CoinJoins" take any tx with >= 2 equal outputs (most of this export are
            # taproot marketplace swaps with 330/546-sat dummy inputs); ours need >= 3 equal outputs.
            shaped = np.array([_max_equal(txs, i) >= 3 for i in range(txs.n)])
            rows.append(recall_row(name + " (rows with >= 3 equal outputs)", row["dataset"] + ", rows with >= 3 "
                                   "equal outputs", labels[shaped], want, _subset(txs, shaped), values[shaped]))
    meta, txs = read_raw_jsonl(data / WASABI1_RAW)
    pos = np.array([bool(r.get("in_blocksec_wasabi")) for r in meta])
    values = M.values_known(txs.tx_first_in, txs.in_value)
    for coord, suffix in ((True, ""), (False, " (structure only, no coordinator address)")):
        labels = label_set(txs, coordinators=coord)
        sub = _subset(txs, pos)
        rows.append(recall_row("coinjoin: wasabi1" + suffix, f"{WASABI1_RAW} (rounds in the blocksec Wasabi list)",
                               labels[pos], WASABI1, sub, values[pos]))
    return rows


def _subset(txs: TxSet, mask: np.ndarray) -> TxSet:
    """Only the txids are read from a subset (for examples)."""
    return TxSet([t for t, m in zip(txs.txids, mask) if m], txs.tx_first_in, txs.tx_first_out, txs.in_value,
                 txs.in_addr, txs.in_prev, txs.out_value, txs.out_type, txs.out_script)


def evaluate_negatives(data: Path) -> list[dict]:
    """Mixing labels on sets that should have none (hard negatives) or few (post-mix spends)."""
    rows = []
    for zname, member in HARD_NEGATIVES:
        txs, _ = read_dumplings(data / DUMPLINGS / zname, [member])
        rows.append(_rate_row(f"{DUMPLINGS}/{zname}:{member} (the Dumplings JoinMarket filter's test set, judged "
                              "not JoinMarket by its authors; many are CoinJoin-shaped)", txs, label_set(txs),
                              hard=False))
    meta, txs = read_raw_jsonl(data / WASABI1_RAW)
    neg = np.array([not r.get("in_blocksec_wasabi") for r in meta])
    labels = label_set(txs)
    rows.append(_rate_row(f"{WASABI1_RAW} (rows not in the blocksec list: the earliest small rounds, "
                          "coordinator moves and sweeps)", _subset(txs, neg), labels[neg], hard=False))
    for zname, rounds, member in POSTMIX:
        txs, origin = read_dumplings(data / DUMPLINGS / zname, [rounds, member])
        spends = origin == 1
        rows.append(_rate_row(f"{DUMPLINGS}/{zname}:{member} (post-mix spends: not ground truth)",
                              _subset(txs, spends), label_set(txs)[spends], hard=False))
    return rows


def _rate_row(dataset: str, txs: TxSet, labels: np.ndarray, *, hard: bool) -> dict:
    mixing = M.MIXING[labels] | M.MIXER_RELATED[labels]
    k, n = int(mixing.sum()), len(labels)
    return {"dataset": dataset, "hard_negative": hard, "txs": n, "mixing_labels": k,
            "rate": k / n if n else None, "rate_ci95": _interval(k, n),
            "labelled_as": dict(Counter(M.LABELS[x] for x in labels[mixing]).most_common()),
            "examples": [txs.txids[i] for i in np.flatnonzero(mixing)[:5].tolist()]}


def evaluate_background(data: Path) -> dict:
    """Ingest the real background blocks into a scratch store and list every mixing label."""
    from chaintrail.analysis.tx_labels import classify_store, index_arrays
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.store.chainstore import ChainStore

    files = sorted(p for d in BACKGROUND for p in (data / d).glob("block*.raw") if not p.name.endswith("-undo.raw"))
    with tempfile.TemporaryDirectory(prefix="ct-real-eval-") as tmp:
        with BtcIngest(Path(tmp) / "store") as job:
            job.ingest_raw(files)
        with ChainStore(Path(tmp) / "store") as st:
            a = index_arrays(st)
            labels = classify_store(st, a)
            values = M.values_known(a["tx_first_in"], a["in_value"])
            txids = st.column("txid")
            flagged = np.flatnonzero(M.MIXING[labels] | M.MIXER_RELATED[labels])
            listed = []
            for t in flagged.tolist():
                fi, fo = a["tx_first_in"], a["tx_first_out"]
                listed.append({"tx_num": t, "txid": bytes(txids[t][::-1]).hex(), "label": M.LABELS[labels[t]],
                               "inputs": int(fi[t + 1] - fi[t]), "outputs": int(fo[t + 1] - fo[t]),
                               "input_values_known": bool(values[t])})
            n = int(len(labels) - a["tx_is_cb"].sum())
    k = len(listed)
    known = sum(r["input_values_known"] for r in listed)
    return {"dataset": " + ".join(BACKGROUND) + " (real mainnet blocks, no labels; raw blocks without undo data)",
            "txs": n, "txs_with_input_values": int(values.sum() - a["tx_is_cb"].sum()),
            "mixing_labels": k, "per_10k": round(k / n * 10_000, 2) if n else None,
            "per_10k_ci95": [round(x * 10_000, 2) for x in wilson(k, n)] if n else None,
            "with_input_values": known, "without_input_values": k - known,
            "labelled_as": dict(Counter(r["label"] for r in listed).most_common()), "positives": listed}


def _published(row: dict) -> str | None:
    """The heuristic a row's figures are published under, or None for detail rows: the structure-only
    Wasabi row, the 2018 Dumplings rounds (almost all also in the raw set: not counted twice), and
    Dumplings' whole "other CoinJoins" export (mostly not CoinJoins; its CoinJoin-shaped rows count)."""
    name = row["name"]
    if "structure only" in name or ("wasabi1" in name and "end_zksnacks" in row["dataset"]):
        return None
    if name == "coinjoin: joinmarket":
        return None
    if name.startswith("coinjoin: joinmarket ("):
        return "coinjoin: joinmarket"
    return name


def evaluate_real(data_dir: str | Path) -> dict:
    """Every real-data figure: positives per protocol, hard negatives, post-mix rates, background."""
    data = Path(data_dir)
    positives = evaluate_positives(data)
    scores = [{k: r[k] for k in ("tp", "fp", "fn", "precision", "recall", "dataset")} | {"name": _published(r)}
              for r in positives if _published(r)]
    return {"format": "chaintrail-real-eval/1", "classifier": M.VERSION, "positives": positives,
            "negatives": evaluate_negatives(data), "background": evaluate_background(data), "scores": scores}


def markdown(res: dict) -> str:
    """The real-data tables for docs/heuristics.md (what `heuristics evaluate --real` prints)."""
    ci = lambda c: "-" if c is None else f"{c[0]:.3f}–{c[1]:.3f}"  # noqa: E731
    other = lambda d: ", ".join(f"{k} {v}" for k, v in d.items()) or "–"  # noqa: E731
    out = [f"Classifier `{res['classifier']}`. Labels of the Dumplings exports are Dumplings' own heuristics, "
           "not ground truth; the raw 2018 Wasabi rounds are those of the blocksec list (crawled, independent "
           "of any structural rule).", "",
           "| protocol | dataset | positives | named right | recall | 95% CI | labelled instead |",
           "|---|---|---|---|---|---|---|"]
    for r in res["positives"]:
        out.append(f"| {r['name']} | {r['dataset']} | {r['positives']} | {r['tp']} | {r['recall']:.4f} | "
                   f"{ci(r['recall_ci95'])} | {other(r['labelled_as'])} |")
        for pool, p in sorted(r.get("by_pool", {}).items()):
            out.append(f"| ↳ pool {pool} BTC | | {p['positives']} | {p['tp']} | {p['tp'] / p['positives']:.4f} | "
                       f"{ci(wilson(p['tp'], p['positives']))} | chip labels {p['chip_labels']} |")
    out += ["", "| negatives and post-mix spends | txs | mixing labels | rate | 95% CI | labelled as |",
            "|---|---|---|---|---|---|"]
    for r in res["negatives"]:
        out.append(f"| {r['dataset']} | {r['txs']} | {r['mixing_labels']} | {r['rate']:.4f} | {ci(r['rate_ci95'])} | "
                   f"{other(r['labelled_as'])} |")
    b = res["background"]
    lo, hi = b["per_10k_ci95"]
    out += ["", f"Background ({b['dataset']}): {b['mixing_labels']} mixing labels in {b['txs']:,} transactions = "
            f"**{b['per_10k']} per 10,000** (95% CI {lo}–{hi}); {b['without_input_values']} of them made without "
            f"input values (reduced confidence). Each, for review:", ""]
    out += [f"- `{p['txid']}` {p['label']}, {p['inputs']} in / {p['outputs']} out"
            + ("" if p["input_values_known"] else ", input values unknown") for p in b["positives"]]
    return "\n".join(out) + "\n"
