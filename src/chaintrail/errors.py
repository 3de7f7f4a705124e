"""One exception tree for chaintrail.

    ChaintrailError
    ├── DecodeError              bytes that are not what they claim to be
    │   ├── TruncatedError       the bytes end before the record does
    │   ├── TrailingBytesError   bytes left over after a complete record
    │   ├── BadMagicError        a block-file record without the network magic
    │   └── UndoDataError        rev*.dat / undo data that cannot be read or matched
    ├── ValidationError          decoded fine but inconsistent
    │   ├── MerkleMismatchError
    │   ├── WitnessCommitmentError
    │   └── ProofOfWorkError     a header whose hash is above the target of its own nBits
    ├── AddressError             an address string or script that cannot be encoded/decoded
    ├── SourceError              a node or folder we read from misbehaves (RPC errors, missing files)
    ├── StoreError               the chain store is missing, locked or inconsistent
    └── UsageError               the user asked for something impossible

Every decode error carries ``source`` (file name or other label) and ``offset``
(absolute byte offset) so the CLI can print one line that says where.
"""

from __future__ import annotations


class ChaintrailError(Exception):
    """Base of every error chaintrail raises on purpose."""


class DecodeError(ChaintrailError):
    """Bytes that do not decode; names the source and the byte offset."""

    def __init__(self, message: str, source: str | None = None, offset: int | None = None):
        self.reason = message
        self.source = source
        self.offset = offset
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        return f"{self.reason} ({', '.join(where)})" if where else self.reason

    def at(self, source: str | None = None, offset_base: int = 0) -> "DecodeError":
        """Return a copy located in ``source`` with the offset shifted by ``offset_base``."""
        off = None if self.offset is None else self.offset + offset_base
        err = type(self)(self.reason, source if source is not None else self.source, off)
        return err


class TruncatedError(DecodeError):
    """The bytes end before the record does."""


class TrailingBytesError(DecodeError):
    """Bytes remain after a complete record."""


class BadMagicError(DecodeError):
    """A block-file record does not start with the network magic."""


class UndoDataError(DecodeError):
    """Undo data (rev*.dat, bcoin undo) that cannot be decoded or matched to its block."""


class ValidationError(DecodeError):
    """A record decoded but fails a consistency check."""


class MerkleMismatchError(ValidationError):
    """The merkle root recomputed from the txids differs from the header's."""


class WitnessCommitmentError(ValidationError):
    """The coinbase witness commitment differs from the recomputed one."""


class ProofOfWorkError(ValidationError):
    """A block header's hash is above the target its own nBits encode (or the nBits are invalid)."""


class AddressError(ChaintrailError):
    """An address or script that cannot be encoded or decoded."""


class SourceError(ChaintrailError):
    """A data source (node RPC, blocks folder) fails or answers nonsense."""


class StoreError(ChaintrailError):
    """The chain store is missing, locked or inconsistent."""


class UsageError(ChaintrailError):
    """The request cannot be carried out as asked."""
