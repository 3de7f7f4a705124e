"""A lock-and-mint bridge between two chains (Bridge.sol) and the relayer that carries its messages.

Chain A's BridgeSource locks ETH or tokens and emits ``Locked`` with a nonce; the relayer reads those events
(eth_getLogs) and calls BridgeDestination.mint on chain B with the same nonce, minting the asset's
BridgedToken to the recipient (a nonce is minted once; a replay reverts). Back the other way, a holder burns on
chain B (``Burned``, its own nonce) and the relayer releases the locked asset on chain A. The relayer pays the
gas on both chains. Each (source event, destination transaction) pair is a bridge leg for the answer key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError
from chaintrail.scenario.eth.contracts import Send, bytecode, call, check, deploy, logs_of
from chaintrail.scenario.eth_calls import calldata, encode

ETH = "0x" + "00" * 20  # the asset address that stands for ETH
LOCKED_EVENT = "Locked(uint256,address,address,address,uint256,uint256)"
BURNED_EVENT = "Burned(uint256,address,address,address,uint256,uint256)"
MINTED_EVENT = "Minted(uint256,address,address,uint256)"
RELEASED_EVENT = "Released(uint256,address,address,uint256)"
RELAY_GAS = 200_000


@dataclass(frozen=True)
class Message:
    """A lock on chain A (or a burn on chain B) as its event tells it."""

    nonce: int
    asset: str          # the chain A asset (ETH for ETH)
    sender: str
    recipient: str
    amount: int
    tx_hash: str
    block: int


@dataclass(frozen=True)
class Leg:
    """One bridge crossing: the message on the sending chain and the transaction that completed it."""

    message: Message
    completed_tx: str


@dataclass
class Bridge:
    """The two ends, their chain ids, the relayer, and the BridgedToken on chain B of each chain A asset."""

    source: str
    destination: str
    src_chain_id: int
    dst_chain_id: int
    relayer: str
    wrapped: dict[str, str] = field(default_factory=dict)

    # -- users ---------------------------------------------------------------------------------------

    def lock_eth(self, send_a: Send, sender: str, amount: int, recipient: str) -> dict:
        data = calldata("lockETH(address,uint256)", recipient, self.dst_chain_id)
        return check(send_a(sender, self.source, amount, data, 100_000), "bridge lockETH")

    def lock_token(self, send_a: Send, sender: str, token: str, amount: int, recipient: str) -> dict:
        """Lock ``amount`` of ``token`` (approved to the source end beforehand) for ``recipient`` on chain B."""
        data = calldata("lockToken(address,uint256,address,uint256)", token, amount, recipient, self.dst_chain_id)
        return check(send_a(sender, self.source, 0, data, 150_000), "bridge lockToken")

    def burn(self, send_b: Send, sender: str, asset: str, amount: int, recipient: str) -> dict:
        """Burn ``amount`` of the wrapped ``asset`` on chain B, to be released to ``recipient`` on chain A."""
        data = calldata("burn(address,uint256,address)", asset, amount, recipient)
        return check(send_b(sender, self.destination, 0, data, 120_000), "bridge burn")

    # -- the relayer ---------------------------------------------------------------------------------

    def relay_locks(self, rpc_a: EthRpc, rpc_b: EthRpc, send_b: Send, from_block: int = 0,
                    to_block: int | str = "latest") -> list[Leg]:
        """Mint on chain B every lock in chain A's blocks [from_block, to_block] not minted yet."""
        legs = []
        for msg in messages(rpc_a, self.source, LOCKED_EVENT, from_block, to_block):
            if call(rpc_b, self.destination, "minted(uint256)", msg.nonce, returns=["bool"])[0]:
                continue
            data = calldata("mint(uint256,address,address,uint256)", msg.nonce, msg.asset, msg.recipient,
                            msg.amount)
            receipt = check(send_b(self.relayer, self.destination, 0, data, RELAY_GAS), f"mint nonce {msg.nonce}")
            legs.append(Leg(msg, receipt["transactionHash"]))
        return legs

    def relay_burns(self, rpc_b: EthRpc, rpc_a: EthRpc, send_a: Send, from_block: int = 0,
                    to_block: int | str = "latest") -> list[Leg]:
        """Release on chain A every burn in chain B's blocks [from_block, to_block] not released yet."""
        legs = []
        for msg in messages(rpc_b, self.destination, BURNED_EVENT, from_block, to_block):
            if call(rpc_a, self.source, "released(uint256)", msg.nonce, returns=["bool"])[0]:
                continue
            data = calldata("release(uint256,address,address,uint256)", msg.nonce, msg.asset, msg.recipient,
                            msg.amount)
            receipt = check(send_a(self.relayer, self.source, 0, data, RELAY_GAS), f"release nonce {msg.nonce}")
            legs.append(Leg(msg, receipt["transactionHash"]))
        return legs


def messages(rpc: EthRpc, contract: str, event: str, from_block: int, to_block: int | str) -> list[Message]:
    """The Locked or Burned events of ``contract`` in the block range, in chain order."""
    logs = rpc.call("eth_getLogs", [{"address": contract, "topics": [event_topic(event)],
                                     "fromBlock": hex(from_block),
                                     "toBlock": hex(to_block) if isinstance(to_block, int) else to_block}])
    out = []
    for log in logs:
        if log.get("removed"):
            continue
        raw = bytes.fromhex(log["data"][2:])
        if len(log["topics"]) != 4 or len(raw) != 96:
            raise SourceError(f"{event} log in tx {log['transactionHash']} is malformed")
        out.append(Message(nonce=int(log["topics"][1], 16), asset="0x" + log["topics"][2][-40:],
                           sender="0x" + log["topics"][3][-40:], recipient="0x" + raw[12:32].hex(),
                           amount=int.from_bytes(raw[32:64], "big"), tx_hash=log["transactionHash"],
                           block=int(log["blockNumber"], 16)))
    return out


def deploy_bridge(send_a: Send, send_b: Send, deployer_a: str, deployer_b: str, relayer: str, *,
                  src_chain_id: int, dst_chain_id: int,
                  assets: list[tuple[str, str, str, int]]) -> Bridge:
    """Deploy both ends and a BridgedToken for each (asset, name, symbol, decimals); asset ETH for ETH."""
    source = deploy(send_a, deployer_a, bytecode("BridgeSource") + encode(["address"], [relayer]).hex(),
                    1_500_000, what="deploy BridgeSource")
    dest_code = bytecode("BridgeDestination") + encode(["address", "uint256"], [relayer, src_chain_id]).hex()
    destination = deploy(send_b, deployer_b, dest_code, 3_000_000, what="deploy BridgeDestination")
    bridge = Bridge(source, destination, src_chain_id, dst_chain_id, relayer.lower())
    for asset, name, symbol, decimals in assets:
        data = calldata("addAsset(address,string,string,uint8)", asset, name, symbol, decimals)
        receipt = check(send_b(deployer_b, destination, 0, data, 1_500_000), f"addAsset {symbol}")
        (log,) = logs_of(receipt, destination, "AssetAdded(address,address)")
        bridge.wrapped[asset.lower()] = "0x" + log["data"][-40:]
    return bridge


__all__ = ["BURNED_EVENT", "ETH", "LOCKED_EVENT", "MINTED_EVENT", "RELEASED_EVENT", "Bridge", "Leg", "Message",
           "deploy_bridge", "messages"]
