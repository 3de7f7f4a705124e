"""`chaintrail --lang`: the CLI's own words in the chosen language, errors still one line, bad languages refused."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chaintrail.analysis.tracing import TraceParams
from chaintrail.cli.main import app
from chaintrail.errors import UsageError
from chaintrail.i18n import catalogs, use_language


@pytest.fixture(autouse=True)
def _language_reset():
    """The CLI sets the process's language (CliRunner runs in this process): undo it for the tests after."""
    yield
    catalogs._language.set(None)


def test_lang_uk_error_line_and_exit_code(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_LANG", raising=False)
    r = CliRunner().invoke(app, ["--lang", "uk", "sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.exit_code == 4
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("помилка: ")
    assert "немає сховища ланцюжка" in lines[0] and "chaintrail ingest" in lines[0]      # the store's own words
    r = CliRunner().invoke(app, ["sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.output.startswith("error: ") and "no chain store at" in r.output


def test_lang_uk_trace_refusals_from_the_library(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_LANG", raising=False)
    with use_language("uk"), pytest.raises(UsageError, match="напрям має бути forward"):
        TraceParams(direction="sideways").check()
    with pytest.raises(UsageError, match="direction must be forward or backward, not 'sideways'"):
        TraceParams(direction="sideways").check()


def test_env_language_and_unknown_language(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_LANG", "uk")
    r = CliRunner().invoke(app, ["sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.output.startswith("помилка: ")
    r = CliRunner().invoke(app, ["--lang", "xx", "sql", "SELECT 1"])
    assert r.exit_code == 5 and "unknown language 'xx' (available: en, uk)" in r.output


# --- common commands in Ukrainian over a real store (mainnet blocks 0-599) -----------------------------------------

CB9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"     # block 9's coinbase
EXCHANGE = "1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW"                               # 10 BTC of it, two hops on


def _cli(*args: str, lang: str | None = None, code: int = 0) -> str:
    """stdout and stderr of a chaintrail run in a subprocess (wide, no colour); ``lang`` goes in as --lang."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "CHAINTRAIL_LANG"} | {"COLUMNS": "200", "NO_COLOR": "1"}
    cmd = [str(Path(sys.executable).with_name("chaintrail")), *(["--lang", lang] if lang else []), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == code, (args, r.returncode, r.stdout[-1000:], r.stderr[-1000:])
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def uk_store(tmp_path_factory, btc_data):
    """A store ingested, clustered and tagged through the CLI in Ukrainian; the lines each step printed."""
    tmp = tmp_path_factory.mktemp("uk")
    store = str(tmp / "store")
    tags = tmp / "tags.csv"
    tags.write_text(f"address,label,category\n{EXCHANGE},Exchange Bravo,exchange\n")
    lines = {"ingest": _cli("ingest", "btc", "--blocks-dir", str(btc_data / "mainnet" / "core-blocks-0-599"),
                            "--store", store, lang="uk"),
             "cluster": _cli("cluster", "--store", store, lang="uk"),
             "tags": _cli("tags", "import", str(tags), "--store", store, lang="uk")}
    return store, lines


def test_uk_ingest_cluster_and_tag_import_lines(uk_store):
    _store, out = uk_store
    assert out["ingest"].startswith("завантажено блоків: 600, транзакцій: 616, входів: 625, виходів: 627;"), out
    assert " ".join(out["cluster"].split()) == ("кластеризовано нових транзакцій: 616 (входів: 625, об'єднань: 8); "
                                                "суб'єктів: 606, адрес: 614, найбільший: 5")
    assert "файл" in out["tags"] and "примітка" in out["tags"]
    assert "міток додано: 1, замінено: 0; у сховищі міток: 1, акторів: 0" in out["tags"]
    assert "added" not in out["tags"] and "file" not in out["tags"].split("\n")[1]


def test_uk_trace_table_and_totals(uk_store):
    store, _out = uk_store
    text = _cli("trace", "--from", f"{CB9}:0", "--max-hops", "20", "--until-exchange", "--store", store, lang="uk")
    header = next(line for line in text.splitlines() if "адреса" in line)
    assert all(w in header for w in ("вид", "кластер", "мітки", "сума (сат)", "переходи")), header
    nb = "\u00a0"      # uk groups digits with a no-break space
    assert f"відстежено 5{nb}000{nb}000{nb}000 сат = кінцеві точки 1{nb}000{nb}000{nb}000 + невитрачене " \
           f"4{nb}000{nb}000{nb}000 + комісії 0 + нижче порогу 0 + зупинене 0" in text, text
    assert "хеш відстеження " in text
    assert f"exchange:Exchange Bravo: 1{nb}000{nb}000{nb}000 сат на 1 депозитну адресу" in text
    for english in ("traced", "trace hash", "endpoints", "deposit address", "amount (sat)"):
        assert english not in text, english
    en = _cli("trace", "--from", f"{CB9}:0", "--max-hops", "20", "--until-exchange", "--store", store)
    assert "traced 5,000,000,000 sat = endpoints 1,000,000,000 + unspent 4,000,000,000" in en
    assert "exchange:Exchange Bravo: 1,000,000,000 sat over 1 deposit address" in en


def test_uk_store_sql_tags_and_entity_lines(uk_store):
    store, _out = uk_store
    info = _cli("store", "info", "--store", store, lang="uk")
    assert "мережа: mainnet" in info and "блоки: 600" in info and "транзакції: 616" in info, info
    rows = _cli("sql", "SELECT txid FROM txs", "--limit", "2", "--store", store, lang="uk")
    assert rows.rstrip().endswith("… ще 614 рядків (усі: --json)"), rows[-200:]
    shown = _cli("tags", "show", EXCHANGE, "--store", store, lang="uk")
    assert all(w in shown for w in ("назва", "поняття", "ризик", "достовірність", "походження")), shown
    ent = _cli("entity", "show", EXCHANGE, "--store", store, lang="uk")
    assert "отримано: 10,00000000 BTC" in ent and "баланс: 10,00000000 BTC" in ent, ent


def test_uk_bad_tag_line_in_ukrainian(uk_store, tmp_path):
    store, _out = uk_store
    bad = tmp_path / "bad.csv"
    bad.write_text("address,label,category\nnot-an-address,X,exchange\n")
    text = _cli("tags", "import", str(bad), "--store", store, lang="uk", code=2)
    assert "хибний рядок: " in text and "'not-an-address' — не адреса Bitcoin" in text, text
    assert "1 хибний рядок пропущено; інші рядки імпортовано" in text


def test_uk_screen_lines_and_table(uk_store, tmp_path):
    store, _out = uk_store
    nb = "\u00a0"
    text = _cli("screen", CB9, "--store", store, lang="uk")
    lines = text.splitlines()
    assert lines[0] == f"НИЗЬКИЙ транзакція {CB9}" and lines[1].startswith("  низький: "), lines[:2]
    header = next(line for line in lines if "напрям" in line)
    assert [w.strip() for w in header.strip("┃ ").split("┃")] == ["напрям", "категорія", "сума (сат)", "частка",
                                                                  "напряму (сат)", "опосередковано (сат)",
                                                                  "переходи", "контрагент"]
    row = next(line for line in lines if EXCHANGE in line and "│" in line)
    cells = [w.strip() for w in row.strip("│ ").split("│")]
    assert cells[:4] == ["вихідна", "біржа", f"1{nb}000{nb}000{nb}000", "20,00%"], row
    assert lines[-1] == f"  виходи (сат) 5{nb}000{nb}000{nb}000, відстежено вхідних (сат) 5{nb}000{nb}000{nb}000, " \
                        f"відстежено вихідних (сат) 5{nb}000{nb}000{nb}000"
    reason = lines[1].replace(CB9, "")       # the reason, from analysis's parts through the catalog
    assert "пішло до категорії «біржа» у межах " in reason and f"1{nb}000{nb}000{nb}000 сат" in reason, reason
    assert "20,00% коштів, відстежених далі" in reason and "; шлях " in reason, reason
    ours = "\n".join(lines).replace(CB9, "")
    assert f"; мітка 'Exchange Bravo' [exchange] на {EXCHANGE} (" in reason, reason   # label, kind: the tag's data
    for english in ("LOW", "transaction", "direction", "share", "counterparty", "outgoing", "traced", "went to",
                    "within", "hops", "path", " on ", "tag "):
        assert english not in ours, english
    js = json.loads(_cli("screen", CB9, "--store", store, "--json", lang="uk"))
    text = next(r["text"] for r in js["risk"]["reasons"] if r["category"] == "exchange")
    assert "(20.00% of the funds traced onward) went to exchange within " in text, text     # --json stays English
    batch = tmp_path / "subjects.txt"
    batch.write_text(f"{EXCHANGE}\n{CB9}\n")
    done = next(line for line in _cli("screen", str(batch), "--store", store, lang="uk").splitlines()
                if line.startswith("перевірено 2 за "))
    assert done.endswith(" с: критичний 0, високий 0, середній 0, низький 2"), done


@pytest.mark.parametrize("args", [
    ("screen", CB9),
    ("trace", "--from", f"{CB9}:0", "--max-hops", "20", "--until-exchange"),
    ("store", "info"),
    ("sql", "SELECT txid, block_height, fee_sat FROM txs ORDER BY block_height, tx_index LIMIT 5"),
    ("tags", "show", EXCHANGE),
    ("entity", "show", EXCHANGE),
    ("tags", "stats"),
])
def test_json_output_is_the_same_in_every_language(uk_store, args):
    """--json is for scripts: keys and values never translated, numbers never grouped."""
    import json

    store, _out = uk_store
    en = _cli(*args, "--store", store, "--json")
    uk = _cli(*args, "--store", store, "--json", lang="uk")
    assert json.loads(uk) == json.loads(en)
    assert uk == en
