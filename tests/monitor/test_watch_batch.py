"""A watchlist is added in one audit entry: every watch row is held to the hash that entry records (verify and
the monitor's own check), a later removal supersedes it, and a row changed behind the log's back is caught."""

from __future__ import annotations

import sqlalchemy as sa

from chaintrail.cases import audit
from chaintrail.cases import schema as S
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.verify import verify
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import active_watches, add_watches, remove_watch

N = 2_000


def test_a_watchlist_is_one_audit_entry_and_every_row_is_held_to_it(tmp_path):
    repo = CaseRepository.open(tmp_path / "cases.sqlite")
    try:
        p = repo.ensure_operator("NCA", "alice")
        ref = repo.create_case(p, "Watchlist")["ref"]
        targets = ["0x" + f"{i:040x}" for i in range(1, N + 1)]
        got = add_watches(repo, p, ref, [check_spec("eth", "address", t, {"direction": "out"}) for t in targets])
        assert [w["target"] for w in got] == targets and len({w["id"] for w in got}) == N
        with repo.db.read() as conn:
            log = [e for e in audit.entries(conn, case_ref=ref) if e.action.startswith("watch.")]
        assert [e.action for e in log] == ["watch.add.batch"]
        d = log[0].details
        assert d["count"] == N and [x[3] for x in d["items"]] == targets and len(d["rows"]) == N
        assert verify(repo.db).problems == []
        with repo.db.read() as conn:
            assert [w["target"] for w in active_watches(conn, "eth")] == targets

        # A removal (its own, later entry) supersedes the batch for that row.
        remove_watch(repo, p, got[5]["id"])
        assert verify(repo.db).problems == []
        with repo.db.read() as conn:
            assert len(active_watches(conn, "eth")) == N - 1

        # A watch re-pointed by SQL behind the log's back: verify names it, the monitor ignores it.
        w = got[7]
        with repo.db.engine.begin() as conn:
            conn.execute(sa.update(S.watches).where(S.watches.c.id == w["id"]).values(target="0x" + "ee" * 20))
        problems = verify(repo.db).problems
        assert [x.target for x in problems] == [f"watches:{w['id']}"] and "altered" in problems[0].message
        with repo.db.read() as conn:
            live = [x["target"] for x in active_watches(conn, "eth")]
        assert len(live) == N - 2 and "0x" + "ee" * 20 not in live
    finally:
        repo.close()
