"""Published Ethereum label sets in their own CSV layouts: Tutela (pareto-xyz/tutela-app) and Forta.

Each layout is recognised by its header row (Tutela's ``tornadocontracts.csv`` has none: address, symbol,
denomination, name), and every row becomes a tag with GraphSense concepts:

* Tutela ``known_addresses.csv`` / ``etherscan.csv`` / ``etherclust.csv`` / ``tornado.csv`` / ``kaggle.csv``:
  the entity column (exchange, defi, dex, mining, ico wallets, tornado) gives the category; a row marked
  illegitimate gets an abuse concept from its tags (phish -> phishing, hack/heist/exploit -> service_hack,
  scam/ponzi/fake ico/spam -> scam; a victim's tag such as "parity bug" or "compromised" gives none).
* Forta ``phishing_scams.csv`` and ``etherscan_malicious_labels.csv``: phishing, or service_hack for the
  exploit and heist lists; ``malicious_smart_contracts.csv``: the contract and, as a second tag, its
  deployer (label "deployer of ..."), both with the deployer's Etherscan label's abuse.

The source of every tag is the set's ``PROVENANCE.txt`` SOURCE line (repository and commit) and the file's
path in it; the confidence is ``web_crawl`` (Etherscan labels gathered by third parties), except for the
Tornado pool contracts, which are public protocol addresses (``service_data``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa

from chaintrail.i18n import _
from chaintrail.tags.csvtags import text_lines
from chaintrail.tags.errors import TagFileError
from chaintrail.tags.model import finish_tags

_ENTITY = {"exchange": "exchange", "fiat gateway": "exchange", "wallet": "wallet_service", "defi": "defi",
           "dex": "defi_dex", "mining": "mining_service", "ico wallets": "ico_wallet", "tornado": "mixing_service"}
_ABUSE_WORDS = (("phish", "phishing"), ("hack", "service_hack"), ("heist", "service_hack"),
                ("exploit", "service_hack"), ("scam", "scam"), ("ponzi", "ponzi_scheme"), ("fake ico", "scam"),
                ("spam", "scam"), ("suspicious", "scam"), ("unsafe", "scam"))
_FORTA_ABUSE = {"phish-hack": "phishing", "etherscan-phish-hack-list": "phishing", "exploit": "service_hack",
                "etherscan-exploit-list": "service_hack", "heist": "service_hack",
                "etherscan-heist-list": "service_hack"}
_HEX_ADDR = re.compile(r"0x[0-9a-fA-F]{40}$")

# header (lower-cased, empty trailing names dropped) -> layout
LAYOUTS = {
    ("address", "name", "account_type", "entity", "legitimacy", "tags"): "tutela",
    ("address", "name", "account_type", "entity", "labels", "tags"): "tutela",
    ("address", "name", "account_type", "type"): "tutela",
    ("address", "name", "account_type", "type", "legitimacy", "tags"): "tutela",
    ("address", "name", "account type", "contract type", "entity", "label", "tags"): "kaggle",
    ("address", "etherscan_tag", "etherscan_labels", "is_contract"): "forta_phishing",
    ("banned_address", "wallet_tag", "data_source"): "forta_malicious",
    ("contract_address", "contract_tag", "contract_creator", "contract_creation_tx", "contract_creator_tag",
     "source", "notes", "contract_creator_etherscan_label"): "forta_contracts",
    ("contract_address", "contract_tag", "contract_creator", "contract_creator_tag", "source", "notes"):
        "forta_contracts",
}


def layout_of(text: str) -> str | None:
    """Which label-set layout a CSV's first line shows, or None for any other CSV."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    cells = [c.strip().lower() for c in next(csv.reader([first]), [])]
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) == 4 and _HEX_ADDR.match(cells[0]) and re.fullmatch(r"[0-9.]+", cells[2]):
        return "tornado_contracts"
    return LAYOUTS.get(tuple(cells))


def provenance_source(path: str) -> str:
    """The label set's origin: its PROVENANCE.txt SOURCE line (in the file's folder or one above) + the path."""
    p = Path(path)
    for folder in (p.parent, p.parent.parent, p.parent.parent.parent):
        prov = folder / "PROVENANCE.txt"
        if prov.is_file():
            for line in prov.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("SOURCE:"):
                    return f"{line[7:].strip()}; file {p.relative_to(folder).as_posix()}"
    return p.name


