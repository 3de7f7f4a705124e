"""The world's tokens: the 6-decimal stablecoin with a blacklist (Stablecoin.sol), WETH9, and ERC-20 calls."""

from __future__ import annotations

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth.contracts import Send, bytecode, call_int, calldata, check, deploy

ERC20_GAS = 90_000
MAX_UINT = (1 << 256) - 1


def deploy_stablecoin(send: Send, issuer: str, name: str, symbol: str) -> str:
    """Deploy and initialise a Stablecoin whose issuer (mint, burn, blacklist) is ``issuer``."""
    token = deploy(send, issuer, bytecode("Stablecoin"), 2_000_000, what=f"deploy {symbol}")
    check(send(issuer, token, 0, calldata("initialize(string,string,address)", name, symbol, issuer), 200_000),
          f"initialize {symbol}")
    return token


def deploy_weth(send: Send, frm: str) -> str:
    return deploy(send, frm, bytecode("WETH9"), 1_500_000, what="deploy WETH9")


def mint(send: Send, token: str, issuer: str, to: str, amount: int) -> dict:
    """The issuer mints ``amount`` to ``to`` (new stablecoins enter the world only this way)."""
    return check(send(issuer, token, 0, calldata("mint(address,uint256)", to, amount), 100_000), "mint")


def transfer(send: Send, token: str, frm: str, to: str, amount: int) -> dict:
    return check(send(frm, token, 0, calldata("transfer(address,uint256)", to, amount), ERC20_GAS),
                 f"transfer {amount} of {token}")


def approve(send: Send, token: str, owner: str, spender: str, amount: int = MAX_UINT) -> dict:
    return check(send(owner, token, 0, calldata("approve(address,uint256)", spender, amount), 60_000),
                 f"approve {spender} on {token}")


def wrap(send: Send, weth: str, frm: str, amount: int) -> dict:
    return check(send(frm, weth, amount, calldata("deposit()"), 60_000), "WETH deposit")


def balance_of(rpc: EthRpc, token: str, holder: str, block: int | str = "latest") -> int:
    return call_int(rpc, token, "balanceOf(address)", holder, block=block)


__all__ = ["ERC20_GAS", "MAX_UINT", "approve", "balance_of", "deploy_stablecoin", "deploy_weth", "mint",
           "transfer", "wrap"]
