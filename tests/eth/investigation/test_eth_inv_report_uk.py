"""The court report of an Ethereum case in Ukrainian (issue 22): a trace through Tornado Cash and a bridge, an
Ethereum account's forensic accounting and an exchange's Ethereum reply leave no English sentence behind, other
than what the case's users wrote; amounts keep their exact digits in the Ukrainian number format."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from eth_inv_served import cli, prepared_store
from eth_inv_stores import scenario_store

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

# What the case's users wrote, and the tag file's own words (source, names), stay as written in any language.
USER_TEXT = ("Sanctions evasion", "Through Tornado and a bridge", "Customer A", "reply.csv", "services.csv line",
             "scenario seed 11: public service addresses", "Uniswap V2 ")
HEADER = "transaction_hash,address,token_contract,asset,amount,type,date,entity_name\n"


def _prose(html: str) -> list[str]:
    """The text runs of a report, without markup and without data cells (addresses, hashes)."""
    s = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    s = re.sub(r'<(span|code|td|div) class="?(mono|hash)"?[^>]*>.*?</\1>|<code>.*?</code>', " ", s, flags=re.S)
    s = re.sub(r"\w+ \(\w+\), [\d-]+ [\d:]+ UTC", " ", s)            # who prepared it, and when
    return [x.strip() for x in unescape(re.sub(r"<[^>]+>", "\n", s)).split("\n") if x.strip()]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    from chaintrail.cases.eth_exchange_records import map_eth_legs, read_eth_legs, store_tokens
    from chaintrail.cases.eth_findings import eth_account_finding, eth_trace_finding, eth_trace_params
    from chaintrail.cases.repository import CaseRepository

    store, key = prepared_store(tmp_path_factory)
    _, scenario, _ = scenario_store(tmp_path_factory, 11)
    for f in sorted((scenario / "prices").glob("*_usd_daily.csv")):
        cli("prices", "import", str(f), "--store", str(store))
    found = {}
    with ChainStore(store) as st:
        for c in key["cases"]:
            for src in c["sources"]:
                f = eth_trace_finding(st, src["tx"], eth_trace_params(until_exchange=True), until_exchange=True)
                for part in ("demix", "bridges"):
                    if f["result"].get(part) and part not in found:
                        found[part] = f
        account = next(iter(found.values()))["result"]["endpoints"][0]["address"]
        acct = eth_account_finding(st, account)
        tok = query(st, "SELECT transaction_hash AS tx, to_address AS dst, asset, amount FROM value_flows "
                        "WHERE kind = 'erc20' AND amount::HUGEINT > 1000000 AND from_address IS NOT NULL "
                        "ORDER BY block_number, flow_index LIMIT 1", chain="eth").to_pylist()[0]
        tokens = store_tokens(st)
        t = tokens[tok["asset"]]
        amount = format(Decimal(int(tok["amount"])).scaleb(-t.decimals), "f")
        reply = (HEADER + f"{tok['tx']},{tok['dst']},{tok['asset']},{t.symbol},{amount},Incoming,2024-05-01,"
                 f"Customer A\n0x{'ee' * 32},{tok['dst']},{tok['asset']},{t.symbol},1,Incoming,,\n").encode()
        meta = map_eth_legs(st, read_eth_legs(reply, "reply.csv", tokens))
    assert set(found) == {"demix", "bridges"}
    repo = CaseRepository.open(tmp_path_factory.mktemp("eth-report-uk") / "cases.sqlite")
    p = repo.bootstrap("NCA", "alice")[0]
    ref = repo.create_case(p, "Sanctions evasion", "Through Tornado and a bridge", "amber")["ref"]
    for f in [*{id(f): f for f in found.values()}.values(), acct]:
        repo.add_finding(p, ref, f)
    repo.add_attachment(p, ref, "reply.csv", reply, kind="exchange_records", media_type="text/csv", meta=meta)
    yield repo, p, ref
    repo.close()


def test_ethereum_report_in_ukrainian_has_no_english_prose(case) -> None:
    from chaintrail.cases.report import build_report

    repo, p, ref = case
    en = build_report(repo, p, ref, "html").decode()
    uk = build_report(repo, p, ref, "html", lang="uk").decode()
    for part in ("Tornado", "nonce", "Судово-бухгалтерський"):
        assert part in uk, part
    uk_text = "\n".join(_prose(uk))
    left = [x for x in _prose(en) if len(x.split()) >= 3 and re.search("[a-z]{3}", x) and x in uk_text
            and not any(u in x for u in USER_TEXT)]
    assert not left, f"{len(left)} English runs in the uk report: {left[:15]}"
