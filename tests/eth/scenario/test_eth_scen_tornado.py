"""Tornado-style pools on a real anvil: Tornado's events, exact amounts through relayers, spent or unapproved
notes refused, and no transaction's calldata carrying a note's nullifier or secret."""

from __future__ import annotations

import pytest

from chaintrail.chains.ethereum.hexutil import event_topic, keccak256, selector
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.contracts import TxFailed, derived_address, logs_of
from chaintrail.scenario.eth.rpc_send import fee_paid
from chaintrail.scenario.eth.tornado import (DEPOSIT_EVENT, PROOF_BYTES, WITHDRAWAL_EVENT, Note, Pool,
                                             deploy_pools, withdraw_data)

ETHER, USD = 10**18, 10**6


def _words(data: str) -> list[bytes]:
    raw = bytes.fromhex(data[2:])
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def _assert_no_note_in_calldata(rpc, notes: list[Note]) -> int:
    """No transaction input on the chain holds any note's nullifier or secret (nor their 31-byte bodies)."""
    secrets = [part[1:].hex() for n in notes for part in (n.nullifier, n.secret)]
    seen = 0
    for number in range(1, rpc.head() + 1):
        block = rpc.call("eth_getBlockByNumber", [hex(number), True])
        for tx in block["transactions"]:
            seen += 1
            leaked = [s for s in secrets if s in tx["input"]]
            assert not leaked, f"tx {tx['hash']} carries a note's preimage in its calldata"
    return seen


def test_notes_are_deterministic_and_tornado_shaped() -> None:
    a = Note.derive(b"seed", "0x" + "11" * 20, 0)
    assert a == Note.derive(b"seed", "0x" + "11" * 20, 0)
    assert a != Note.derive(b"seed", "0x" + "11" * 20, 1) != Note.derive(b"other", "0x" + "11" * 20, 0)
    assert a.commitment == "0x" + keccak256(a.nullifier + a.secret).hex()
    assert a.nullifier_hash == "0x" + keccak256(a.nullifier).hex()
    assert len(a.text("eth", "0.1", 1)) == len("tornado-eth-0.1-1-0x") + 124
    # the real events' topics and the real withdraw selector
    assert event_topic(DEPOSIT_EVENT) == "0xa945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196"
    assert event_topic(WITHDRAWAL_EVENT) == "0xe9e508bad6d4c3227e881ca19068f099da81b5164dd6d62b2eaf1e8bc6c34931"
    assert selector("withdraw(bytes,bytes32,bytes32,address,address,uint256,uint256)") == 0x21a0adb6


