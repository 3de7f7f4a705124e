"""Attribution for Ethereum on the real files: the OFAC ETH list with its date and Tornado Cash's delisting, and
the Tutela and Forta label sets imported through `chaintrail tags import`, with counts and known addresses."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaintrail.tags.sanction_dates import action_of, list_date, status
from chaintrail.tags.tagstore import TagStore

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
OFAC_ETH = DATA / "tags" / "ofac-sdn" / "sanctioned_addresses_ETH.txt"
TUTELA = DATA / "labels" / "tutela-eth"
FORTA = DATA / "labels" / "forta-eth"
CLI = [str(Path(sys.executable).with_name("chaintrail"))]
POOL_01_ETH = "0x12d66f87a04a9e220743712ce6d9bb1b5616b8fc"      # Tornado Cash 0.1 ETH pool
LAZARUS = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"          # Ronin bridge thief (Lazarus), OFAC 2022-04-14

pytestmark = pytest.mark.skipif(not OFAC_ETH.exists(), reason="shared data not mounted")


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("tags")
    r = subprocess.run([*CLI, "tags", "import", str(OFAC_ETH), str(TUTELA), str(FORTA), "--store", str(root),
                        "--json"], capture_output=True, text=True, timeout=300)
    # The real files hold three rows that are no address (a repeated header, 'contractaddress'): exit 2, named.
    assert r.returncode == 2, r.stderr
    return root, json.loads(r.stdout)


def _count(report: dict, name: str) -> int:
    (f,) = [f for f in report["files"] if f["path"].endswith(name)]
    return f["tags"]


def test_label_sets_import_with_their_counts_and_bad_rows_named(imported) -> None:
    _, rep = imported
    assert _count(rep, "sanctioned_addresses_ETH.txt") == 152
    assert _count(rep, "tutela-eth/known_addresses.csv") == 19_260          # 19,261 rows, one 'contractaddress'
    assert _count(rep, "tutela-eth/kaggle.csv") == 19_136
    assert _count(rep, "tutela-eth/etherscan.csv") == 400
    assert _count(rep, "tutela-eth/etherclust.csv") == 250
    assert _count(rep, "tutela-eth/tornado.csv") == 19
    assert _count(rep, "tutela-eth/tornadocontracts.csv") == 19             # no header row
    assert _count(rep, "forta-eth/labels/1/phishing_scams.csv") == 6_726
    assert _count(rep, "forta-eth/labels/1/etherscan_malicious_labels.csv") == 7_780
    assert _count(rep, "forta-eth/labels/1/malicious_smart_contracts.csv") == 2 * 753   # contract + deployer
    assert sorted(b.rsplit("/", 1)[1] for b in rep["bad_lines"]) == [
        "kaggle.csv:1129: 'Address' is not a 0x address", "kaggle.csv:5263: 'contractaddress' is not a 0x address",
        "known_addresses.csv:5258: 'contractaddress' is not a 0x address"]


def test_known_addresses_carry_their_categories_and_provenance(imported) -> None:
    ts = TagStore(imported[0])
    pool = ts.lookup(POOL_01_ETH)
    cats = {c for t in pool for c in t.risk_categories}
    assert {"mixer", "sanctioned"} <= cats
    pool_tags = [t for t in pool if t.origin_file.endswith("tornado.csv")]
    assert pool_tags[0].label == "Tornado Cash Pool 0.1 ETH" and pool_tags[0].confidence == "service_data"
    assert pool_tags[0].source.startswith("github.com/pareto-xyz/tutela-app @ 5a33bfbf")
    ofac = [t for t in ts.lookup(LAZARUS) if t.origin_file.endswith("sanctioned_addresses_ETH.txt")]
    assert ofac and ofac[0].lastmod == dt.date(2024, 9, 27) and ofac[0].risk_categories == ("sanctioned",)
    # A phishing address from Forta, and a malicious contract's deployer tagged beside the contract.
    phish = [t for t in ts.lookup("0x000000000532b45f47779fce440748893b257865")
             if t.origin_file.endswith("phishing_scams.csv")]
    assert [(t.label, t.abuse, t.risk_categories) for t in phish] == [("Fake_Phishing3901", "phishing", ("scam",))]
    contract = [t for t in ts.lookup("0x04ae3226c80e8c04d35e6e56089345bdd06da6de")
                if t.origin_file.endswith("malicious_smart_contracts.csv")]
    assert {(t.label, t.abuse) for t in contract} == {("Multichain Exploiter 10", "service_hack")}
    deployer = [t for t in ts.lookup("0x98f5b0a99f258a09403d965647ee9d53677914af")
                if t.origin_file.endswith("malicious_smart_contracts.csv")]
    assert deployer and deployer[0].risk_categories == ("hack",) and "0x04ae3226" in deployer[0].context


def test_list_date_and_tornado_delisting() -> None:
    assert list_date(OFAC_ETH) == dt.date(2024, 9, 27)
    act = action_of(POOL_01_ETH)
    assert act is not None and act.designated == dt.date(2022, 8, 8) and act.delisted == dt.date(2025, 3, 21)
    listed = [a.strip().lower() for a in OFAC_ETH.read_text().splitlines() if a.strip()]
    tornado = [a for a in listed if action_of(a) is not None]
    assert len(tornado) == 37 and action_of(LAZARUS) is None
    d = dt.date(2024, 9, 27)
    assert status(POOL_01_ETH, d, dt.date(2024, 1, 1), "OFAC").state == "listed"
    assert status(POOL_01_ETH, d, dt.date(2022, 1, 1), "OFAC").state == "not_yet"
    later = status(POOL_01_ETH, d, dt.date(2025, 6, 1), "OFAC")
    assert later.state == "delisted" and not later.applies and "2025-03-21" in later.words
    assert status(LAZARUS, d, dt.date(2025, 6, 1), "OFAC").applies
