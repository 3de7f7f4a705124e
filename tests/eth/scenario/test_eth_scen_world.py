"""The whole DeFi world on two real anvils: every role has code or funds, and the same run gives the same chain."""

from __future__ import annotations

from pathlib import Path

from eth_scen_chain import open_chain

from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.bridge import ETH
from chaintrail.scenario.eth.contracts import call
from chaintrail.scenario.eth.world import ETH_PRICE_USD, WorldConfig, deploy_world

ETHER, USD = 10**18, 10**6
SMALL = WorldConfig(pool_eth=100, stable_pair_usd=100_000, otc_eth=10, otc_usd=20_000, p2p_usd=5_000,
                    vault_usd=50_000)


def _build(tmp_path: Path) -> tuple[dict, list[str], list[str], dict]:
    gen_a, gen_b = open_chain(tmp_path / "a", 31337), open_chain(tmp_path / "b", 4242)
    a, b = next(gen_a), next(gen_b)
    try:
        world = deploy_world(a.rpc, a.send, a.accounts, config=SMALL, rpc_b=b.rpc, send_b=b.send)
        facts = _check(world, a, b)
        hashes_a = [blk["hash"] for blk in a.rpc.block_headers(range(a.rpc.head() + 1))]
        hashes_b = [blk["hash"] for blk in b.rpc.block_headers(range(b.rpc.head() + 1))]
        return world.to_json(), hashes_a, hashes_b, facts
    finally:
        gen_a.close()
        gen_b.close()


def _check(world, a, b) -> dict:
    rpc = a.rpc
    usdx, usdy = world.stablecoins["USDX"], world.stablecoins["USDY"]
    contracts = [usdx, usdy, world.weth, world.nft, world.uniswap.factory, world.uniswap.router,
                 *world.pairs.values(), *(p.address for p in world.pools.values()), world.vault.address,
                 world.vault.oracle, *(e.factory for e in world.exchanges.values()), world.otc.address,
                 world.bridge.source]
    assert "0x" not in rpc.codes(contracts, "latest")
    assert "0x" not in b.rpc.codes([world.bridge.destination, *world.bridge.wrapped.values()], "latest")
    assert len(set(contracts)) == len(contracts)
    assert world.uniswap.reserves(rpc, usdx, world.weth) == (100 * ETH_PRICE_USD * USD, 100 * ETHER)
    assert world.uniswap.reserves(rpc, usdx, usdy) == (100_000 * USD, 100_000 * USD)
    assert sorted((asset is None, d) for asset, d in world.pools) == sorted(
        [(True, d) for d in (ETHER // 10, ETHER, 10 * ETHER, 100 * ETHER)]
        + [(False, d) for d in (100 * USD, 1_000 * USD, 10_000 * USD, 100_000 * USD)])
    for (asset, d), pool in world.pools.items():
        assert call(rpc, pool.address, "denomination()")[0] == d
        assert call(rpc, pool.address, "verifier()", returns=["address"])[0] == world.tornado_verifier
    assert a.eth(world.tornado_verifier) == SMALL.verifier_eth * ETHER  # gas money for its approvals
    assert world.vault.drainable(rpc) == {usdx: 50_000 * USD, usdy: 50_000 * USD}
    assert a.eth(world.otc.address) == 10 * ETHER and tokens.balance_of(rpc, usdx, world.otc.address) == 20_000 * USD
    assert tokens.balance_of(rpc, usdx, world.p2p_desk) == 5_000 * USD
    assert set(world.bridge.wrapped) == {ETH, usdx, usdy}
    # every token in the world was minted by its issuer: supply = what the holders above hold
    supply = call(rpc, usdx, "totalSupply()")[0]
    held = sum(tokens.balance_of(rpc, usdx, h) for h in (world.pairs["USDX/WETH"], world.pairs["USDX/USDY"],
                                                         world.vault.address, world.otc.address, world.p2p_desk))
    assert supply == held
    return {"supply": supply}


def test_world_deploys_every_role_and_is_reproducible(tmp_path: Path) -> None:
    first = _build(tmp_path / "1")
    second = _build(tmp_path / "2")
    assert first[0] == second[0]          # the same addresses by role
    assert first[1] == second[1] and first[2] == second[2]  # the same block hashes on both chains
    assert len(first[1]) == 44 and len(first[2]) == 5  # genesis, bridge end and three wrapped assets
