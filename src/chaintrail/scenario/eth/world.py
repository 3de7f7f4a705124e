"""The DeFi world of the Ethereum scenarios: every contract deployed, by role, and funded by real transactions.

``deploy_world(rpc, send, accounts, ...)`` deploys, in a fixed order from fixed accounts, the stablecoins (6
decimals, issuer blacklist), WETH9, an ERC-721 collection, Uniswap V2 (published builds) with ETH and stablecoin
pairs and their liquidity, the Tornado-style pools, the lending vault with its lenders' money, two exchanges
(hot wallet and forwarder factory each), the OTC desk (contract, stocked) and a P2P desk (EOA), and, given a
second chain, both ends of the bridge. All value comes from the anvil dev accounts' genesis ETH and from the
issuer's mints, moved by transactions: no balance is ever set. The same accounts and sender on a node started
the same way give the same addresses and block hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.bridge import ETH, Bridge, deploy_bridge
from chaintrail.scenario.eth.contracts import Send, bytecode, check, deploy, derived_address
from chaintrail.scenario.eth.exchange import Exchange, OtcDesk, deploy_exchange, deploy_otc_desk
from chaintrail.scenario.eth.tornado import ETH_DENOMINATIONS, STABLE_DENOMINATIONS, Pool, deploy_pools
from chaintrail.scenario.eth.uniswap import Uniswap, deploy_uniswap
from chaintrail.scenario.eth.vault import PRICE_ONE, Vault, deploy_vault
from chaintrail.scenario.eth_calls import encode

ETHER, USD = 10**18, 10**6
ETH_PRICE_USD = 2_000
ROLES = ("issuer", "liquidity", "hot_wallet_1", "hot_wallet_2", "otc_owner", "p2p_desk", "bridge_relayer",
         "tornado_relayer_1", "tornado_relayer_2", "vault_lender")


@dataclass(frozen=True)
class WorldConfig:
    """How much of everything the world starts with (whole units)."""

    pool_eth: int = 1_000                # ETH in each stablecoin/WETH pair (at ETH_PRICE_USD)
    stable_pair_usd: int = 1_000_000     # each side of the USDX/USDY pair
    otc_eth: int = 300
    otc_usd: int = 600_000
    p2p_usd: int = 200_000
    vault_usd: int = 1_000_000           # each stablecoin the lender supplies to the vault
    verifier_eth: int = 100              # the Tornado verifier's gas money (one approval per withdrawal)
    eth_denominations: tuple[int, ...] = ETH_DENOMINATIONS
    stable_denominations: tuple[int, ...] = STABLE_DENOMINATIONS


@dataclass
class World:
    """Every deployed address by role (lower-case hex)."""

    chain_id: int
    accounts: dict[str, str]                 # role -> account
    stablecoins: dict[str, str]              # symbol -> token
    weth: str
    nft: str
    uniswap: Uniswap
    pairs: dict[str, str]                    # "USDX/WETH" -> pair
    pools: dict[tuple[str | None, int], Pool]
    vault: Vault
    exchanges: dict[str, Exchange]
    otc: OtcDesk
    p2p_desk: str
    bridge: Bridge | None = None
    chain_id_b: int | None = None
    relayers: list[str] = field(default_factory=list)
    tornado_verifier: str = ""

    def to_json(self) -> dict:
        """The roles and addresses as plain JSON (pool keys as "ETH-1000000000000000000" / "<token>-<amount>")."""
        return {
            "chain_id": self.chain_id, "chain_id_b": self.chain_id_b, "accounts": self.accounts,
            "stablecoins": self.stablecoins, "weth": self.weth, "nft": self.nft,
            "uniswap": {"factory": self.uniswap.factory, "router": self.uniswap.router, "weth": self.uniswap.weth},
            "pairs": self.pairs,
            "pools": {f"{asset or 'ETH'}-{d}": p.address for (asset, d), p in self.pools.items()},
            "vault": {"vault": self.vault.address, "oracle": self.vault.oracle, "tokens": list(self.vault.tokens)},
            "exchanges": {n: {"hot_wallet": e.hot_wallet, "forwarder_factory": e.factory}
                          for n, e in self.exchanges.items()},
            "otc": {"desk": self.otc.address, "owner": self.otc.owner}, "p2p_desk": self.p2p_desk,
            "bridge": None if self.bridge is None else {
                "source": self.bridge.source, "destination": self.bridge.destination,
                "relayer": self.bridge.relayer, "wrapped": self.bridge.wrapped},
            "tornado_relayers": self.relayers, "tornado_verifier": self.tornado_verifier,
        }


def deploy_world(rpc: EthRpc, send: Send, accounts: list[str], *, config: WorldConfig | None = None,
                 rpc_b: EthRpc | None = None, send_b: Send | None = None, accounts_b: list[str] | None = None
                 ) -> World:
    """Deploy and fund the world on chain A (and the bridge's far end on chain B, when given).

    ``accounts`` are funded accounts (anvil's ten dev accounts), taken in the order of ``ROLES``.
    """
    cfg = config or WorldConfig()
    if len(accounts) < len(ROLES):
        raise ValueError(f"deploy_world needs {len(ROLES)} funded accounts, got {len(accounts)}")
    role = dict(zip(ROLES, (a.lower() for a in accounts)))
    issuer, lp = role["issuer"], role["liquidity"]

    usdx = tokens.deploy_stablecoin(send, issuer, "Tether-like Dollar", "USDX")
    usdy = tokens.deploy_stablecoin(send, issuer, "Circle-like Dollar", "USDY")
    weth = tokens.deploy_weth(send, issuer)
    nft = deploy(send, issuer, bytecode("Collectible") + encode(["string", "string"], ["Bored Pixels", "BPX"]).hex(),
                 3_000_000, what="deploy Collectible")
    stables = {"USDX": usdx, "USDY": usdy}

    uni = deploy_uniswap(send, issuer, weth)
    pair_usd = cfg.pool_eth * ETH_PRICE_USD * USD
    for token in (usdx, usdy):
        tokens.mint(send, token, issuer, lp, pair_usd + cfg.stable_pair_usd * USD)
        tokens.approve(send, token, lp, uni.router)
        uni.add_liquidity_eth(send, lp, token, pair_usd, cfg.pool_eth * ETHER)
    uni.add_liquidity(send, lp, usdx, usdy, cfg.stable_pair_usd * USD, cfg.stable_pair_usd * USD)
    pairs = {"USDX/WETH": uni.pair(usdx, weth), "USDY/WETH": uni.pair(usdy, weth), "USDX/USDY": uni.pair(usdx, usdy)}

    # the verifier whose approvals stand in for Tornado's zk proofs (see tornado.py): a keyless address
    verifier = derived_address(b"chaintrail-world", "tornado_verifier", 0)
    check(send(issuer, verifier, cfg.verifier_eth * ETHER, "0x", 21_000), "fund the Tornado verifier")
    pools = deploy_pools(send, issuer, verifier=verifier, eth=cfg.eth_denominations,
                         tokens={usdx: cfg.stable_denominations})

    lender = role["vault_lender"]
    vault = deploy_vault(send, issuer, [(usdx, 6, PRICE_ONE), (usdy, 6, PRICE_ONE)], ETH_PRICE_USD * PRICE_ONE)
    for token in (usdx, usdy):
        tokens.mint(send, token, issuer, lender, cfg.vault_usd * USD)
        tokens.approve(send, token, lender, vault.address)
        vault.supply(send, lender, token, cfg.vault_usd * USD)

    exchanges = {name: deploy_exchange(send, name, role[f"hot_wallet_{i}"])
                 for i, name in ((1, "exchange_1"), (2, "exchange_2"))}

    otc = deploy_otc_desk(send, role["otc_owner"], usdx, ETH_PRICE_USD * USD)
    tokens.mint(send, usdx, issuer, otc.owner, cfg.otc_usd * USD)
    otc.fund(send, cfg.otc_eth * ETHER, cfg.otc_usd * USD)
    tokens.mint(send, usdx, issuer, role["p2p_desk"], cfg.p2p_usd * USD)

    world = World(chain_id=rpc.chain_id(), accounts=role, stablecoins=stables, weth=weth, nft=nft, uniswap=uni,
                  pairs=pairs, pools=pools, vault=vault, exchanges=exchanges, otc=otc, p2p_desk=role["p2p_desk"],
                  relayers=[role["tornado_relayer_1"], role["tornado_relayer_2"]], tornado_verifier=verifier)
    if rpc_b is not None and send_b is not None:
        deployer_b = (accounts_b or accounts)[0].lower()
        world.chain_id_b = rpc_b.chain_id()
        world.bridge = deploy_bridge(send, send_b, issuer, deployer_b, role["bridge_relayer"],
                                     src_chain_id=world.chain_id, dst_chain_id=world.chain_id_b,
                                     assets=[(ETH, "Bridged Ether", "bETH", 18), (usdx, "Bridged USDX", "bUSDX", 6),
                                             (usdy, "Bridged USDY", "bUSDY", 6)])
    return world


__all__ = ["ETH_PRICE_USD", "ROLES", "World", "WorldConfig", "deploy_world"]