def read_label_set(text: str, path: str, layout: str) -> tuple[pa.Table, list[TagFileError]]:
    """Tags for one label-set file, and an error naming the line of each row left out (no 0x address)."""
    rows = list(csv.reader(text_lines(text.lstrip("\ufeff"))))
    body = rows if layout == "tornado_contracts" else rows[1:]
    first_line = 1 if layout == "tornado_contracts" else 2
    source = provenance_source(path)
    cols: dict[str, list] = {k: [] for k in ("address", "label", "category", "abuse", "source", "confidence",
                                             "currency", "network", "context", "tx_hash", "origin_line")}
    network = "optimism" if "/labels/10/" in Path(path).as_posix() else None
    bad: list[TagFileError] = []

    def add(line: int, address: str, label: str, category=None, abuse=None, confidence="web_crawl",
            context=None, tx_hash=None) -> None:
        if not _HEX_ADDR.match(address.strip()):
            bad.append(TagFileError(_("{address} is not a 0x address").format(
                address=repr(address.strip()[:60])), path, line))
            return
        for k, v in (("address", address.strip()), ("label", label), ("category", category), ("abuse", abuse),
                     ("source", source), ("confidence", confidence), ("currency", "ETH"), ("network", network),
                     ("context", context), ("tx_hash", tx_hash), ("origin_line", line)):
            cols[k].append(v)

    for i, row in enumerate(body):
        line = first_line + i
        row = [c.strip() for c in row]
        if not any(row):
            continue
        _row(layout, row, line, add)
    n = len(cols["address"])
    cols["origin_file"] = [path] * n
    cols["tagpack"] = [f"{Path(path).parent.name}/{Path(path).name}"] * n
    return finish_tags(cols), bad


def _row(layout: str, row: list[str], line: int, add) -> None:
    get = (lambda k: row[k] if k < len(row) else "")
    if layout == "tornado_contracts":
        add(line, get(0), f"Tornado Cash pool {get(2)} {get(1)}", "mixing_service", confidence="service_data",
            context=f"pool {get(3)}")
    elif layout == "tutela":
        kind = get(3).lower()
        legit = get(4) if len(row) > 4 else "1"
        tags = get(5).lower()
        abuse = _abuse_of(tags) if legit == "0" else None
        add(line, get(0), get(1) or kind or "labelled address", _entity(kind, get(1)), abuse,
            confidence="service_data" if kind == "tornado" else "web_crawl",
            context="; ".join(x for x in (get(2), tags) if x) or None)
    elif layout == "kaggle":
        tags = " ".join(row[6:]).lower()
        abuse = _abuse_of(tags) if get(5).lower() not in ("legit", "") else None
        add(line, get(0), get(1) or "labelled address", _entity(get(4).lower(), get(1)), abuse,
            context="; ".join(x for x in (get(2), get(3), ", ".join(c for c in row[6:] if c)) if x) or None)
    elif layout == "forta_phishing":
        add(line, get(0), get(1) or "phish-hack (Etherscan)", None, "phishing",
            context=f"etherscan labels: {get(2)}; contract: {get(3)}")
    elif layout == "forta_malicious":
        add(line, get(0), get(1) or get(2), None, _FORTA_ABUSE.get(get(2), "scam"), context=get(2))
    else:  # forta_contracts
        creation = get(3) if len(row) >= 8 else ""
        creator_label = get(7).lower() if len(row) >= 8 else ""
        abuse = _FORTA_ABUSE.get(creator_label, "service_hack")
        tag = get(1) or creator_label or "malicious contract"
        add(line, get(0), tag, None, abuse, context=f"malicious contract deployed by {get(2)}",
            tx_hash=creation or None)
        if _HEX_ADDR.match(get(2)):
            creator_tag = get(4) if len(row) >= 8 else get(3)
            add(line, get(2), creator_tag or f"deployer of {tag}", None, abuse,
                context=f"deployer of malicious contract {get(0)}", tx_hash=creation or None)


def _entity(kind: str, name: str) -> str | None:
    """The concept of a row's entity column; Tornado Cash's own contracts by name when the column is empty."""
    return _ENTITY.get(kind) or ("mixing_service" if name.lower().startswith("tornado.cash") else None)


def _abuse_of(tags: str) -> str | None:
    for word, concept in _ABUSE_WORDS:
        if word in tags:
            return concept
    return None
