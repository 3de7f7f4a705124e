"""A cache prefetch hint for numba kernels: see ``chaintrail.store.prefetch`` (kept there, below every user)."""

from chaintrail.store.prefetch import prefetch

__all__ = ["prefetch"]
