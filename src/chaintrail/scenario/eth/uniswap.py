"""Uniswap V2 from its published npm builds: factory and pairs (@uniswap/v2-core), Router02 (@uniswap/v2-periphery).

The bytecode is the published one, not recompiled. Router02 finds pairs with ``pairFor``, which hashes the
pair's creation code into a constant (mainnet's 0x96e8ac42...). That holds here because the published factory
embeds exactly the published UniswapV2Pair creation code, whose keccak is that constant; ``init_code_hash()``
recomputes it and ``deploy`` refuses builds where it differs (a router would then route to empty addresses).
"""

from __future__ import annotations

from dataclasses import dataclass

from chaintrail.chains.ethereum.hexutil import keccak256
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError
from chaintrail.scenario.eth.contracts import Send, call, check, create2_address, deploy, npm_artifact
from chaintrail.scenario.eth_calls import calldata, encode

CORE, PERIPHERY = "@uniswap/v2-core", "@uniswap/v2-periphery"
ROUTER_INIT_CODE_HASH = "96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"  # in Router02's pairFor
DEADLINE = (1 << 64) - 1  # the scenario's swaps never expire; timing comes from the blocks
SWAP_EVENT = "Swap(address,uint256,uint256,uint256,uint256,address)"
SYNC_EVENT = "Sync(uint112,uint112)"
MINT_EVENT = "Mint(address,uint256,uint256)"


def init_code_hash() -> str:
    """keccak256 of the published UniswapV2Pair creation code (what CREATE2 in the factory hashes)."""
    return keccak256(bytes.fromhex(npm_artifact(CORE, "UniswapV2Pair")[1][2:])).hex()


def sort_tokens(a: str, b: str) -> tuple[str, str]:
    a, b = a.lower(), b.lower()
    if a == b:
        raise ValueError(f"a pair needs two different tokens, got {a} twice")
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


