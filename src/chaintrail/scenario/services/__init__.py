"""Structured services of the background economy: CoinJoin coordinators and the chip mixer."""

from __future__ import annotations


def make_services(ch, pop, alloc, n_tx):
    """Create the mixing services; returns the actors stepped once per block."""
    return []
