"""The training database: sets, exercises, roster, submissions and grades in one SQLite file.

One training folder is one class: ``training.sqlite`` (this schema), and one
folder per exercise set under ``sets/<name>/`` with the generated scenario
(blocks and answer key) and, when built, the chain store the trainees open in
the workbench. Tokens (the instructor's, one per trainee) are kept only as
SHA-256 hashes; they are random 32-character secrets, so a plain hash suffices.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from chaintrail.errors import StoreError

DB_NAME = "training.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sets (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, seed INTEGER NOT NULL, difficulty TEXT NOT NULL,
    scenario_dir TEXT NOT NULL, store_dir TEXT, created REAL NOT NULL,
    exam_started REAL, exam_ends REAL, exam_closed REAL);
CREATE TABLE IF NOT EXISTS exercises (
    id INTEGER PRIMARY KEY, set_id INTEGER NOT NULL REFERENCES sets(id), position INTEGER NOT NULL,
    kind TEXT NOT NULL, case_id TEXT NOT NULL, brief_json TEXT NOT NULL, expected_json TEXT NOT NULL,
    UNIQUE (set_id, position));
CREATE TABLE IF NOT EXISTS trainees (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, exercise_id INTEGER NOT NULL REFERENCES exercises(id),
    trainee_id INTEGER NOT NULL REFERENCES trainees(id), submitted REAL NOT NULL, in_exam INTEGER NOT NULL,
    answers_json TEXT NOT NULL, grade_json TEXT NOT NULL, score REAL NOT NULL);
CREATE INDEX IF NOT EXISTS submissions_by_trainee ON submissions (trainee_id, exercise_id, id);
"""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def connect(folder: Path, create: bool = False) -> sqlite3.Connection:
    """Open (or with ``create`` make) the training database of ``folder``."""
    path = folder / DB_NAME
    if not create and not path.exists():
        raise StoreError(f"{folder} is not a training folder (no {DB_NAME}): run chaintrail training init")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(_SCHEMA)
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row["value"]) != SCHEMA_VERSION:
            raise StoreError(f"{path}: training schema {row['value']}, this chaintrail reads {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {exc}") from None
    return con


def get_meta(con: sqlite3.Connection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row["value"]


def set_meta(con: sqlite3.Connection, key: str, value: str) -> None:
    con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def loads(text: str) -> dict:
    return json.loads(text)


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))
