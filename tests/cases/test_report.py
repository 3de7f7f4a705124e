"""The court report: rendered to PDF with WeasyPrint, its first page rasterised with pdftoppm and read back.

The PNG must show the TLP:AMBER marking in FIRST's colours; the page's text must carry the prosecutor's
summary with the exact amounts; the whole report must carry the methodology, error rates, tags with source
and confidence, the exchange records reconciliation, the provenance hashes and the verified custody chain.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape

import pytest
from ct_cases import BLOCK170, EXCHANGE_ADDR, HAL, SATOSHI9, TX170

from chaintrail.cases.audit import entries
from chaintrail.cases.exchange_records import map_legs, read_legs
from chaintrail.cases.report import build_report
from chaintrail.store.chainstore import ChainStore

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None and not __import__("os").environ.get("CI"),
                                reason="poppler-utils (pdftoppm) not installed; scripts/setup.sh installs it")

HEADER = b"entity_name,target_address,bitcoin_address,transaction_id,date,amount_satoshi,amount_btc,amount_usd," \
         b"wallet_address,type\n"


def records() -> bytes:
    """An exchange's answer in the syntagma export's shape: Hal's deposit, the change, the spend (one wrong)."""
    rows = [(HAL, 10 * 10**8, "Incoming"), (SATOSHI9, 40 * 10**8, "Outgoing"), (SATOSHI9, 50 * 10**8, "Outgoing"),
            (HAL, 11 * 10**8, "Incoming")]
    body = "".join(f"Suspect,{HAL},{a},{TX170},2009-01-12 03:30:25,{v},{v / 1e8},0,{HAL},{t}\n" for a, v, t in rows)
    return HEADER + body.encode()


@pytest.fixture(scope="module")
def case(tmp_path_factory, chain_store, trace9):
    from chaintrail.cases.repository import CaseRepository
    repo = CaseRepository.open(tmp_path_factory.mktemp("report") / "cases.sqlite")
    p = repo.bootstrap("NCA", "alice")[0]
    ref = repo.create_case(p, "Proceeds of the block 9 coinbase",
                           "Where did the 50 BTC mined in block 9 go, and which exchange can be served?", "amber")["ref"]
    repo.add_finding(p, ref, trace9)
    with ChainStore(chain_store) as st:
        meta = map_legs(st, read_legs(records(), "exchange-return.csv"))
    repo.add_attachment(p, ref, "exchange-return.csv", records(), kind="exchange_records", media_type="text/csv",
                        meta=meta)
    repo.add_tag(p, ref, HAL, "Hal Finney", category="user", source="public record", confidence="authority_data")
    repo.add_note(p, ref, "Deposit account holder identified by the exchange's return of 4 March.", level="amber")
    repo.add_note(p, ref, "Informant VIOLET names the holder.", level="red")
    yield repo, p, ref
    repo.close()


def _text(pdf, tmp_path, first: int | None = None) -> str:
    f = tmp_path / "r.pdf"
    f.write_bytes(pdf)
    args = ["pdftotext", "-layout"] + (["-f", str(first), "-l", str(first)] if first else []) + [str(f), "-"]
    return " ".join(subprocess.run(args, check=True, capture_output=True, text=True).stdout.split())


