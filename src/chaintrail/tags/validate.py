"""Checks every imported tag must pass: its address is one its chain can have.

Bitcoin tags (currency BTC, or none given) must carry a Base58Check or
bech32/bech32m address of a Bitcoin network (mainnet, testnet/signet, regtest)
with a valid checksum, decoded by :mod:`chaintrail.chains.bitcoin.address`.
Other tags written 0x... must hold 40 to 64 hex digits. Other chains'
addresses are not decoded, but must be one token of letters and digits (with
``.``, ``_``, ``-`` or a ``prefix:`` inside), so nothing that starts a
spreadsheet formula or holds spaces passes. Labels are data and are kept as
given; exports neutralise them (:mod:`chaintrail.csv_export`).
"""

from __future__ import annotations

import re

import pyarrow as pa

from chaintrail.chains.bitcoin.address import base58check_decode, segwit_decode
from chaintrail.chains.bitcoin.network import NETWORKS
from chaintrail.errors import AddressError
from chaintrail.i18n import _
from chaintrail.tags.errors import TagFileError

__all__ = ["address_problem", "split_valid"]

_HRPS = {n.hrp for n in NETWORKS.values()}
_BASE58_VERSIONS = {v for n in NETWORKS.values() for v in (n.p2pkh_prefix, n.p2sh_prefix)}
_HEX_ACCOUNT = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX = re.compile(r"0x[0-9a-fA-F]{40,64}")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,255}")


def address_problem(address: str, currency: str | None, any_chain: bool = False) -> str | None:
    """None if ``address`` can be an address of ``currency`` (BTC when None), else why not."""
    if any_chain:
        return None if _TOKEN.fullmatch(address) else f"{_show(address)} is not an address"
    if currency in (None, "BTC"):
        if currency is None and _HEX_ACCOUNT.fullmatch(address):
            return None                 # an account-chain address in a file that names no currency
        return _bitcoin_problem(address)
    if address[:2].lower() == "0x":
        if _HEX.fullmatch(address):
            return None
        return _("{address} is not a {currency} address (0x and hex digits)").format(address=_show(address),
                                                                                     currency=currency)
    if _TOKEN.fullmatch(address):
        return None
    return _("{address} is not a {currency} address (one token of letters and digits)").format(
        address=_show(address), currency=currency)


def _bitcoin_problem(address: str) -> str | None:
    shown = _show(address)
    if not _TOKEN.fullmatch(address) or len(address) > 90:
        return _("{address} is not a Bitcoin address").format(address=shown)
    pos = address.rfind("1")
    hrp = address[:pos].lower() if pos > 0 else ""
    try:
        if hrp in _HRPS:
            segwit_decode(hrp, address.lower() if address.upper() == address else address)
            return None
        version, payload = base58check_decode(address)
    except AddressError as exc:
        why = str(exc)
        why = why.split(": ", 1)[1] if why.startswith(repr(address)) else why
        return _("{address} is not a Bitcoin address: {why}").format(address=shown, why=why)
    if version not in _BASE58_VERSIONS or len(payload) != 20:
        return _("{address} is not a Bitcoin address: version byte 0x{version}, payload of {n} bytes").format(
            address=shown, version=f"{version:02x}", n=len(payload))
    return None


def _show(address: str) -> str:
    return repr(address if len(address) <= 60 else address[:60] + "...")


def split_valid(tags: pa.Table, path: str, any_chain: bool = False) -> tuple[pa.Table, list[TagFileError]]:
    """The tags whose address passes :func:`address_problem`, and one error per tag that does not.

    With ``any_chain``, an address need only be one token of letters and digits, whatever its currency.
    """
    addr = tags.column("address").to_pylist()
    cur = tags.column("currency").to_pylist()
    net = tags.column("network").to_pylist()
    lines = tags.column("origin_line").to_pylist()
    bad: list[TagFileError] = []
    keep = []
    seen: dict[tuple[str, str | None], str | None] = {}
    for a, c, w, line in zip(addr, cur, net, lines):
        why = None
        if a is not None:
            key = (a, c or w)
            why = seen[key] if key in seen else seen.setdefault(key, address_problem(a, c or w, any_chain))
        keep.append(why is None)
        if why is not None:
            bad.append(TagFileError(why, path, line))
    if not bad:
        return tags, []
    return tags.filter(pa.array(keep, pa.bool_())), bad


