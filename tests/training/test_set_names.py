"""A set's name becomes a folder under the training folder: only the documented characters get through."""

from __future__ import annotations

import pytest

from chaintrail.errors import UsageError
from chaintrail.training import Classroom


@pytest.mark.parametrize("name", ["lab\n", "../lab", "lab/x", ".hidden", "", "x" * 41, "lab\nx"])
def test_a_set_name_outside_the_rule_is_refused_before_anything_is_written(tmp_path, name):
    room, _token = Classroom.init(tmp_path / "class")
    with room:
        with pytest.raises(UsageError, match="set name"):
            room.create_set(name, ["peel_chain"], seed=3, level="easy", build=False)
        assert room.sets() == []
    assert not (tmp_path / "class" / "sets").exists()
