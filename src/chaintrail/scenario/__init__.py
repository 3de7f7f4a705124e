"""Synthetic Bitcoin economies with planted crime cases and exact answer keys.

``generate(out_dir, seed, kind, scale)`` writes a Bitcoin Core ``blocks/`` folder
(regtest blk/rev files) and ``answer_key.json``; ``load_answer_key(out_dir)``
reads the key back with its Parquet tables.  ``chaintrail scenario generate`` is
the command-line face.
"""

from __future__ import annotations

from chaintrail.scenario.answer_key import load_answer_key
from chaintrail.scenario.generator import KINDS, Scenario, generate

__all__ = ["KINDS", "Scenario", "generate", "load_answer_key"]
