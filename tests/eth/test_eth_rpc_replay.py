"""EthRpc against recorded mainnet answers (ethereum-etl's fixtures, replayed over HTTP): capability fallbacks,
and one clear line for each way a node misbehaves."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from replay_node import ReplayNode, fixture

from chaintrail.chains.ethereum.rpc import EthRpc, RpcMethodMissing, public_url
from chaintrail.errors import SourceError

STREAM = fixture("test_stream", "blocks_1755634_1755635")  # block 1755635 holds 2 txs, with their receipts
TX1 = "0x2e3dcd051a91d3a694f6b8de2ac4b5fe7acdba55f58bcf8471ff00d4a430074d"
TX2 = "0x9a5437ec71b74ecf5930b406908ac6999966d38a86d1534b7190ece7599095eb"
CASES = ["block_with_subtraces", "block_with_create", "block_with_error", "block_with_suicide"]
CASE_BLOCKS = [0xF4240, 0xF44F2, 0xF45BF, 0xF7105]


def _recorded(folder, name: str) -> object:
    return orjson.loads((folder / f"web3_response.{name}.json").read_bytes())["result"]


@pytest.fixture
def node() -> Iterator[ReplayNode]:
    with ReplayNode([STREAM]) as served:
        yield served


def test_blocks_and_receipts_fall_back_to_one_receipt_per_tx(node: ReplayNode) -> None:
    with EthRpc(node.url) as rpc:
        assert (rpc.chain_id(), rpc.head()) == (1, 1755635)
        blocks = rpc.blocks([1755634, 1755635])
        assert blocks == [_recorded(STREAM, "eth_getBlockByNumber_0x1ac9f2_true"),
                          _recorded(STREAM, "eth_getBlockByNumber_0x1ac9f3_true")]
        assert rpc.block_headers([1755635])[0]["transactions"] == [TX1, TX2]
        node.requests.clear()
        receipts = rpc.receipts(blocks)
        again = rpc.receipts(rpc.block_headers([1755635]))
    assert receipts == [[], [_recorded(STREAM, f"eth_getTransactionReceipt_{TX1}"),
                             _recorded(STREAM, f"eth_getTransactionReceipt_{TX2}")]]
    assert again == receipts[1:]
    # the node lacks eth_getBlockReceipts: asked once, then remembered
    assert node.requests.count("eth_getBlockReceipts") == 1
    assert node.requests.count("eth_getTransactionReceipt") == 4


@pytest.mark.parametrize(("folders", "flavour", "probes"), [
    ([fixture("test_export_traces_job", c) for c in CASES], "parity", ["trace_block"]),
    ([fixture("test_extract_geth_traces_job", c) for c in CASES], "geth", ["trace_block", "debug_traceBlockByNumber"]),
])
def test_traces_parity_or_geth(folders: list, flavour: str, probes: list[str]) -> None:
    with ReplayNode(folders) as served, EthRpc(served.url, batch_size=2) as rpc:
        got = rpc.traces(CASE_BLOCKS)
        assert served.requests[: len(probes)] == probes
        served.requests.clear()
        assert rpc.traces(CASE_BLOCKS[:1]) == (flavour, got[1][:1])
        assert served.requests == [probes[-1]]  # the flavour is remembered
    if flavour == "parity":
        want = [_recorded(f, f"trace_block_{hex(n)}") for f, n in zip(folders, CASE_BLOCKS)]
    else:
        want = [_recorded(f, f"debug_traceBlockByNumber_{hex(n)}_tracer_calltracer")
                for f, n in zip(folders, CASE_BLOCKS)]
    assert got == (flavour, want)
    assert all(want)


def test_traces_none_when_the_node_has_neither(node: ReplayNode) -> None:
    with EthRpc(node.url) as rpc:
        assert rpc.traces([1755635]) == (None, [])
        assert node.requests[-2:] == ["trace_block", "debug_traceBlockByNumber"]
        node.requests.clear()
        assert rpc.traces([1755634, 1755635]) == (None, [])
        assert node.requests == []


def test_missing_method_is_rpc_method_missing(node: ReplayNode) -> None:
    with EthRpc(node.url) as rpc, pytest.raises(RpcMethodMissing) as err:
        rpc.call("eth_getBlockReceipts", ["0x1ac9f3"])
    assert str(err.value) == (f"eth_getBlockReceipts block 1755635: the node does not serve this method "
                              f"(-32601: Method not found) ({node.url})")
    assert isinstance(err.value, SourceError)


def test_unknown_block_is_one_clear_line(node: ReplayNode) -> None:
    with EthRpc(node.url) as rpc, pytest.raises(SourceError) as err:
        rpc.blocks([1755635, 5])
    assert str(err.value) == f"eth_getBlockByNumber block 5: the node has no such block (null) ({node.url})"


BATCH = "eth_getBlockByNumber (2 calls, block 1755634 … block 1755635)"


@pytest.mark.parametrize(("switches", "client", "reason"), [
    ({"malformed_next": 1}, {}, "malformed answer (not JSON: unexpected end of data:"),
    ({"drop_id_next": 1}, {},
     "malformed answer (the batch answer lacks 1 of 2 ids; first missing: eth_getBlockByNumber block 1755635)"),
    ({"huge_bytes": 3_000_000}, {"max_response_bytes": 1_000_000},
     "answer is over the limit of 1000000 bytes"),
    ({"huge_bytes": 3_000_000, "huge_chunked": False}, {"max_response_bytes": 1_000_000},
     "answer of 3004135 bytes is over the limit of 1000000 bytes"),
    ({"delay": 1.0}, {"timeout": 0.3}, "no answer within 0.3 s"),
    ({"http_429_next": 100}, {"retries": 2}, "rate limited (HTTP 429 Too Many Requests), still after 3 tries"),
    ({"rpc_429_next": 100}, {"retries": 2},
     "rate limited (-32005: daily request count exceeded, request rate limited), still after 3 tries"),
])
def test_each_misbehaviour_is_one_line_naming_method_and_url(node: ReplayNode, switches: dict, client: dict,
                                                             reason: str) -> None:
    for k, v in switches.items():
        setattr(node, k, v)
    with EthRpc(node.url, **client) as rpc, pytest.raises(SourceError) as err:
        rpc.blocks([1755634, 1755635])
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{BATCH}: {reason}")
    assert msg.endswith(f" ({node.url})")


def test_rate_limits_and_dropped_connections_are_retried(node: ReplayNode) -> None:
    with EthRpc(node.url) as rpc:
        node.http_429_next, node.retry_after = 2, None  # no Retry-After: exponential backoff
        assert rpc.head() == 1755635
        assert node.requests == ["HTTP 429", "HTTP 429", "eth_blockNumber"]
        node.requests.clear()
        node.rpc_429_next = 1
        assert [b["number"] for b in rpc.blocks([1755634, 1755635])] == ["0x1ac9f2", "0x1ac9f3"]
        assert node.requests == ["eth_getBlockByNumber"] * 4
        node.reset_next = 3
        assert rpc.chain_id() == 1


def test_credentials_and_api_keys_stay_out_of_messages(node: ReplayNode) -> None:
    key = "0123456789abcdef0123456789abcdef"
    url = node.url.replace("http://", "http://alice:s3cret@") + f"/v3/{key}?apikey=zzz"
    node.malformed_next = 1
    with EthRpc(url) as rpc, pytest.raises(SourceError) as err:
        rpc.head()
    assert str(err.value).endswith(f"({node.url}/v3/***?***)")
    assert "s3cret" not in str(err.value) and key not in str(err.value) and "zzz" not in str(err.value)
    assert public_url("https://u:p@[::1]:8545/") == "https://[::1]:8545/"
