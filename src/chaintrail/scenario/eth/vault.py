"""A lending vault with an exploitable bug and the attacker's contract that drains it (LendingVault.sol).

The vault lends listed tokens against ETH collateral, valued by its PriceOracle. The bug: the oracle's
``setPrice`` has no access control (as Rikkei Finance's oracle in April 2022). The attacker's VaultDrainer, in
one transaction, sets ETH's price absurdly high, posts the ETH it was sent as collateral, borrows the vault's
whole balance of every listed token, forwards it to the attacker's address and restores the price: internal
calls and token transfers inside one transaction, as real exploits look. What the bug allows is exactly the
vault's balance of each listed token at that moment (``drainable``); the collateral stays in the vault.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth import tokens as erc20
from chaintrail.scenario.eth.contracts import Send, bytecode, call_int, check, deploy
from chaintrail.scenario.eth_calls import calldata, encode

ETH = "0x" + "00" * 20
PRICE_ONE = 10**18  # oracle prices: USD with 18 decimals per whole unit


@dataclass(frozen=True)
class Vault:
    """A deployed LendingVault, its oracle and the tokens it lists."""

    address: str
    oracle: str
    tokens: tuple[str, ...]

    def price(self, rpc: EthRpc, asset: str = ETH) -> int:
        return call_int(rpc, self.oracle, "priceOf(address)", asset)

    def drainable(self, rpc: EthRpc, block: int | str = "latest") -> dict[str, int]:
        """What the oracle bug lets an attacker take: the vault's balance of each listed token."""
        return {t: erc20.balance_of(rpc, t, self.address, block) for t in self.tokens}

    def supply(self, send: Send, lender: str, token: str, amount: int) -> dict:
        """A lender (who approved the vault) supplies ``amount`` of ``token``."""
        return check(send(lender, self.address, 0, calldata("supply(address,uint256)", token, amount), 150_000),
                     "vault supply")

    def withdraw(self, send: Send, lender: str, token: str, amount: int) -> dict:
        return check(send(lender, self.address, 0, calldata("withdraw(address,uint256)", token, amount), 120_000),
                     "vault withdraw")

    def post_collateral(self, send: Send, borrower: str, eth: int) -> dict:
        return check(send(borrower, self.address, eth, calldata("postCollateral()"), 80_000), "postCollateral")

    def borrow(self, send: Send, borrower: str, token: str, amount: int) -> dict:
        data = calldata("borrow(address,uint256)", token, amount)
        return check(send(borrower, self.address, 0, data, 100_000 + 30_000 * len(self.tokens)), "vault borrow")

    def set_price(self, send: Send, frm: str, asset: str, price: int) -> dict:
        return check(send(frm, self.oracle, 0, calldata("setPrice(address,uint256)", asset, price), 60_000),
                     "oracle setPrice")


def deploy_vault(send: Send, owner: str, listed: list[tuple[str, int, int]], eth_price: int) -> Vault:
    """Deploy the oracle and the vault; ``listed`` holds (token, decimals, USD price * 1e18) per token."""
    oracle = deploy(send, owner, bytecode("PriceOracle"), 800_000, what="deploy PriceOracle")
    code = bytecode("LendingVault") + encode(["address", "address[]", "uint8[]"],
                                             [oracle, [t for t, _, _ in listed], [d for _, d, _ in listed]]).hex()
    address = deploy(send, owner, code, 2_500_000, what="deploy LendingVault")
    vault = Vault(address, oracle, tuple(t.lower() for t, _, _ in listed))
    vault.set_price(send, owner, ETH, eth_price)
    for token, _decimals, price in listed:
        vault.set_price(send, owner, token, price)
    return vault


def deploy_drainer(send: Send, attacker: str) -> str:
    """The attacker deploys the exploit contract (only it may call attack)."""
    return deploy(send, attacker, bytecode("VaultDrainer"), 800_000, what="deploy VaultDrainer")


def attack(send: Send, attacker: str, drainer: str, vault: Vault, profit_to: str, collateral: int) -> dict:
    """The exploit transaction: ``collateral`` wei in, every listed token's vault balance out to ``profit_to``."""
    data = calldata("attack(address,address[],address)", vault.address, list(vault.tokens), profit_to)
    return check(send(attacker, drainer, collateral, data, 300_000 + 120_000 * len(vault.tokens)), "vault attack")


__all__ = ["ETH", "PRICE_ONE", "Vault", "attack", "deploy_drainer", "deploy_vault"]