def test_eth_pool_deposit_withdraw_via_relayer(chain) -> None:
    rpc, send = chain.rpc, chain.send
    deployer, alice, relayer, verifier = chain.accounts[:4]
    pools = deploy_pools(send, deployer, verifier=verifier, eth=(ETHER // 10, ETHER))
    pool = pools[(None, ETHER)]
    notes = [Note.derive(b"t", pool.address, i) for i in range(2)]
    before = chain.eth(alice)
    receipts = [pool.deposit(send, alice, n) for n in notes]
    assert before - chain.eth(alice) == 2 * ETHER + sum(fee_paid(r) for r in receipts)
    for i, (note, receipt) in enumerate(zip(notes, receipts)):
        (log,) = logs_of(receipt, pool.address, DEPOSIT_EVENT)
        assert log["topics"][1] == note.commitment
        leaf, stamp = (int.from_bytes(w, "big") for w in _words(log["data"]))
        block = rpc.call("eth_getBlockByNumber", [receipt["blockNumber"], False])
        assert (leaf, stamp) == (i, int(block["timestamp"], 16))
    assert chain.eth(pool.address) == 2 * ETHER

    recipient = derived_address(b"t", "fresh", 0)  # holds nothing, sends nothing: the relayer pays the gas
    fee = ETHER * 3 // 1000
    relayer_before = chain.eth(relayer)
    receipt = pool.withdraw(send, rpc, notes[1], recipient, relayer, fee)
    assert chain.eth(recipient) == ETHER - fee
    assert chain.eth(relayer) - relayer_before == fee - fee_paid(receipt)
    assert chain.eth(pool.address) == ETHER
    assert receipt["from"] == relayer
    tx = rpc.call("eth_getTransactionByHash", [receipt["transactionHash"]])
    assert tx["input"][:10] == "0x21a0adb6" and len(bytes.fromhex(tx["input"][2:])) == 4 + 32 * 8 + PROOF_BYTES  # 7 head words, length
    (log,) = logs_of(receipt, pool.address, WITHDRAWAL_EVENT)
    assert log["topics"][1] == "0x" + relayer[2:].rjust(64, "0")
    to, nullifier_hash, paid = _words(log["data"])
    assert ("0x" + to[12:].hex(), "0x" + nullifier_hash.hex(), int.from_bytes(paid, "big")) == \
        (recipient, notes[1].nullifier_hash, fee)
    assert pool.is_spent(rpc, notes[1]) and not pool.is_spent(rpc, notes[0])

    # the same note again: the verifier's approval is refused, and so is the relayer's withdrawal (its gas lost)
    with pytest.raises(TxFailed, match="verifier approval"):
        pool.withdraw(send, rpc, notes[1], derived_address(b"t", "fresh", 1), relayer, fee)
    relayer_before = chain.eth(relayer)
    with pytest.raises(TxFailed, match="withdraw from pool"):
        pool.withdraw(send, rpc, notes[1], derived_address(b"t", "fresh", 1), relayer, fee, approve=False)
    assert chain.eth(derived_address(b"t", "fresh", 1)) == 0 and chain.eth(pool.address) == ETHER
    assert chain.eth(relayer) < relayer_before
    # a withdrawal the verifier did not approve, or approved for another recipient or fee: refused
    with pytest.raises(TxFailed):
        pool.withdraw(send, rpc, notes[0], recipient, relayer, fee, approve=False)
    pool.approve(send, notes[0], recipient, relayer, fee)
    other = derived_address(b"t", "fresh", 2)
    for to, paid in ((other, fee), (recipient, fee - 1)):
        data = withdraw_data(notes[0].nullifier_hash, pool.last_root(rpc), to, relayer, paid)
        assert send(relayer, pool.address, 0, data, 250_000)["status"] == "0x0"
    # only the verifier approves; a fee above the denomination or a wrong deposit amount is refused
    with pytest.raises(TxFailed):
        Pool(pool.address, None, ETHER, alice).approve(send, notes[0], other, relayer, fee)
    with pytest.raises(TxFailed):
        pool.withdraw(send, rpc, notes[0], recipient, relayer, ETHER + 1)
    with pytest.raises(TxFailed):
        Pool(pool.address, None, ETHER // 10, verifier).deposit(send, alice, Note.derive(b"t", pool.address, 9))
    assert chain.eth(pool.address) == ETHER and not pool.is_spent(rpc, notes[0])
    # the approval still standing (recipient, fee) is spent once, then the nullifier is spent
    pool.withdraw(send, rpc, notes[0], recipient, relayer, fee, approve=False)
    assert chain.eth(pool.address) == 0 and pool.is_spent(rpc, notes[0])
    with pytest.raises(TxFailed):
        pool.approve(send, notes[0], recipient, relayer, fee)
    assert _assert_no_note_in_calldata(rpc, notes) > 15


def test_stablecoin_pool_with_fee_and_refund(chain) -> None:
    rpc, send = chain.rpc, chain.send
    issuer, bob, relayer = chain.accounts[:3]
    usdx = tokens.deploy_stablecoin(send, issuer, "Test Dollar", "USDX")
    tokens.mint(send, usdx, issuer, bob, 5_000 * USD)
    pools = deploy_pools(send, issuer, eth=(), tokens={usdx: (100 * USD, 1_000 * USD)})
    assert pools[(usdx, 1_000 * USD)].verifier == issuer  # the deployer by default
    pool = pools[(usdx, 1_000 * USD)]
    tokens.approve(send, usdx, bob, pool.address)
    note = Note.derive(b"s", pool.address, 0)
    pool.deposit(send, bob, note)
    assert tokens.balance_of(rpc, usdx, bob) == 4_000 * USD
    assert tokens.balance_of(rpc, usdx, pool.address) == 1_000 * USD
    recipient = derived_address(b"s", "fresh", 0)
    fee, refund = 25 * USD, ETHER // 100
    relayer_eth = chain.eth(relayer)
    receipt = pool.withdraw(send, rpc, note, recipient, relayer, fee, refund)
    assert tokens.balance_of(rpc, usdx, recipient) == 975 * USD
    assert tokens.balance_of(rpc, usdx, relayer) == 25 * USD
    assert tokens.balance_of(rpc, usdx, pool.address) == 0
    assert chain.eth(recipient) == refund  # gas money for the fresh address, from the relayer
    assert relayer_eth - chain.eth(relayer) == refund + fee_paid(receipt)
    with pytest.raises(TxFailed):
        pool.withdraw(send, rpc, note, recipient, relayer, fee)
    _assert_no_note_in_calldata(rpc, [note])
