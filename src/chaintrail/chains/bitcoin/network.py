"""Bitcoin network parameters: magic bytes, address prefixes, proof-of-work limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    """Constants that differ between Bitcoin networks."""

    name: str
    magic: bytes            # block-file and P2P message start bytes
    p2pkh_prefix: int       # base58check version byte
    p2sh_prefix: int
    hrp: str                # bech32 human-readable part
    pow_limit_bits: int     # compact target of the easiest allowed block
    genesis_hash: str       # display (big-endian) hex


MAINNET = Network("mainnet", bytes.fromhex("f9beb4d9"), 0x00, 0x05, "bc", 0x1D00FFFF,
                  "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
TESTNET = Network("testnet", bytes.fromhex("0b110907"), 0x6F, 0xC4, "tb", 0x1D00FFFF,
                  "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943")
TESTNET4 = Network("testnet4", bytes.fromhex("1c163f28"), 0x6F, 0xC4, "tb", 0x1D00FFFF,
                   "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043")
SIGNET = Network("signet", bytes.fromhex("0a03cf40"), 0x6F, 0xC4, "tb", 0x1E0377AE,
                 "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6")
REGTEST = Network("regtest", bytes.fromhex("fabfb5da"), 0x6F, 0xC4, "bcrt", 0x207FFFFF,
                  "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")

NETWORKS: dict[str, Network] = {n.name: n for n in (MAINNET, TESTNET, TESTNET4, SIGNET, REGTEST)}


def network_by_name(name: str) -> Network:
    """Look a network up by name, failing with the list of known names."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}") from None


def network_by_magic(magic: bytes) -> Network | None:
    """The network whose block-file magic is ``magic``, if any (testnet3 wins over testnet4 ties)."""
    for n in NETWORKS.values():
        if n.magic == magic:
            return n
    return None
