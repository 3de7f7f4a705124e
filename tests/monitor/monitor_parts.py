"""Parts the monitor tests share: wait for a condition; send ETH on a node and wait until it is mined."""

from __future__ import annotations

import time

from chaintrail.chains.ethereum.rpc import EthRpc


def wait_for(cond, timeout: float = 30.0):
    """``cond()``'s first truthy answer, polled every 20 ms; an AssertionError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("timed out")


def send(rpc: EthRpc, frm: str, to: str, wei: int) -> str:
    """Send ``wei`` from an unlocked account and wait for its receipt; the tx hash."""
    h = rpc.call("eth_sendTransaction", [{"from": frm, "to": to, "value": hex(wei)}])
    while rpc.call("eth_getTransactionReceipt", [h]) is None:
        time.sleep(0.01)
    return h
