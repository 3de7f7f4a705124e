"""contracts: selectors and ERC detection on real mainnet bytecode against ethereum-etl; constants recomputed."""

from __future__ import annotations

import pytest
from eth_etl_fixtures import case, one, records, rpc_result

from chaintrail.chains.ethereum import contracts as c
from chaintrail.chains.ethereum.hexutil import keccak256, selector
from chaintrail.chains.ethereum.traces import parity_traces
from chaintrail.errors import DecodeError


def _hexes(selectors: list[int]) -> list[str]:
    return [f"0x{s:08x}" for s in selectors]


def test_cryptokitties_erc721_contract():
    folder = case("test_export_contracts_job", "erc721_contract")
    code = bytes.fromhex(rpc_result(one(folder, "web3_response.eth_getCode_*.json"))[2:])
    [want] = records(folder / "expected_contracts.json")
    ours = c.function_selectors(code)
    # Named difference: ethereum-etl lists solc 0.4's selector mask 0xffffffff (PUSH4 0xffffffff AND in the
    # dispatcher's first block) as a function; we list only the 59 selectors the dispatcher compares with.
    assert _hexes(ours) == [s for s in want["function_sighashes"] if s != "0xffffffff"]
    assert len(ours) == 59 and "0xffffffff" in want["function_sighashes"]
    assert (c.is_erc20(ours), c.is_erc721(ours)) == (want["is_erc20"], want["is_erc721"]) == (False, True)
    assert not c.is_erc1155(ours)


@pytest.mark.parametrize("name", ["blocks_508110_508110", "blocks_2112234_2112234"])
def test_stream_contracts_from_create_traces(name):
    """The contracts' code comes from the create traces' output, as ethereum-etl's stream takes it."""
    folder = case("test_stream", name)
    path = one(folder, "web3_response.trace_block_*.json")
    traces = parity_traces(int(path.stem.rsplit("_", 1)[1], 16), rpc_result(path))
    created = {to: out for kind, to, out, status in zip(traces["trace_type"], traces["to_address"],
                                                        traces["output"], traces["status"])
               if kind == "create" and status == 1}
    want = records(folder / "expected_contracts.json")
    assert sorted(created) == sorted(w["address"] for w in want)
    for w in want:
        assert created[w["address"]] == w["bytecode"]
        ours = c.function_selectors(bytes.fromhex(w["bytecode"][2:]))
        assert _hexes(ours) == w["function_sighashes"]
        assert (c.is_erc20(ours), c.is_erc721(ours)) == (w["is_erc20"], w["is_erc721"])
    if name == "blocks_2112234_2112234":
        assert want[0]["is_erc20"] is True  # the case holds a token, so the rule is exercised both ways


def test_selectors_of_called_contracts_are_not_the_contracts_own():
    # Block 508110's contract calls bbd39ac0 on another contract (PUSH4 0xbbd39ac0 ... CALL): its code holds
    # the PUSH4, yet the function is not its own. Taking every PUSH4 would list it.
    [w] = records(case("test_stream", "blocks_508110_508110") / "expected_contracts.json")
    code = bytes.fromhex(w["bytecode"][2:])
    assert bytes.fromhex("63bbd39ac0") in code
    assert 0xBBD39AC0 not in c.function_selectors(code)


def test_push_data_is_skipped_and_truncated_code_is_safe():
    eq_pattern = bytes.fromhex("63aabbccdd14")  # PUSH4 0xaabbccdd EQ
    inside_push32 = bytes([0x7F]) + eq_pattern + bytes(26)  # the same bytes as PUSH32 data
    assert c.function_selectors(inside_push32) == []
    assert c.function_selectors(eq_pattern) == [0xAABBCCDD]
    assert c.function_selectors(bytes.fromhex("63aabbccdd8114")) == [0xAABBCCDD]  # PUSH4 x DUP2 EQ
    assert c.function_selectors(bytes.fromhex("63aabbccdd8118")) == [0xAABBCCDD]  # Vyper: PUSH4 x DUP2 XOR
    assert c.function_selectors(bytes.fromhex("63ffffffff16")) == []              # PUSH4 mask AND
    assert c.function_selectors(bytes.fromhex("63aabbccdd8282")) == []            # two DUPs: not a dispatch
    for cut in range(1, 6):
        assert c.function_selectors(eq_pattern[:cut]) == []  # a PUSH running past the end is not an error
    assert c.function_selectors(b"") == []


def test_selector_constants_and_interface_id():
    for const, sig in [(c.TOTAL_SUPPLY, "totalSupply()"), (c.BALANCE_OF, "balanceOf(address)"),
                       (c.TRANSFER, "transfer(address,uint256)"),
                       (c.TRANSFER_FROM, "transferFrom(address,address,uint256)"),
                       (c.APPROVE, "approve(address,uint256)"), (c.ALLOWANCE, "allowance(address,address)"),
                       (c.OWNER_OF, "ownerOf(uint256)")]:
        assert const == selector(sig), sig
    sigs = ["balanceOf(address,uint256)", "balanceOfBatch(address[],uint256[])", "setApprovalForAll(address,bool)",
            "isApprovedForAll(address,address)", "safeTransferFrom(address,address,uint256,uint256,bytes)",
            "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)"]
    assert list(c.ERC1155_SELECTORS) == [selector(s) for s in sigs]
    x = 0
    for s in c.ERC1155_SELECTORS:
        x ^= s
    assert x == c.ERC1155_INTERFACE_ID == 0xD9B67A26  # the id ERC-1155 publishes


def test_erc_rules():
    erc20 = [c.TOTAL_SUPPLY, c.BALANCE_OF, c.TRANSFER, c.TRANSFER_FROM, c.APPROVE, c.ALLOWANCE]
    assert c.is_erc20(erc20) and not c.is_erc20(erc20[:-1])
    assert c.is_erc721([c.OWNER_OF, c.BALANCE_OF, c.APPROVE, c.TRANSFER])
    assert c.is_erc721([c.OWNER_OF, c.BALANCE_OF, c.APPROVE, c.TRANSFER_FROM])
    assert not c.is_erc721([c.OWNER_OF, c.BALANCE_OF, c.APPROVE])
    assert c.is_erc1155(list(c.ERC1155_SELECTORS) + [0x01FFC9A7])
    assert not c.is_erc1155(list(c.ERC1155_SELECTORS)[1:])


@pytest.mark.parametrize("name, const", [("implementation", c.EIP1967_IMPLEMENTATION_SLOT),
                                         ("beacon", c.EIP1967_BEACON_SLOT), ("admin", c.EIP1967_ADMIN_SLOT)])
def test_eip1967_slots(name, const):
    slot = int.from_bytes(keccak256(f"eip1967.proxy.{name}".encode()), "big") - 1
    assert const == f"0x{slot:064x}"


def test_code_hash_slot_address_and_minimal_proxy():
    assert c.bytecode_hash(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    impl = "0x" + "be" * 20
    assert c.slot_address(bytes(12) + bytes.fromhex(impl[2:])) == impl
    assert c.slot_address(bytes(32)) is None
    with pytest.raises(DecodeError, match="is not an address"):
        c.slot_address(b"\x01" + bytes(31))
    with pytest.raises(DecodeError, match="storage word of 20 bytes"):
        c.slot_address(bytes(20))
    clone = bytes.fromhex("363d3d373d3d3d363d73" + impl[2:] + "5af43d82803e903d91602b57fd5bf3")
    assert c.eip1167_implementation(clone) == impl
    assert c.eip1167_implementation(clone[:-1]) is None
