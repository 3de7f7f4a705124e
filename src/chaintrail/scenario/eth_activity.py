"""Fill a local anvil chain with a deterministic mix of real contract activity, for tests and benches.

``drive(url, seed=, blocks=, txs_per_block=)`` compiles the contracts in ``eth_contracts/`` with the pinned
solc, deploys them from anvil's first dev account (the stablecoin issuer), hands out tokens, then mines
``blocks`` blocks of ``txs_per_block`` transactions drawn by ``numpy.random.Generator(seed)`` (see
``eth_actions``). Mining is manual (automine off, ``evm_mine`` with a set timestamp), every transaction names
its nonce, gas and fees, all of a block's are sent in one JSON-RPC batch, and each block is checked as it is
mined: the node must include every transaction sent, each with the receipt status planned. So the same seed
on a node started the same way (same genesis timestamp: anvil ``--timestamp``) gives the same chain, block
hash for block hash.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from chaintrail.chains.ethereum.hexutil import keccak256
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.chains.ethereum.solc import compile_files
from chaintrail.errors import SourceError
from chaintrail.scenario.eth_actions import ETHER, ITEM_IDS, USD, Ledger, Planned, Planner
from chaintrail.scenario.eth_calls import calldata, constructor_data

CONTRACTS_DIR = Path(__file__).resolve().parent / "eth_contracts"
MAX_FEE = 100 * 10**9          # one max fee for every style, so the pool's fee ordering keeps send order
PRIORITY_FEE = 10**9
BLOCK_GAS_BUDGET = 25_000_000  # planned gas limits per block, below anvil's 30M block gas limit
STYLES = ("eip1559", "legacy", "access_list")
STYLE_P = (0.7, 0.2, 0.1)
ODD_SUPPLY = 10**9 * ETHER


def create_address(sender: str, nonce: int) -> str:
    """The address CREATE gives a contract deployed by ``sender`` at ``nonce``: keccak(rlp([sender, nonce]))."""
    raw_nonce = b"" if nonce == 0 else nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    nonce_rlp = raw_nonce if len(raw_nonce) == 1 and raw_nonce[0] < 0x80 else bytes([0x80 + len(raw_nonce)]) + raw_nonce
    body = bytes([0x94]) + bytes.fromhex(sender[2:]) + nonce_rlp
    return "0x" + keccak256(bytes([0xC0 + len(body)]) + body)[12:].hex()


class _Miner:
    """Sends planned transactions with explicit nonces and fees, mines them as one block and checks it."""

    def __init__(self, rpc: EthRpc, rng: np.random.Generator, accounts: list[str]):
        self.rpc = rpc
        self.rng = rng
        counts = rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in accounts])
        self.nonce = {a: int(n, 16) for a, n in zip(accounts, counts)}
        head = rpc.call("eth_getBlockByNumber", ["latest", False])
        self.number = int(head["number"], 16)
        self.timestamp = int(head["timestamp"], 16)
        self.transactions = 0

    def fields(self, tx: Planned) -> dict:
        nonce = self.nonce[tx.sender]
        self.nonce[tx.sender] = nonce + 1
        out: dict[str, object] = {"from": tx.sender, "data": tx.data, "value": hex(tx.value), "gas": hex(tx.gas),
                                  "nonce": hex(nonce)}
        if tx.to is not None:
            out["to"] = tx.to
        style = STYLES[int(self.rng.choice(len(STYLES), p=STYLE_P))]
        if style == "eip1559":
            out.update(maxFeePerGas=hex(MAX_FEE), maxPriorityFeePerGas=hex(PRIORITY_FEE))
        else:
            out["gasPrice"] = hex(MAX_FEE)
            if style == "access_list":
                out["accessList"] = []
        return out

    def mine(self, planned: list[Planned]) -> list[dict]:
        """Send ``planned``, mine one block, check it, and return the receipts in ``planned``'s order.

        The node may mine them in another order (its pool does, with many transactions per sender);
        the plans do not depend on it (see eth_actions.Ledger), and the order itself is deterministic.
        """
        if sum(tx.gas for tx in planned) > BLOCK_GAS_BUDGET:
            raise ValueError(f"block {self.number + 1}: planned gas over {BLOCK_GAS_BUDGET}")
        calls = [("eth_sendTransaction", [self.fields(tx)]) for tx in planned]
        hashes = self.rpc.batch(calls) if calls else []  # one JSON-RPC batch, so the node sees the send order
        self.timestamp += int(self.rng.integers(6, 19))
        self.number += 1
        self.rpc.call("evm_mine", [self.timestamp])
        receipts = self.rpc.call("eth_getBlockReceipts", [hex(self.number)]) or []
        by_hash = {r["transactionHash"]: r for r in receipts}
        if len(receipts) != len(hashes) or set(by_hash) != set(hashes):
            raise SourceError(f"anvil block {self.number}: mined {len(receipts)} transactions, not the "
                              f"{len(hashes)} sent")
        ordered = [by_hash[h] for h in hashes]
        for tx, receipt in zip(planned, ordered):
            if (receipt["status"] == "0x1") != tx.ok:
                raise SourceError(f"anvil block {self.number}: {tx.kind} tx {receipt['transactionHash']} has status "
                                  f"{receipt['status']}, planned {int(tx.ok)}")
        self.transactions += len(planned)
        return ordered


def _deploy(miner: _Miner, rng: np.random.Generator, accounts: list[str]) -> dict[str, str]:
    """Deploy every contract from the issuer in one block and return their addresses by role."""
    code = {name: bytecode for name, (_abi, bytecode) in
            compile_files(sorted(CONTRACTS_DIR.glob("*.sol"))).items()}
    issuer = accounts[0]
    roles = ["USDX", "PUSD_IMPL", "PUSD", "WETH", "NFT", "ITEMS", "ROUTER", "SINK", "FACTORY", "PIGGY", "ODD"]
    addr = {role: create_address(issuer, miner.nonce[issuer] + i) for i, role in enumerate(roles)}
    init_pusd = calldata("initialize(string,string,address)", "Proxied Dollar", "PUSD", issuer)
    creation = {
        "USDX": code["Stablecoin"], "PUSD_IMPL": code["Stablecoin"],
        "PUSD": constructor_data(code["Proxy"], ["address", "bytes"], addr["PUSD_IMPL"], bytes.fromhex(init_pusd[2:])),
        "WETH": code["WETH9"], "NFT": constructor_data(code["Collectible"], ["string", "string"], "Test Apes", "TAPE"),
        "ITEMS": code["MultiToken"], "ROUTER": code["Router"], "SINK": code["RejectingSink"],
        "FACTORY": code["Factory"], "PIGGY": code["PiggyBank"],
        "ODD": constructor_data(code["OddToken"], ["bytes32", "bytes32", "uint256"], b"Odd Token", b"ODD",
                                ODD_SUPPLY),
    }
    gas = miner.rpc.batch([("eth_estimateGas", [{"from": issuer, "data": creation[r]}]) for r in roles
                           if r != "PUSD"])  # the proxy's estimate needs its implementation deployed first
    limits = dict(zip([r for r in roles if r != "PUSD"], (int(g, 16) * 5 // 4 + 50_000 for g in gas)))
    limits["PUSD"] = 1_000_000
    planned = [Planned("deploy", issuer, None, creation[r], gas=limits[r]) for r in roles]
    receipts = miner.mine(planned)
    for role, receipt in zip(roles, receipts):
        if (receipt["contractAddress"] or "").lower() != addr[role]:
            raise SourceError(f"anvil: {role} deployed at {receipt['contractAddress']}, expected {addr[role]}")
    return addr


def _setup(miner: _Miner, ledger: Ledger) -> None:
    """The issuer initialises and mints the stablecoins and hands out odd tokens and game items."""
    issuer, c = ledger.issuer, ledger.c
    ledger.tokens["ODD"][issuer] = ODD_SUPPLY  # the constructor gave the deployer the whole supply
    planned = [Planned("setup", issuer, c["USDX"], calldata("initialize(string,string,address)", "Test Dollar",
                                                             "USDX", issuer), gas=200_000)]
    for holder in ledger.accounts:
        usdx, pusd, odd = 1_000_000 * USD, 500_000 * USD, 1_000 * ETHER
        planned += [
            Planned("setup", issuer, c["USDX"], calldata("mint(address,uint256)", holder, usdx), gas=100_000),
            Planned("setup", issuer, c["PUSD"], calldata("mint(address,uint256)", holder, pusd), gas=100_000),
            Planned("setup", issuer, c["ITEMS"], calldata("mintBatch(address,uint256[],uint256[])", holder,
                                                          list(ITEM_IDS), [100, 50, 10, 1]), gas=200_000),
        ]
        ledger.move("USDX", None, holder, usdx)
        ledger.move("PUSD", None, holder, pusd)
        for item, amount in zip(ITEM_IDS, [100, 50, 10, 1]):
            ledger.items[(item, holder)] += amount  # nothing spends them before the block is mined
        if holder != issuer:
            planned.append(Planned("setup", issuer, c["ODD"], calldata("transfer(address,uint256)", holder, odd),
                                   gas=100_000))
            ledger.move("ODD", issuer, holder, odd)
    miner.mine(planned)
    ledger.settle()


def drive(url: str, *, seed: int, blocks: int, txs_per_block: int, rpc: EthRpc | None = None) -> dict:
    """Deploy the test contracts on the anvil at ``url`` and mine ``blocks`` blocks of activity; return a summary.

    The summary holds the contracts' addresses by role, the children the factory made, counts per kind, the
    hashes of the reverted, router, factory and selfdestruct transactions, the token holdings the driver
    expects at the tip (``balances[token address][holder]``, ``nft_owners``, ``erc1155``), and the tip.
    ``rpc``, if given, is the client to use instead of a new one (one worker, batches never split: e.g. a
    scenario's ``JournalRpc``).
    """
    if blocks < 1 or txs_per_block < 1:
        raise ValueError(f"blocks and txs_per_block must be at least 1 (got {blocks}, {txs_per_block})")
    started = time.perf_counter()
    rng = np.random.Generator(np.random.PCG64(seed))
    # one batch per block: one pool arrival order
    with EthRpc(url, batch_size=1 << 20, workers=1) if rpc is None else nullcontext(rpc) as rpc:
        accounts = [a.lower() for a in rpc.call("eth_accounts", [])]
        if len(accounts) < 3:
            raise SourceError(f"anvil at {rpc.url}: needs at least 3 unlocked dev accounts, has {len(accounts)}")
        automine = rpc.call("anvil_getAutomine", [])
        rpc.call("evm_setAutomine", [False])
        miner = _Miner(rpc, rng, accounts)
        first_block = miner.number + 1
        contracts = _deploy(miner, rng, accounts)
        ledger = Ledger(accounts, contracts)
        _setup(miner, ledger)
        planner = Planner(rng, ledger)
        hashes: dict[str, list[str]] = defaultdict(list)
        failed_legs = 0
        activity_start = time.perf_counter()
        first_activity = miner.number + 1
        for i in range(blocks):
            planned = planner.plan_block(txs_per_block, smash=(i == blocks // 2),
                                         gas_budget=BLOCK_GAS_BUDGET - 100_000)
            receipts = miner.mine(planned)
            for tx, receipt in zip(planned, receipts):
                if tx.kind in ("reverted", "router_fanout", "factory_create", "selfdestruct"):
                    hashes[tx.kind].append(receipt["transactionHash"])
                if tx.kind == "factory_create":
                    ledger.children += [_child(log) for log in receipt["logs"]
                                        if log["address"].lower() == contracts["FACTORY"]]
                if tx.kind == "router_fanout":
                    failed_legs += sum(1 for log in receipt["logs"] if log["topics"][0] == _FAILED)
        activity_seconds = time.perf_counter() - activity_start
        rpc.call("evm_setAutomine", [bool(automine)])
        tip = rpc.call("eth_getBlockByNumber", ["latest", False])
    activity_txs = sum(planner.counts.values())
    return {
        "seed": seed,
        "accounts": accounts,
        "first_block": first_block,
        "first_activity_block": first_activity,
        "tip": int(tip["number"], 16),
        "tip_hash": tip["hash"],
        "transactions": miner.transactions,
        "contracts": contracts,
        "children": ledger.children,
        "counts": dict(sorted(planner.counts.items())),
        "router_failed_legs": failed_legs,
        "tx_hashes": dict(hashes),
        "blacklisted": sorted(ledger.blacklisted),
        "piggy_smashed_amount": ledger.piggy if ledger.smashed else 0,
        "balances": {contracts[t]: {h: v for h, v in book.items() if v} for t, book in ledger.tokens.items()},
        "nft_owners": {str(k): v for k, v in sorted(ledger.nft_owner.items())},
        "erc1155": {str(i): {h: v for (j, h), v in ledger.items.items() if j == i and v} for i in ITEM_IDS},
        "seconds": time.perf_counter() - started,
        "activity_blocks_per_s": blocks / activity_seconds,
        "activity_txs_per_s": activity_txs / activity_seconds,
    }


_FAILED = "0x" + keccak256(b"Failed(address,uint256)").hex()


def _child(log: dict) -> str:
    return "0x" + log["topics"][1][-40:]


__all__ = ["create_address", "drive"]
