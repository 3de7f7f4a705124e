"""What each transaction label rests on: its protocol, a confidence (0-100) and the rule, in words.

``tx_labels`` writes these beside every label so that SQL (the ``tx_labels`` view), the workbench
and court reports can cite a CoinJoin or mixer transaction with the evidence for it. A label made
without every input's value rests on the outputs alone and carries a lower confidence, and its
evidence says so.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from chaintrail.analysis import mixers as M

# label: (protocol, confidence with all input values known, confidence without, rule)
RULES: dict[str, tuple[str | None, int, int, str]] = {
    "whirlpool_mix": ("whirlpool", 95, 70, "5-8 inputs and as many outputs, every output exactly one Whirlpool pool "
                                           "denomination (0.001/0.01/0.05/0.5 BTC)"),
    "whirlpool_tx0": ("whirlpool", 90, 80, "OP_RETURN plus equal P2WPKH premix outputs just above a Whirlpool pool "
                                           "denomination"),
    "wasabi1.0": ("wasabi1", 90, 60, ">= 5 equal segwit outputs at the Wasabi 1 base denomination (about 0.1 BTC, "
                                     "any size when a published coordinator is paid)"),
    "wasabi1.1": ("wasabi1", 90, 60, "Wasabi 1 base denomination plus mixing levels of equal outputs at 2^k times it"),
    "wasabi2": ("wasabi2", 90, 70, ">= 20 inputs, >= 70% of outputs at WabiSabi standard denominations, three or "
                                   "more repeated"),
    "joinmarket": ("joinmarket", 85, 40, ">= 3 equal outputs; the inputs split into that many participants whose "
                                         "other output is their change"),
    "coinjoin": (None, 75, 40, ">= 3 equal outputs, inputs able to pay one each, at most one change per participant"),
    "chip_split": ("chipmixer", 70, 60, ">= 3 exact chip outputs (0.001 BTC x 2^k) and at most one other, or chips "
                                        "paid by a chip mixer's entity"),
    "chip_merge": ("chipmixer", 60, 50, "spends only exact chips, or chips a chip mixer's entity paid out"),
    "consolidation": (None, 90, 90, ">= 10 inputs into one output"),
    "batch_payout": (None, 90, 90, "<= 3 inputs into >= 10 outputs"),
}
UNKNOWN_VALUES = "; input values unknown, so it rests on the outputs alone"


def _lookup(known: bool) -> tuple[np.ndarray, list[str]]:
    conf = np.zeros(len(M.LABELS), np.int16)
    text = [""] * len(M.LABELS)
    for i, lab in enumerate(M.LABELS):
        if lab in RULES:
            _, c_known, c_unknown, rule = RULES[lab]
            conf[i] = c_known if known else c_unknown
            text[i] = rule if known else rule + UNKNOWN_VALUES
    return conf, text


def columns(labels: np.ndarray, values_known: np.ndarray) -> dict[str, pa.Array]:
    """``protocol``, ``confidence`` (0-100, null for unlabelled txs) and ``evidence`` per tx (dictionary-encoded)."""
    labels = np.asarray(labels, np.int64)
    values_known = np.asarray(values_known, bool)
    c_known, t_known = _lookup(True)
    c_unknown, t_unknown = _lookup(False)
    conf = np.where(values_known, c_known[labels], c_unknown[labels])
    none = labels == M.L_NONE
    n = len(M.LABELS)
    evidence = pa.DictionaryArray.from_arrays(
        pa.array(np.where(values_known, labels, labels + n).astype(np.int32), mask=none),
        pa.array(t_known + t_unknown))
    protocols = sorted({p for p, *_ in RULES.values() if p})
    pindex = np.array([protocols.index(RULES[lab][0]) if lab in RULES and RULES[lab][0] else -1 for lab in M.LABELS],
                      np.int32)[labels]
    return {"protocol": pa.DictionaryArray.from_arrays(pa.array(pindex, mask=pindex < 0), pa.array(protocols)),
            "confidence": pa.array(conf, pa.int16(), mask=none),
            "evidence": evidence}
