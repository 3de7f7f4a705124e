"""Hash byte order flipped for the store: the word path and the byte path agree with numpy."""

import numpy as np
import pytest

from chaintrail.ingest.btc_links import flipped


@pytest.mark.parametrize("shape", [(0, 32), (1, 32), (1000, 32), (7, 33), (5, 20)])
def test_flipped_reverses_each_row(shape):
    rows = np.random.default_rng(shape[0]).integers(0, 256, shape).astype(np.uint8)
    out = flipped(rows)
    assert out.flags.c_contiguous and (out == rows[:, ::-1]).all()
    odd = np.frombuffer(b"\0" + rows.tobytes(), np.uint8)[1:].reshape(shape)   # not 8-byte aligned
    assert (flipped(odd) == rows[:, ::-1]).all()
