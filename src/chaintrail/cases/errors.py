"""Errors of the case layer, placed in chaintrail's one exception tree.

    UsageError
    ├── NotFound          no such case, item, agency or user (or not visible to you: same answer)
    ├── AccessDenied      visible, but your role or agency may not do this
    └── AlreadyImported   this signed package was imported before (a replay)
    DecodeError
    └── PackageError      a case package that is malformed, tampered with, or from an untrusted key
    StoreError
    └── CaseDbError       the case database cannot be opened or written
"""

from __future__ import annotations

from chaintrail.errors import DecodeError, StoreError, UsageError


class NotFound(UsageError):
    """No such object, or one the caller may not see (the two are indistinguishable on purpose)."""


class AccessDenied(UsageError):
    """The caller can see the object but may not do this to it."""


class AlreadyImported(UsageError):
    """The same signed package (by its SHA-256) was already imported by this agency."""

    def __init__(self, message: str, ref: str):
        super().__init__(message)
        self.ref = ref


class PackageError(DecodeError):
    """A case package that cannot be trusted: bad signature, changed file, unknown key, wrong format."""


class CaseDbError(StoreError):
    """The case database is unreachable, or has no case schema."""