def pair_address(factory: str, a: str, b: str) -> str:
    """The pair's address as the factory's CREATE2 gives it and Router02's pairFor computes it."""
    t0, t1 = sort_tokens(a, b)
    salt = keccak256(bytes.fromhex(t0[2:]) + bytes.fromhex(t1[2:]))
    return create2_address(factory, salt, bytes.fromhex(npm_artifact(CORE, "UniswapV2Pair")[1][2:]))


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountOut: the output of a swap of ``amount_in`` after the 0.3% fee."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        raise ValueError(f"amount_out needs positive amount and reserves ({amount_in}, {reserve_in}, {reserve_out})")
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def amount_in(amount_out_: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountIn: the input needed for ``amount_out_``."""
    if amount_out_ <= 0 or reserve_in <= 0 or reserve_out <= amount_out_:
        raise ValueError(f"amount_in needs 0 < out < reserve_out ({amount_out_}, {reserve_in}, {reserve_out})")
    return reserve_in * amount_out_ * 1000 // ((reserve_out - amount_out_) * 997) + 1


@dataclass(frozen=True)
class Uniswap:
    """A deployed Uniswap V2: factory, Router02 and the WETH it wraps ETH with."""

    factory: str
    router: str
    weth: str

    def pair(self, a: str, b: str) -> str:
        return pair_address(self.factory, a, b)

    # -- reads ---------------------------------------------------------------------------------------

    def reserves(self, rpc: EthRpc, a: str, b: str, block: int | str = "latest") -> tuple[int, int]:
        """(reserve of ``a``, reserve of ``b``) in the a/b pair."""
        r0, r1, _ = call(rpc, self.pair(a, b), "getReserves()", returns=["uint112", "uint112", "uint32"],
                         block=block)
        return (r0, r1) if sort_tokens(a, b)[0] == a.lower() else (r1, r0)

    def quote(self, rpc: EthRpc, amount: int, path: list[str], block: int | str = "latest") -> list[int]:
        """Amounts along ``path`` for ``amount`` in, from the pairs' reserves (as the router computes them)."""
        amounts = [amount]
        for a, b in zip(path, path[1:]):
            r_in, r_out = self.reserves(rpc, a, b, block)
            amounts.append(amount_out(amounts[-1], r_in, r_out))
        return amounts

    def router_quote(self, rpc: EthRpc, amount: int, path: list[str]) -> list[int]:
        """Router02.getAmountsOut, asked of the chain."""
        return list(call(rpc, self.router, "getAmountsOut(uint256,address[])", amount, path,
                         returns=["uint256[]"])[0])

    # -- transactions --------------------------------------------------------------------------------

    def create_pair(self, send: Send, frm: str, a: str, b: str) -> str:
        check(send(frm, self.factory, 0, calldata("createPair(address,address)", a, b), 3_000_000),
              f"createPair {a} {b}")
        return self.pair(a, b)

    def add_liquidity(self, send: Send, frm: str, a: str, b: str, amount_a: int, amount_b: int,
                      to: str | None = None) -> dict:
        """Router02.addLiquidity with no slippage room (mins = desired); ``frm`` must have approved the router."""
        sig = "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)"
        data = calldata(sig, a, b, amount_a, amount_b, 0, 0, to or frm, DEADLINE)
        return check(send(frm, self.router, 0, data, 4_000_000), "addLiquidity")

    def add_liquidity_eth(self, send: Send, frm: str, token: str, amount_token: int, amount_eth: int,
                          to: str | None = None) -> dict:
        sig = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)"
        data = calldata(sig, token, amount_token, 0, 0, to or frm, DEADLINE)
        return check(send(frm, self.router, amount_eth, data, 4_000_000), "addLiquidityETH")

    def swap_exact_eth_for_tokens(self, send: Send, frm: str, amount_eth: int, path: list[str], min_out: int = 0,
                                  to: str | None = None) -> dict:
        data = calldata("swapExactETHForTokens(uint256,address[],address,uint256)", min_out, path, to or frm,
                        DEADLINE)
        return check(send(frm, self.router, amount_eth, data, 150_000 + 100_000 * len(path)),
                     "swapExactETHForTokens")

    def swap_exact_tokens_for_eth(self, send: Send, frm: str, amount: int, path: list[str], min_out: int = 0,
                                  to: str | None = None) -> dict:
        data = calldata("swapExactTokensForETH(uint256,uint256,address[],address,uint256)", amount, min_out,
                        path, to or frm, DEADLINE)
        return check(send(frm, self.router, 0, data, 150_000 + 100_000 * len(path)), "swapExactTokensForETH")

    def swap_exact_tokens_for_tokens(self, send: Send, frm: str, amount: int, path: list[str], min_out: int = 0,
                                     to: str | None = None) -> dict:
        data = calldata("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)", amount, min_out,
                        path, to or frm, DEADLINE)
        return check(send(frm, self.router, 0, data, 150_000 + 100_000 * len(path)), "swapExactTokensForTokens")


def deploy_uniswap(send: Send, frm: str, weth: str, fee_to_setter: str | None = None) -> Uniswap:
    """Deploy the published UniswapV2Factory and UniswapV2Router02(factory, weth) from ``frm``."""
    got = init_code_hash()
    if got != ROUTER_INIT_CODE_HASH:
        raise SourceError(f"{CORE} UniswapV2Pair's init code hash is {got}, but Router02 computes pair "
                          f"addresses with {ROUTER_INIT_CODE_HASH}: the installed builds do not match")
    _abi, factory_code = npm_artifact(CORE, "UniswapV2Factory")
    factory = deploy(send, frm, factory_code + encode(["address"], [fee_to_setter or frm]).hex(), 5_000_000,
                     what="deploy UniswapV2Factory")
    _abi, router_code = npm_artifact(PERIPHERY, "UniswapV2Router02")
    router = deploy(send, frm, router_code + encode(["address", "address"], [factory, weth]).hex(), 6_000_000,
                    what="deploy UniswapV2Router02")
    return Uniswap(factory=factory, router=router, weth=weth.lower())


__all__ = ["DEADLINE", "MINT_EVENT", "ROUTER_INIT_CODE_HASH", "SWAP_EVENT", "SYNC_EVENT", "Uniswap", "amount_in",
           "amount_out", "deploy_uniswap", "init_code_hash", "pair_address", "sort_tokens"]
