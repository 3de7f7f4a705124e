"""The compiled lower bound over a run's address strings agrees with Python's bytes order (bisect)."""

import bisect

import numpy as np

from chaintrail.store.model_addresses import lower_bound_name


def _run(strings: list[bytes], a0: int):
    """A run laid out as the read model does: strings by addr_num from a0, and addr_nums sorted by string."""
    off = np.concatenate([[0], np.cumsum([len(s) for s in strings])]).astype(np.int64)
    blob = np.frombuffer(b"".join(strings) or b"\0", np.uint8)
    order = (a0 + np.array(sorted(range(len(strings)), key=lambda i: strings[i]), np.int64)).astype(np.uint32)
    return order, off, blob


def test_matches_bisect_on_prefixes_ties_and_ends():
    rng = np.random.default_rng(7)
    alphabet = b"13abcmqz"
    strings = sorted({bytes(rng.choice(list(alphabet), size=int(rng.integers(1, 6)))) for _ in range(400)})
    shuffled = [strings[i] for i in rng.permutation(len(strings))]
    a0 = 1000
    order, off, blob = _run(shuffled, a0)
    ordered = sorted(shuffled)
    keys = ordered + [s[:-1] for s in ordered if len(s) > 1] + [s + b"\0" for s in ordered[:20]] + \
        [b"0", b"zzzzzzz", b"\xff", b"a", b"m"]
    for key in keys:
        want = bisect.bisect_left(ordered, key)
        assert lower_bound_name(order, off, blob, a0, np.frombuffer(key, np.uint8)) == want, key


def test_empty_run():
    order, off, blob = _run([], 0)
    assert lower_bound_name(order, off, blob, 0, np.frombuffer(b"1abc", np.uint8)) == 0
