"""Exchange records from legal process: the real syntagma CSV legs read exactly, and legs mapped onto chain data."""

from __future__ import annotations

import csv

import pytest
from ct_cases import BLOCK170, HAL, SATOSHI9, SYNTAGMA, TX170

from chaintrail.cases.exchange_records import map_legs, read_legs
from chaintrail.errors import DecodeError
from chaintrail.store.chainstore import ChainStore

HEADER = "entity_name,target_address,bitcoin_address,transaction_id,date,amount_satoshi,amount_btc,amount_usd," \
         "wallet_address,type\n"


def test_real_syntagma_legs_are_read_exactly(chain_store):
    files = sorted(SYNTAGMA.glob("btc_transactions_*.csv"))
    assert len(files) == 3
    legs = [leg for f in files for leg in read_legs(f.read_bytes(), f.name)]
    # Counted independently with the csv module: every row, every sat.
    rows = [r for f in files for r in csv.DictReader(f.open(newline=""))]
    assert len(legs) == len(rows) == 9948
    assert sum(leg.amount_sat for leg in legs) == sum(int(r["amount_satoshi"]) for r in rows) == 657_505_649_783
    assert len({leg.txid for leg in legs}) == 377
    assert {leg.entity for leg in legs} == {"Alex Jones / Infowars"}
    assert legs[0].address == "bc1q0kpk303cljyn62vgve34hcxlztn7zfmh0jgjtf" and legs[0].direction == "Outgoing"
    with ChainStore(chain_store) as st:
        m = map_legs(st, legs)
    # These are 2021-2022 transactions; the store holds blocks 0-599: none of them can be on chain here.
    assert m["by_status"] == {"tx_not_in_store": 9948} and m["transactions_in_store"] == 0
    assert (m["first_date"], m["last_date"]) == ("2021-04-16 02:33:09", "2022-11-08 16:58:16")
    assert len(m["accounts"]) == 3


def test_legs_are_placed_on_outputs_and_inputs(chain_store):
    data = (HEADER
            + f"S,{HAL},{HAL},{TX170},2009-01-12,1000000000,10,0,{HAL},Incoming\n"       # Hal's 10 BTC output
            + f"S,{HAL},{SATOSHI9},{TX170},2009-01-12,4000000000,40,0,{HAL},Outgoing\n"  # the change output
            + f"S,{HAL},{SATOSHI9},{TX170},2009-01-12,5000000000,50,0,{HAL},Outgoing\n"  # the spent input
            + f"S,{HAL},{HAL},{TX170},2009-01-12,999,0.00000999,0,{HAL},Incoming\n"       # wrong amount
            + f"S,{HAL},1BitcoinEaterAddressDontSendf59kuE,{TX170},2009-01-12,1,0,0,{HAL},\n"
            + f"S,{HAL},{HAL},{'ab' * 32},2021-01-01,5,0,0,{HAL},Incoming\n").encode()
    with ChainStore(chain_store) as st:
        m = map_legs(st, read_legs(data, "return.csv"))
    got = [(leg["status"], leg["side"], leg["index"]) for leg in m["per_leg"]]
    assert got == [("matched_output", "output", 0), ("matched_output", "output", 1), ("matched_input", "input", 0),
                   ("amount_differs", None, None), ("address_not_in_tx", None, None),
                   ("tx_not_in_store", None, None)]
    assert m["per_leg"][0]["block_hash"] == BLOCK170 and m["per_leg"][0]["block_height"] == 170
    assert m["matched_sat"] == 100 * 10**8 and m["block_hashes"] == [BLOCK170]


@pytest.mark.parametrize("body,words,offset", [
    ("S,a,b,nothex,2020,1,1,1,w,x\n", "line 2: 'nothex' is not a transaction id", len(HEADER)),
    (f"S,a,b,{'ab' * 32},2020,1.5,1,1,w,x\n", "amount 1.5 is not a whole", len(HEADER)),
    (f"S,a,b,{'ab' * 32},2020,1,1,1,w,x\nS,a,b\n", "line 3 has 3 fields", len(HEADER) + 86),
])
def test_bad_rows_name_the_file_line_and_offset(body, words, offset):
    with pytest.raises(DecodeError) as err:
        read_legs((HEADER + body).encode(), "return.csv")
    assert words in str(err.value) and err.value.source == "return.csv" and err.value.offset == offset


def test_missing_columns_are_named():
    with pytest.raises(DecodeError, match=r"lack column\(s\) address, amount"):
        read_legs(b"txid,foo\n" + b"ab" * 32 + b",1\n", "x.csv")