def test_pdf_first_page_png_and_text(case, tmp_path, trace9):
    from PIL import Image

    repo, p, ref = case
    pdf = build_report(repo, p, ref, "pdf")
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"),
                    str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    img = Image.open(png).convert("RGB")
    w, h = img.size
    assert abs(h / w - 297 / 210) < 0.01                      # A4 portrait
    px = img.load()
    top = [px[x, y] for x in range(w) for y in range(h // 5)]
    amber = sum(1 for r, g, b in top if abs(r - 255) < 40 and abs(g - 192) < 40 and b < 80)
    black = sum(1 for r, g, b in top if max(r, g, b) < 20)
    assert amber > 30 and black > 800                         # TLP:AMBER, amber on black, at the top of the page
    bottom = [px[x, y] for x in range(w) for y in range(h - h // 12, h)]
    assert sum(1 for r, g, b in bottom if abs(r - 255) < 40 and abs(g - 192) < 40 and b < 80) > 10   # and the foot
    page1 = _text(pdf, tmp_path, 1)
    for words in (f"Case reference {ref}", "Summary for the prosecutor", "TLP:AMBER",
                  "50.00000000 BTC held at output 0 of transaction",
                  "Of this, 10.00000000 BTC (20.0%) was paid into addresses attributed to 1 service: Exchange Bravo",
                  "40.00000000 BTC (80.0%) remained unspent", "Reservations"):
        assert words in page1, words
    full = _text(pdf, tmp_path)
    for words in ("Fund flow", "Endpoints and amounts", "Services to serve legal process on", "Methodology",
                  "Heuristics and their measured error rates", "not yet measured", "Haircut (proportional)",
                  "Attribution tags", "forensic (50)", "service_data", "https://example.org/attribution",
                  "Exchange records received under legal process", "4 transaction legs over 1 transaction (",
                  "Data provenance", "Chain of custody", "chain intact", "Appendix: blocks read", BLOCK170,
                  EXCHANGE_ADDR, "Deposit account holder identified"):
        assert words in full, words
    assert trace9["finding_hash"] in full.replace(" ", "") and "VIOLET" not in full.replace("Informant VIOLET", "")


def test_html_report_for_a_partner_withholds_red(case):
    repo, p, ref = case
    html = build_report(repo, p, ref, "html", recipient_level="amber").decode()
    assert "Informant VIOLET" not in html and "1 item(s) marked above that level are withheld" in html
    assert "<svg" in html and "Exchange Bravo" in html
    full = build_report(repo, p, ref, "html").decode()
    assert "Informant VIOLET" in full
    with repo.db.read() as conn:
        acts = [e.action for e in entries(conn, case_ref=ref)]
    assert acts.count("case.report") >= 2


def test_html_report_in_ukrainian_with_locale_amounts(case):
    """--lang uk: the report's words come from the uk catalog, amounts are exact with the uk comma and grouping."""
    repo, p, ref = case
    html = build_report(repo, p, ref, "html", lang="uk").decode()
    assert "<html lang=uk>" in html
    for words in ("Резюме для прокурора", "Рух коштів", "Кінцеві точки та суми", "Методологія",
                  "Ланцюг зберігання доказів", "Усього відстежено", "Надійшло до атрибутованих сервісів"):
        assert words in html, words
    # block 9's 50 BTC, traced: exact to the satoshi with a decimal comma, never the English point
    assert "<b>50,00000000 BTC</b>" in html and "50.00000000" not in html
    assert "100,0%" in html and "Summary for the prosecutor" not in html
    en = build_report(repo, p, ref, "html").decode()       # the default stays English
    assert "Summary for the prosecutor" in en and "<b>50.00000000 BTC</b>" in en


# What the case's users wrote (title, summary, notes, tag labels and sources) stays as written in any language.
USER_TEXT = ("Proceeds of the block 9 coinbase", "Where did the 50 BTC mined in block 9 go", "Deposit account holder",
             "Informant VIOLET", "LockBit-like operator", "Exchange Bravo", "Hal Finney", "public record",
             "added by tester")


def _prose(html: str) -> list[str]:
    """The text runs of a report, without markup and without data cells (addresses, hashes)."""
    s = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    s = re.sub(r'<(span|code|td|div) class="?(mono|hash)"?[^>]*>.*?</\1>|<code>.*?</code>', " ", s, flags=re.S)
    s = re.sub(r"\w+ \(\w+\), [\d-]+ [\d:]+ UTC", " ", s)            # who prepared it, and when
    return [x.strip() for x in unescape(re.sub(r"<[^>]+>", "\n", s)).split("\n") if x.strip()]


def test_ukrainian_report_has_no_english_prose(case):
    """Every sentence of the English report that is not user data reads differently in the Ukrainian one."""
    repo, p, ref = case
    en = build_report(repo, p, ref, "html").decode()
    uk = build_report(repo, p, ref, "html", lang="uk").decode()
    uk_text = "\n".join(_prose(uk))
    left = [x for x in _prose(en) if len(x.split()) >= 3 and re.search("[a-z]{3}", x) and x in uk_text
            and not any(u in x for u in USER_TEXT)]
    assert not left, left[:10]
    for english in ("was traced forward through", "These services keep customer records", "This finding rests on",
                    "Heuristics and their measured error rates", "Haircut (proportional): each transaction",
                    "The records list", "Result of the lookup", "Each finding is identified", "Transactions (hops",
                    "have not yet been measured", "No real-data", "sum of the per-protocol rows"):
        assert english in en and english not in uk, english
    assert "відстежено вперед через 8 транзакцій" in uk and "ланцюжка відщеплень (peel chain)" in uk
