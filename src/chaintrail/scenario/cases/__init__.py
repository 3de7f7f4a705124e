"""Planted crime cases."""

from __future__ import annotations


def make_cases(ch, pop, actors, alloc, kind, n_tx):
    return []
