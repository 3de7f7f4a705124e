"""Moved to :mod:`chaintrail.chains.bitcoin.nbhash` (the ingest uses it too); kept for old imports."""

from chaintrail.chains.bitcoin.nbhash import hash160, ripemd160, sha256

__all__ = ["hash160", "ripemd160", "sha256"]
