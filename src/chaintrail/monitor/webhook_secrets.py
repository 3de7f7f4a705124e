"""Per-watch webhook secrets: made when a watch is added, shown once, kept encrypted.

The monitor must sign each POST with the secret, so it cannot be stored as a hash. It is stored in the watch's
record sealed with AES-256-GCM under one wrapping key per case database. The wrapping key lives where the
agencies' signing keys live (``cases.keys``: ``$CHAINTRAIL_KEY_DIR``, else beside a SQLite database), in a
0600 file that is refused when others can read it, and itself encrypted under ``$CHAINTRAIL_KEY_PASSPHRASE``
when that is set. A copy of the database alone therefore gives no secret away. The record also keeps the
secret's fingerprint (the first 16 hex digits of its SHA-256) so a receiver can tell which secret is meant.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chaintrail.cases.keys import PASSPHRASE_ENV, SigningKeyError

KEY_FILE = "webhook-secrets.key"
_AAD = b"chaintrail webhook secret v1"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _kek(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase)


def wrapping_key(key_dir: Path, create: bool = True) -> bytes:
    """The database's wrapping key from ``key_dir`` (made there, 0600, on first use when ``create``)."""
    path = key_dir / KEY_FILE
    pw = os.environ.get(PASSPHRASE_ENV, "").encode()
    if not path.exists():
        if not create:
            raise SigningKeyError(f"no webhook secret key: {path} is missing")
        key = AESGCM.generate_key(256)
        salt, nonce = os.urandom(16), os.urandom(12)
        text = (f"scrypt:{salt.hex()}:{nonce.hex()}:{AESGCM(_kek(pw, salt)).encrypt(nonce, key, _AAD).hex()}"
                if pw else f"plain:{key.hex()}")
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:         # another process made it meanwhile: use that one
            return wrapping_key(key_dir, create=False)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return key
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(f"key file {path} is readable by others (mode {stat.S_IMODE(path.stat().st_mode):o}): "
                              f"chmod 600 it")
    kind, *parts = path.read_text().strip().split(":")
    try:
        if kind == "plain":
            return bytes.fromhex(parts[0])
        if kind == "scrypt":
            if not pw:
                raise SigningKeyError(f"key file {path} is encrypted: set ${PASSPHRASE_ENV}")
            salt, nonce, ct = (bytes.fromhex(x) for x in parts)
            return AESGCM(_kek(pw, salt)).decrypt(nonce, ct, _AAD)
    except (ValueError, IndexError, InvalidTag):
        raise SigningKeyError(f"key file {path} cannot be read (wrong ${PASSPHRASE_ENV}, or not a key)") from None
    raise SigningKeyError(f"key file {path} is not a webhook secret key")


def seal(key: bytes, secret: str, case_id: int) -> str:
    """``secret`` encrypted for the watch record of case ``case_id`` (bound to that case)."""
    nonce = os.urandom(12)
    return "v1:" + nonce.hex() + ":" + AESGCM(key).encrypt(nonce, secret.encode(), _AAD + b"|%d" % case_id).hex()


def unseal(key: bytes, sealed: str, case_id: int) -> bytes:
    """The secret of a watch record (SigningKeyError when it was sealed under another key or case)."""
    try:
        v, nonce, ct = sealed.split(":")
        if v != "v1":
            raise ValueError(v)
        return AESGCM(key).decrypt(bytes.fromhex(nonce), bytes.fromhex(ct), _AAD + b"|%d" % case_id)
    except (ValueError, InvalidTag):
        raise SigningKeyError("a watch's webhook secret cannot be decrypted with this database's key") from None
