"""A folder that readers see whole or not at all: written under a private ``.tmp-*`` name beside its final
one, then renamed. Several processes may build the same state at once (API workers, a CLI beside a server);
the first rename wins and the others drop their copy."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_dir(final: Path, marker: str) -> Iterator[Path]:
    """Yield an empty private folder; when the block ends, rename it to ``final``. ``marker`` names the file
    that makes a folder complete: if another process already renamed one holding it into place, this copy
    is dropped. On any error the private folder is removed and the error raised."""
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / marker).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)       # another process built the same state first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
