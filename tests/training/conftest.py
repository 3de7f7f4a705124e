"""A small class on a generated chain (seed 3, easy: about 500 transactions), built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from training_parts import KINDS


@dataclass
class Klass:
    folder: Path
    instructor: str
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def klass(tmp_path_factory) -> Klass:
    from chaintrail.training import Classroom

    folder = tmp_path_factory.mktemp("training") / "class"
    room, token = Classroom.init(folder)
    room.create_set("week1", KINDS, seed=3, level="easy", build=True)
    tokens = {name: room.add_trainee(name) for name in ("Alice", "Bob")}
    room.close()
    return Klass(folder, token, tokens)
