"""Signed audit checkpoints: an append-only file of the log's heads, kept outside the case database.

Each committed write that appends audit entries also appends one line here
(under an exclusive file lock, after the commit), in canonical JSON::

    {"agency":"NCA","case":"NCA-2026-0001","head":"<entry hash>","key":"SHA256:…","n":12,
     "prev":"<SHA-256 of line 11's bytes>","seq":41,"sig":"<Ed25519, hex>","time":"2026-…Z"}

``sig`` is the agency's Ed25519 signature (its key file, see ``keys``) over
the line without ``sig``; ``prev`` chains each line to the one before, as a
transparency log does. Whoever can write the database but not this file
cannot rewrite, truncate or re-hash the log without ``case verify`` naming
the first checkpoint that disagrees (``check``); whoever can also write the
file still cannot sign new lines. What it does not cover is in
docs/audit-log.md.

The file is ``$CHAINTRAIL_AUDIT_CHECKPOINTS``, else ``<db stem>.checkpoints.jsonl``
beside a SQLite database, else ``~/.chaintrail/checkpoints/<database>.jsonl``.
A missing file is started only by the transaction that writes entry #1, or by
``start`` (`chaintrail case checkpoint`) on an older database: deleting the
file does not make the next write start a fresh, forgeable one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chaintrail.cases.errors import CaseDbError
from chaintrail.cases.hashing import GENESIS, canonical, sha256_hex
from chaintrail.errors import UsageError

log = logging.getLogger(__name__)
ENV = "CHAINTRAIL_AUDIT_CHECKPOINTS"
FIELDS = ("agency", "case", "head", "key", "n", "prev", "seq", "sig", "time")
_LOCK = threading.Lock()      # flock excludes other processes; this, other threads of ours


def default_path(sqlite_path: Path | None, url: str) -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    if sqlite_path is not None:
        return sqlite_path.parent / f"{sqlite_path.stem}.checkpoints.jsonl"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", url.rsplit("/", 1)[-1].split("?")[0])[:60] or "case-db"
    return Path.home() / ".chaintrail" / "checkpoints" / f"{name}-{sha256_hex(url.encode())[:12]}.jsonl"


def fingerprint(key: Ed25519PublicKey) -> str:
    return "SHA256:" + hashlib.sha256(key.public_bytes_raw()).hexdigest()[:32]


@dataclass(frozen=True)
class Checkpoint:
    """One line of the file, as parsed (``raw`` is its exact bytes, which the next line's ``prev`` hashes)."""

    line: int
    raw: bytes
    fields: dict

    @property
    def seq(self) -> int:
        return self.fields["seq"]

    def describe(self) -> str:
        f = self.fields
        return f"checkpoint {self.line} (entry #{f['seq']}, signed by {f['agency']} at {f['time']})"


def _signed_part(fields: dict) -> bytes:
    return canonical({k: v for k, v in fields.items() if k != "sig"})


def _last_line(fd: int) -> bytes | None:
    """The last complete line of the file (without its newline), read from the end; None if empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    block, buf = 4096, b""
    pos = size
    while pos > 0:
        step = min(block, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        body = buf.rstrip(b"\n")
        nl = body.rfind(b"\n")
        if nl >= 0 or pos == 0:
            return body[nl + 1:]
    return None


def append(path: Path, make: Callable[[dict | None], tuple[dict, Ed25519PrivateKey] | None], *,
           start: bool) -> dict | None:
    """Append the line ``make(last fields)`` returns, signed with its key, under an exclusive lock.

    ``make`` runs under the lock, so it reads the head no other writer can move past the file's last line.
    Nothing is written if ``make`` returns None, or if the file is missing or empty and ``start`` is false.
    """
    if not start and not (path.exists() and path.stat().st_size):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = _last_line(fd)
            if raw is None and not start:
                return None
            last = None
            if raw is not None:
                try:
                    last = json.loads(raw)
                except ValueError:
                    last = None
                if not (isinstance(last, dict) and isinstance(last.get("n"), int)):
                    log.warning("audit checkpoints are not written: the last line of %s is damaged", path)
                    return None
            made = make(last)
            if made is None:
                return None
            fields, key = made
            fields = {**fields, "n": 1 if last is None else last["n"] + 1,
                      "prev": GENESIS if raw is None else sha256_hex(raw), "key": fingerprint(key.public_key())}
            fields["sig"] = key.sign(_signed_part(fields)).hex()
            os.write(fd, canonical(fields) + b"\n")
            os.fsync(fd)
            return fields
        finally:
            os.close(fd)


def read(path: Path, keys: dict[str, Ed25519PublicKey]) -> tuple[list[Checkpoint], list[tuple[int, str]]]:
    """The file's lines, each checked for form, numbering, its link to the line before and its signature.

    Returns the lines that pass and (line number, problem) for the first that does not: a line after a
    broken one cannot be trusted to say anything.
    """
    good: list[Checkpoint] = []
    prev_raw: bytes | None = None
    for i, raw in enumerate(_lines(path), start=1):
        where = f"{path} line {i}"
        try:
            f = json.loads(raw)
        except ValueError:
            return good, [(i, f"{where} is not JSON: the checkpoint file was damaged or edited")]
        if not isinstance(f, dict) or set(f) != set(FIELDS) or not isinstance(f["seq"], int):
            return good, [(i, f"{where} is not a checkpoint (fields {sorted(f) if isinstance(f, dict) else '?'})")]
        if f["n"] != i or f["prev"] != (GENESIS if prev_raw is None else sha256_hex(prev_raw)):
            return good, [(i, f"{where} does not follow line {i - 1}: lines of the checkpoint file were "
                              f"removed, reordered or edited")]
        if good and f["seq"] <= good[-1].seq:
            return good, [(i, f"{where} anchors entry #{f['seq']}, not after line {i - 1}'s #{good[-1].seq}")]
        key = keys.get(f["agency"])
        if key is None or fingerprint(key) != f["key"]:
            return good, [(i, f"{where} is signed by key {f['key']} which is not {f['agency']}'s signing key")]
        try:
            key.verify(bytes.fromhex(f["sig"]), _signed_part(f))
        except (InvalidSignature, ValueError, TypeError):
            return good, [(i, f"{where}: its signature does not verify with {f['agency']}'s key {f['key']}: "
                              f"the line was forged or edited")]
        good.append(Checkpoint(i, raw, f))
        prev_raw = raw
    return good, []


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for line in fh:
            yield line.rstrip(b"\n")


def anchor(db, first_seq: int) -> None:
    """After a commit that appended entries from ``first_seq`` on: sign the log's head into the file."""
    path = db.checkpoints
    try:
        if _anchor(db, start=first_seq == 1) is None and not path.exists():
            log.warning("audit checkpoints are not written: %s is missing (run `chaintrail case checkpoint` once "
                        "to start it)", path)
    except OSError as exc:
        raise CaseDbError(f"the change is saved, but its audit checkpoint could not be written to {path}: "
                          f"{exc.strerror or exc}") from exc


def start(db) -> dict:
    """Anchor the current head now, starting the file if need be (an older database); the chain must be intact."""
    from chaintrail.cases import audit
    with db.read() as conn:
        chk = audit.check_chain(audit.entries(conn), audit.head(conn))
    if chk.problems:
        raise CaseDbError(f"not anchoring a broken audit log: {chk.problems[0][1]} (run `chaintrail case verify`)")
    if chk.entries == 0:
        raise UsageError("the audit log is empty: its first write starts the checkpoint file")
    try:
        made = _anchor(db, start=True)
    except OSError as exc:
        raise CaseDbError(f"cannot write audit checkpoints to {db.checkpoints}: {exc.strerror or exc}") from exc
    if made is None:
        last = _last_fields(db.checkpoints)
        if last is None or last.get("seq") != chk.head_seq:
            raise UsageError("no home agency's signing key can be loaded to sign the checkpoint")
        return last
    return made


def _anchor(db, *, start: bool) -> dict | None:
    from chaintrail.cases import audit

    def make(last: dict | None) -> tuple[dict, Ed25519PrivateKey] | None:
        with db.read() as conn:
            seq, head = audit.head(conn)
            e = conn.execute(sa.select(audit.S.audit.c.agency, audit.S.audit.c.case_ref)
                             .where(audit.S.audit.c.seq == seq)).first()
        if e is None or (last is not None and isinstance(last.get("seq"), int) and last["seq"] >= seq):
            return None     # another writer anchored this head, or a later one, first
        signer = signing_key(db, e.agency)
        if signer is None:
            log.warning("audit entry #%d is not anchored: no home agency's signing key can be loaded", seq)
            return None
        return {"agency": signer[0], "case": e.case_ref, "head": head, "seq": seq, "time": audit.now()}, signer[1]

    return append(db.checkpoints, make, start=start)


def _last_fields(path: Path) -> dict | None:
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        raw = _last_line(fd)
    finally:
        os.close(fd)
    try:
        return None if raw is None else json.loads(raw)
    except ValueError:
        return None


def signing_key(db, preferred: str | None) -> tuple[str, Ed25519PrivateKey] | None:
    """The agency that signs a checkpoint and its key: the writer's agency, else the first home agency's."""
    from chaintrail.cases import schema as S
    from chaintrail.cases.keys import SigningKeyError, load_signing_key

    with db.read() as conn:
        homes = [r.name for r in conn.execute(sa.select(S.agencies.c.name).where(S.agencies.c.kind == "home")
                                              .order_by(S.agencies.c.id))]
    for name in ([preferred] if preferred in homes else []) + homes:
        try:
            return name, load_signing_key(db, name)
        except SigningKeyError:
            continue
    return None


@dataclass
class Comparison:
    """What the checkpoint file says about the log: problems, warnings, and the last entry it confirms."""

    path: str
    lines: int = 0
    anchored_seq: int = 0
    problems: list[tuple[int | None, str]] = field(default_factory=list)   # (audit entry seq or None, message)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"path": self.path, "lines": self.lines, "anchored_seq": self.anchored_seq}


def compare(path: Path, log_entries: list, keys: dict[str, Ed25519PublicKey]) -> Comparison:
    """Hold the audit log (``audit.AuditEntry`` list, in order) to every signed head in the file."""
    out = Comparison(str(path))
    if not path.exists() or path.stat().st_size == 0:
        if log_entries:
            out.problems.append((None, f"no audit checkpoints at {path}, but the log has {len(log_entries):,} "
                                       f"entries: the file was deleted or emptied, or this database predates "
                                       f"checkpoints (then run `chaintrail case checkpoint` once)"))
        return out
    lines, bad = read(path, keys)
    out.lines = len(lines)
    out.problems.extend((None, msg) for _, msg in bad)
    by_seq = {e.seq: e for e in log_entries}
    last_seq = log_entries[-1].seq if log_entries else 0
    for i, cp in enumerate(lines):
        e = by_seq.get(cp.seq)
        if e is None:
            out.problems.append((cp.seq, f"{cp.describe()} anchors an entry the log no longer has: the log ends at "
                                         f"#{last_seq}, so entries were removed and its head moved back"))
        elif e.entry_hash != cp.fields["head"]:
            later = len(lines) - i - 1
            out.problems.append((cp.seq, f"audit entry #{cp.seq} ({e.action} by {e.actor}) is not the entry "
                                         f"{cp.describe()} anchored: the log was rewritten after "
                                         f"#{out.anchored_seq} (the last entry a checkpoint confirms)"
                                         + (f"; {later:,} later checkpoints disagree too" if later else "")))
        else:
            out.anchored_seq = cp.seq
            continue
        break
    if not out.problems and out.anchored_seq < last_seq:
        out.warnings.append(f"entries #{out.anchored_seq + 1}..#{last_seq} are newer than the last checkpoint: "
                            f"not yet anchored")
    return out
