"""A signed package imported again is a replay: refused (CLI exit 5, API 409) and logged, not a second case."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from ct_cases import HAL
from typer.testing import CliRunner

from chaintrail.cases import schema as S
from chaintrail.cases.audit import entries
from chaintrail.cases.errors import AlreadyImported
from chaintrail.cases.hashing import sha256_hex
from chaintrail.cases.package import export_package, import_package
from chaintrail.cli.main import app

TOKEN = "replay-test-token-0123456789"


@pytest.fixture
def package(new_db, repos):
    """NCA's signed package of one case, addressed to nobody in particular, and BKA's empty database."""
    a, b = repos(new_db()), repos(new_db())
    pa, pb = a.bootstrap("NCA", "alice")[0], b.bootstrap("BKA", "bob")[0]
    ref = a.create_case(pa, "Proceeds", "Where did they go?", "amber")["ref"]
    a.add_subject(pa, ref, "address", HAL, "suspect")
    return export_package(a, pa, ref), a.agency("NCA")["fingerprint"], b, pb


def _cases(repo) -> int:
    with repo.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(S.cases)).scalar_one())


def test_a_package_imported_again_is_refused_and_logged(package):
    pkg, fp, b, pb = package
    first = import_package(b, pb, pkg, trust_fingerprint=fp)
    for _ in range(2):
        with pytest.raises(AlreadyImported, match=f"already imported as case {first.case['ref']}"):
            import_package(b, pb, pkg, trust_fingerprint=fp)
    assert _cases(b) == 1
    with b.db.read() as conn:
        log = entries(conn)
    replays = [e for e in log if e.action == "case.import" and e.outcome == "denied"]
    assert len(replays) == 2 and all(sha256_hex(pkg) in e.details["reason"] for e in replays)
    assert all(e.case_ref == first.case["ref"] for e in replays)


def test_another_agency_on_the_same_server_may_import_it_once_too(package):
    pkg, fp, b, pb = package
    import_package(b, pb, pkg, trust_fingerprint=fp)
    b.add_agency(pb.username, "FBI")
    tok = b.add_user(pb, "fred", "FBI", "investigator")[1]
    fred = b.principal_for_token(tok)
    assert import_package(b, fred, pkg).case["ref"].startswith("FBI-")
    with pytest.raises(AlreadyImported):
        import_package(b, fred, pkg)
    assert _cases(b) == 2


def test_cli_and_api_say_so(tmp_path, chain_store, monkeypatch, repos):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread

    monkeypatch.delenv("CHAINTRAIL_USER_TOKEN", raising=False)
    a = repos(str(tmp_path / "nca.sqlite"))
    pa = a.ensure_operator("NCA", "alice")
    ref = a.create_case(pa, "Proceeds", "", "amber")["ref"]
    path = tmp_path / "case.zip"
    path.write_bytes(export_package(a, pa, ref))
    fp = a.agency("NCA")["fingerprint"]
    db = ["--db", str(tmp_path / "bka.sqlite"), "--store", str(chain_store), "--user", "bob", "--agency", "BKA"]
    runner = CliRunner()
    first = runner.invoke(app, ["case", "import", str(path), "--trust", fp, *db])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["case", "import", str(path), *db])
    assert again.exit_code == 5 and "already imported as case BKA-" in again.output, again.output
    assert len(again.output.strip().splitlines()) == 1
    b = repos(str(tmp_path / "bka.sqlite"))
    server = create_app(chain_store, token=TOKEN)
    server.state.cases = b
    with ServerThread(server) as url:
        r = httpx.post(url + "/api/v1/cases/import", content=path.read_bytes(), timeout=60,
                       headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": TOKEN,
                                "Content-Type": "application/zip"})
    assert r.status_code == 409 and "already imported as case BKA-" in r.json()["error"]
    assert _cases(b) == 1
