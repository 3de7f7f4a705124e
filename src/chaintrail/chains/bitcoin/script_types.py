"""Output script types and the payload each one carries.

The codes are stored in the chain store (``outputs.script_type``), so never renumber them.

| code | name            | payload (bytes of the script the type is identified by)         |
|------|-----------------|------------------------------------------------------------------|
| 0    | nonstandard     | the whole script                                                 |
| 1    | p2pk            | the public key (33 or 65 bytes); shown as its P2PKH address      |
| 2    | p2pkh           | 20-byte HASH160 of the key                                       |
| 3    | p2sh            | 20-byte HASH160 of the redeem script                             |
| 4    | p2wpkh          | 20-byte witness v0 program                                       |
| 5    | p2wsh           | 32-byte witness v0 program                                       |
| 6    | p2tr            | 32-byte witness v1 program                                       |
| 7    | multisig        | the whole script (bare m-of-n CHECKMULTISIG); each key also kept |
| 8    | op_return       | everything after the OP_RETURN opcode (data, no address)         |
| 9    | witness_unknown | the witness program (2..40 bytes) of versions 1..16 not above    |
"""

from __future__ import annotations

from enum import IntEnum


class ScriptType(IntEnum):
    NONSTANDARD = 0
    P2PK = 1
    P2PKH = 2
    P2SH = 3
    P2WPKH = 4
    P2WSH = 5
    P2TR = 6
    MULTISIG = 7
    OP_RETURN = 8
    WITNESS_UNKNOWN = 9


SCRIPT_TYPE_NAMES: tuple[str, ...] = tuple(t.name.lower() for t in ScriptType)
