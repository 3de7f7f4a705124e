"""Contract bytecode -> the selectors it dispatches on, ERC-20/721/1155 detection, code hash, proxy slots.

``function_selectors`` walks the opcodes (skipping PUSH data) and keeps the 4-byte constants the contract
compares the call's selector with: a PUSH4 followed by EQ or XOR, directly or after one DUP/SWAP. That is the
shape of every Solidity dispatcher (old linear chains, newer binary splits whose pivots are also compared
by EQ) and of Vyper's (XOR). It leaves out PUSH4 constants that are not functions of this contract: the
selectors of functions it *calls* on others (a router calls transferFrom, approve, balanceOf ... and would
otherwise look like a token) and masks such as 0xffffffff.

Where this differs from ethereum-etl on purpose: ethereum-etl keeps every PUSH4 of the code's first basic
block (up to the first JUMPDEST), so for solc 0.4 contracts it lists the selector mask 0xffffffff as a
function, and for dispatchers split over several blocks it misses the selectors after the first JUMPDEST.
Its ERC-20 and ERC-721 rules are kept as they are.
"""

from __future__ import annotations

from collections.abc import Collection

from chaintrail.chains.ethereum.hexutil import keccak256
from chaintrail.errors import DecodeError

_PUSH1, _PUSH4, _PUSH32 = 0x60, 0x63, 0x7F
_DUP1, _SWAP16 = 0x80, 0x9F
_EQ, _XOR = 0x14, 0x18

# bytes32(uint256(keccak256("eip1967.proxy.<name>")) - 1), EIP-1967; recomputed in the tests
EIP1967_IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"
EIP1967_BEACON_SLOT = "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50"
EIP1967_ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103"

# selectors, as 4-byte ints (each is keccak256(signature)[:4]; the tests recompute them)
TOTAL_SUPPLY = 0x18160DDD            # totalSupply()
BALANCE_OF = 0x70A08231              # balanceOf(address)
TRANSFER = 0xA9059CBB                # transfer(address,uint256)
TRANSFER_FROM = 0x23B872DD           # transferFrom(address,address,uint256)
APPROVE = 0x095EA7B3                 # approve(address,uint256)
ALLOWANCE = 0xDD62ED3E               # allowance(address,address)
OWNER_OF = 0x6352211E                # ownerOf(uint256)
ERC1155_SELECTORS = (
    0x00FDD58E,  # balanceOf(address,uint256)
    0x4E1273F4,  # balanceOfBatch(address[],uint256[])
    0xA22CB465,  # setApprovalForAll(address,bool)
    0xE985E9C5,  # isApprovedForAll(address,address)
    0xF242432A,  # safeTransferFrom(address,address,uint256,uint256,bytes)
    0x2EB2C2D6,  # safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)
)
ERC1155_INTERFACE_ID = 0xD9B67A26    # ERC-165 id: the XOR of the six above

# EIP-1167 minimal proxy: <prefix><20-byte implementation><suffix>
_EIP1167_PREFIX = bytes.fromhex("363d3d373d3d3d363d73")
_EIP1167_SUFFIX = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def function_selectors(bytecode: bytes) -> list[int]:
    """Selectors the code's dispatcher compares with (PUSH4 then EQ/XOR, maybe after one DUP/SWAP), sorted."""
    found: set[int] = set()
    n = len(bytecode)
    i = 0
    while i < n:
        op = bytecode[i]
        if op == _PUSH4 and i + 5 < n:
            j = i + 5
            nxt = bytecode[j]
            if _DUP1 <= nxt <= _SWAP16 and j + 1 < n:
                nxt = bytecode[j + 1]
            if nxt == _EQ or nxt == _XOR:
                found.add(int.from_bytes(bytecode[i + 1:i + 5], "big"))
        if _PUSH1 <= op <= _PUSH32:
            i += op - _PUSH1 + 2
        else:
            i += 1
    return sorted(found)


def is_erc20(selectors: Collection[int]) -> bool:
    """ethereum-etl's rule: all six ERC-20 functions."""
    s = set(selectors)
    return {TOTAL_SUPPLY, BALANCE_OF, TRANSFER, TRANSFER_FROM, APPROVE, ALLOWANCE} <= s


def is_erc721(selectors: Collection[int]) -> bool:
    """ethereum-etl's rule: ownerOf, balanceOf, approve, and transfer or transferFrom (early 721s had only one)."""
    s = set(selectors)
    return {OWNER_OF, BALANCE_OF, APPROVE} <= s and (TRANSFER in s or TRANSFER_FROM in s)


def is_erc1155(selectors: Collection[int]) -> bool:
    """All six functions of ERC-1155's ERC-165 interface (0xd9b67a26)."""
    return set(ERC1155_SELECTORS) <= set(selectors)


def bytecode_hash(bytecode: bytes) -> bytes:
    """keccak256 of the runtime code: what EXTCODEHASH returns (empty code: keccak256 of nothing)."""
    return keccak256(bytecode)


def slot_address(word: bytes) -> str | None:
    """The address in a storage word read at an EIP-1967 slot; None when the slot is empty.

    A word with non-zero high 12 bytes is not an address: DecodeError.
    """
    if len(word) != 32:
        raise DecodeError(f"storage word of {len(word)} bytes, expected 32")
    if any(word[:12]):
        raise DecodeError(f"storage word 0x{word.hex()} is not an address")
    return None if not any(word) else "0x" + word[12:].hex()


def eip1167_implementation(bytecode: bytes) -> str | None:
    """The implementation a minimal proxy (EIP-1167 clone) delegates to, else None."""
    if (len(bytecode) == 45 and bytecode.startswith(_EIP1167_PREFIX)
            and bytecode.endswith(_EIP1167_SUFFIX)):
        return "0x" + bytecode[10:30].hex()
    return None
