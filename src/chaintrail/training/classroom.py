"""A class: exercise sets, roster, submissions, grades and exam mode over one training folder.

Every rule a trainee could try to get round is enforced here, not in the UI:
a trainee token sees only its own submissions and grades and never an
expected answer; an exam hides hints and grades while it runs and refuses any
submission once it is over (closed, or past its end by the server's clock).
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from chaintrail.errors import UsageError
from chaintrail.i18n import _
from chaintrail.training import db
from chaintrail.training.answers import brief, expected_answers, find_case
from chaintrail.training.grading import grade
from chaintrail.training.kinds import DIFFICULTIES, TECHNIQUES, difficulty, exercise_kind
from chaintrail.training.submission import parse_answers

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_EXAM_MINUTES = 24 * 60


class NotAllowed(UsageError):
    """The token may not do or see this (HTTP 403/404)."""


class ExamLocked(UsageError):
    """The exam is over: submissions are locked (HTTP 409)."""


@dataclass(frozen=True)
class Trainee:
    id: int
    name: str


def _check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name or ""):         # not match: its $ also matches before a final newline
        raise UsageError(f"{what} {name!r}: 1-40 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def exam_state(row, now: float) -> str:
    """practice (no exam), running, or over (closed, or past its end)."""
    if row["exam_started"] is None:
        return "practice"
    if row["exam_closed"] is not None or now >= row["exam_ends"]:
        return "over"
    return "running"


class Classroom:
    """One training folder: ``Classroom.init(folder)`` makes it, ``Classroom(folder)`` opens it."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.con = db.connect(self.folder)
        self._owners: dict[int, dict[str, str]] = {}

    @classmethod
    def init(cls, folder: str | Path) -> tuple[Classroom, str]:
        """A new training folder and its instructor token (shown once; only its hash is kept)."""
        folder = Path(folder)
        if (folder / db.DB_NAME).exists():
            raise UsageError(f"{folder} is already a training folder")
        con = db.connect(folder, create=True)
        token = secrets.token_urlsafe(24)
        db.set_meta(con, "instructor_token_sha256", db.token_hash(token))
        con.close()
        return cls(folder), token

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Classroom:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- who is asking ---------------------------------------------------------------------
    def is_instructor(self, token: str | None) -> bool:
        want = db.get_meta(self.con, "instructor_token_sha256")
        return bool(token) and want is not None and secrets.compare_digest(db.token_hash(token or ""), want)

    def trainee_by_token(self, token: str | None) -> Trainee | None:
        if not token:
            return None
        row = self.con.execute("SELECT id, name FROM trainees WHERE token_hash = ?", (db.token_hash(token),)).fetchone()
        return None if row is None else Trainee(row["id"], row["name"])

    # -- roster ----------------------------------------------------------------------------
    def add_trainee(self, name: str) -> str:
        """Enrol ``name``; returns the trainee's token (shown once)."""
        name = " ".join((name or "").split())
        if not 1 <= len(name) <= 100:
            raise UsageError("a trainee's name is 1-100 characters")
        token = secrets.token_urlsafe(24)
        try:
            self.con.execute("INSERT INTO trainees (name, token_hash, created) VALUES (?, ?, ?)",
                             (name, db.token_hash(token), time.time()))
        except db.sqlite3.IntegrityError:
            raise UsageError(f"trainee {name!r} is already on the roster") from None
        return token

    def roster(self) -> list[dict]:
        return [dict(r) for r in self.con.execute("SELECT id, name, created FROM trainees ORDER BY name")]

    # -- sets ------------------------------------------------------------------------------
    def create_set(self, name: str, kinds: list[str], seed: int, level: str = "easy", build: bool = True,
                   progress=None) -> dict:
        """Generate the set's chains (Bitcoin and/or Ethereum, as its kinds need), build their stores
        (``build``), and one exercise per kind."""
        specs = self.check_new_set(name, kinds, level)
        diff = difficulty(level)
        say = progress or (lambda _m: None)
        home = self.folder / "sets" / name
        if home.exists():
            shutil.rmtree(home)         # left by a create that failed before its row was written
        scenario = home / "scenario"
        rows: dict[str, tuple] = {}
        store = None
        btc = [s for s in specs if s.chain == "btc"]
        eth = [s for s in specs if s.chain == "eth"]
        if btc:
            from chaintrail.scenario.answer_key import load_answer_key
            from chaintrail.scenario.generator import generate

            say(_("generating the Bitcoin chain"))
            generate(scenario, seed=seed, kind="all", scale=diff.scale, behaviour=diff.behaviour)
            key = load_answer_key(scenario)
            for spec in btc:
                case = find_case(key, spec.case_kind)
                rows[spec.name] = (spec.name, case["id"], db.dumps(brief(key, case, spec)),
                                   db.dumps(expected_answers(key, case)))
            if build:
                from chaintrail.training.store_build import build_store

                say(_("ingesting, clustering and tagging the Bitcoin chain"))
                store = home / "store"
                build_store(scenario, store)
        if eth:
            self._create_eth(home / "eth", eth, seed, level, build, say, rows)
        with self.con:
            cur = self.con.execute("INSERT INTO sets (name, seed, difficulty, scenario_dir, store_dir, created) "
                                   "VALUES (?, ?, ?, ?, ?, ?)",
                                   (name, seed, level, str(scenario), None if store is None else str(store),
                                    time.time()))
            for pos, spec in enumerate(specs, 1):
                self.con.execute("INSERT INTO exercises (set_id, position, kind, case_id, brief_json, expected_json) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (cur.lastrowid, pos, *rows[spec.name]))
        return self.set_info(name)

    def check_new_set(self, name: str, kinds: list[str], level: str = "easy") -> list:
        """The kinds' specs, or UsageError for a bad name, kind or level or a set that exists (before any work)."""
        _check_name(name, "set name")
        difficulty(level)
        specs = [exercise_kind(k) for k in kinds]
        if not specs:
            raise UsageError("a set needs at least one exercise kind")
        if self.con.execute("SELECT 1 FROM sets WHERE name = ?", (name,)).fetchone():
            raise UsageError(f"set {name!r} exists")
        return specs

    @staticmethod
    def _create_eth(home: Path, specs: list, seed: int, level: str, build: bool, say, rows: dict) -> None:
        from chaintrail.training.eth_answers import eth_brief, expected_eth_answers, find_eth_case
        from chaintrail.training.eth_store import build_eth_stores, generate_eth
        from chaintrail.training.kinds import ETH_SCALE

        scale, fast = ETH_SCALE[level]
        say(_("generating the Ethereum chains"))
        key = generate_eth(home / "scenario", seed, scale, fast, progress=say)
        store = None
        if build:
            store, _b = build_eth_stores(home / "scenario", home, say)
        for spec in specs:
            case = find_eth_case(key, spec.case_kind)
            rows[spec.name] = (spec.name, case["id"], db.dumps(eth_brief(key, case, spec)),
                               db.dumps(expected_eth_answers(key, case, store)))

    def _set_row(self, name: str):
        row = self.con.execute("SELECT * FROM sets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UsageError(f"no exercise set {name!r}")
        return row

    def set_info(self, name: str, now: float | None = None) -> dict:
        row = self._set_row(name)
        now = time.time() if now is None else now
        n = self.con.execute("SELECT count(*) FROM exercises WHERE set_id = ?", (row["id"],)).fetchone()[0]
        eth = Path(row["scenario_dir"]).parent / "eth"
        return {"name": row["name"], "seed": row["seed"], "difficulty": row["difficulty"], "exercises": n,
                "store": row["store_dir"], "eth_store": str(eth / "store") if (eth / "store").exists() else None,
                "eth_store_b": str(eth / "store-b") if (eth / "store-b").exists() else None,
                "exam": self._exam(row, now)}

    def sets(self, now: float | None = None) -> list[dict]:
        return [self.set_info(r["name"], now) for r in self.con.execute("SELECT name FROM sets ORDER BY id")]

    @staticmethod
    def _exam(row, now: float) -> dict:
        state = exam_state(row, now)
        out: dict = {"state": state}
        if state != "practice":
            out |= {"started": row["exam_started"], "ends": row["exam_ends"], "closed": row["exam_closed"]}
            if state == "running":
                out["seconds_left"] = max(0, int(row["exam_ends"] - now))
        return out

    # -- exam mode -------------------------------------------------------------------------
    def exam_start(self, name: str, minutes: float, now: float | None = None) -> dict:
        row = self._set_row(name)
        if not 0 < minutes <= MAX_EXAM_MINUTES:
            raise UsageError(f"exam time: 0 < minutes <= {MAX_EXAM_MINUTES}")
        if row["exam_started"] is not None:
            raise UsageError(f"set {name!r} already had an exam ({exam_state(row, now or time.time())})")
        now = time.time() if now is None else now
        self.con.execute("UPDATE sets SET exam_started = ?, exam_ends = ? WHERE id = ?", (now, now + minutes * 60,
                                                                                         row["id"]))
        return self.set_info(name, now)

    def exam_close(self, name: str, now: float | None = None) -> dict:
        row = self._set_row(name)
        now = time.time() if now is None else now
        if exam_state(row, now) != "running":
            raise UsageError(f"set {name!r} has no running exam")
        self.con.execute("UPDATE sets SET exam_closed = ? WHERE id = ?", (now, row["id"]))
        return self.set_info(name, now)

    # -- exercises -------------------------------------------------------------------------
    def _exercise(self, exercise_id: int):
        row = self.con.execute("SELECT e.*, s.name AS set_name, s.difficulty, s.scenario_dir, s.exam_started, "
                               "s.exam_ends, s.exam_closed FROM exercises e JOIN sets s ON s.id = e.set_id "
                               "WHERE e.id = ?", (exercise_id,)).fetchone()
        if row is None:
            raise NotAllowed(_("no exercise {id}").format(id=exercise_id))
        return row

    def exercise_ids(self, set_name: str | None = None) -> list[int]:
        q = "SELECT e.id FROM exercises e JOIN sets s ON s.id = e.set_id"
        args: tuple = ()
        if set_name is not None:
            q += " WHERE s.name = ?"
            args = (self._set_row(set_name)["name"],)
        return [r[0] for r in self.con.execute(q + " ORDER BY s.id, e.position", args)]

    def exercise(self, exercise_id: int, trainee: Trainee | None = None, now: float | None = None) -> dict:
        """What a trainee sees of an exercise (the brief, never the key) and, with ``trainee``, their own work."""
        from chaintrail.training.feedback import render

        now = time.time() if now is None else now
        row = self._exercise(exercise_id)
        state = exam_state(row, now)
        b = db.loads(row["brief_json"])
        hints = DIFFICULTIES[row["difficulty"]].hints and state == "practice"
        for k in ("story", "focus", "title"):
            b[k] = _(b[k]) if b.get(k) else ""
        techniques = b.pop("techniques", [])
        if hints:
            b["techniques"] = [{"id": k, "technique": _(TECHNIQUES[k][0]), "how": _(TECHNIQUES[k][1])}
                               for k in techniques if k in TECHNIQUES]
        out = {"id": row["id"], "set": row["set_name"], "position": row["position"], "kind": row["kind"],
               "difficulty": row["difficulty"], "exam": self._exam(row, now), "hints": hints, "brief": b}
        if trainee is not None:
            sub = self._latest(exercise_id, trainee.id)
            if sub is not None:
                out["submission"] = {"submitted": sub["submitted"], "answers": db.loads(sub["answers_json"])}
                if state != "running":
                    out["grade"] = render(db.loads(sub["grade_json"]))
        return out

    def _latest(self, exercise_id: int, trainee_id: int):
        return self.con.execute("SELECT * FROM submissions WHERE exercise_id = ? AND trainee_id = ? "
                                "ORDER BY id DESC LIMIT 1", (exercise_id, trainee_id)).fetchone()

    def _owner_of(self, row):
        sid = row["set_id"]
        if exercise_kind(row["kind"]).chain == "eth":
            if -sid not in self._owners:
                from chaintrail.training.eth_answers import eth_owners

                self._owners[-sid] = eth_owners(Path(row["scenario_dir"]).parent / "eth" / "scenario")
            return lambda a: self._owners[-sid].get(a.lower())
        if sid not in self._owners:
            from chaintrail.scenario.answer_key import load_answer_key

            key = load_answer_key(row["scenario_dir"])
            kinds = {e["id"]: e["kind"] for e in key["entities"]}
            t = key["tables"]["addresses"]
            self._owners[sid] = {a: kinds.get(e, "wallet") for a, e in
                                 zip(t.column("address").to_pylist(), t.column("entity_id").to_pylist())}
        return self._owners[sid].get

    def submit(self, exercise_id: int, trainee: Trainee, raw_answers: dict, now: float | None = None) -> dict:
        """Grade and keep ``trainee``'s answers; refused once the set's exam is over."""
        now = time.time() if now is None else now
        row = self._exercise(exercise_id)
        state = exam_state(row, now)
        if state == "over":
            raise ExamLocked(_("the exam of set {name} is over: submissions are locked").format(
                name=repr(row["set_name"])))
        tol = DIFFICULTIES[row["difficulty"]].tolerance
        expected = db.loads(row["expected_json"])
        if expected.get("chain") == "eth":
            from chaintrail.training.eth_grading import grade_eth
            from chaintrail.training.eth_submission import parse_eth_answers

            g = grade_eth(expected, parse_eth_answers(raw_answers, expected["assets"]), tol, self._owner_of(row))
        else:
            g = grade(expected, parse_answers(raw_answers), tol, self._owner_of(row))
        self.con.execute("INSERT INTO submissions (exercise_id, trainee_id, submitted, in_exam, answers_json, "
                         "grade_json, score) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (exercise_id, trainee.id, now, int(state == "running"), db.dumps(raw_answers),
                          db.dumps(g), g["score"]))
        return self.exercise(exercise_id, trainee, now)

    def answers_from_case(self, exercise_id: int, view: dict) -> dict:
        """The answers a trainee's case (``CaseView.to_dict()``: findings, tags, subjects, notes) gives to an
        exercise, in the form's format (``from_case``)."""
        from chaintrail.training.from_case import btc_answers, eth_answers

        row = self._exercise(exercise_id)
        expected = db.loads(row["expected_json"])
        if expected.get("chain") != "eth":
            return btc_answers(view)
        scenario = Path(row["scenario_dir"]).parent / "eth" / "scenario"
        world = db.loads((scenario / "answer_key.json").read_text())["world"]
        pools = {a.lower() for a in world.get("pools", {}).values()}      # public: tagged as mixing services
        return eth_answers(view, expected["assets"], pools)

    def submit_case(self, exercise_id: int, trainee: Trainee, ref: str, view: dict, now: float | None = None) -> dict:
        """Grade the answers read from the trainee's case ``ref``; the result says what was read."""
        raw = self.answers_from_case(exercise_id, view)
        return self.submit(exercise_id, trainee, raw, now) | {"from_case": {"case": ref, "answers": raw}}

    # -- the instructor's view -------------------------------------------------------------
    def results(self, set_name: str | None = None) -> list[dict]:
        """Each trainee's latest grade per exercise (None: not submitted)."""
        ids = self.exercise_ids(set_name)
        ex = {i: self._exercise(i) for i in ids}
        out = []
        for t in self.roster():
            row = {"trainee": t["name"], "exercises": []}
            for i in ids:
                sub = self._latest(i, t["id"])
                g = None if sub is None else db.loads(sub["grade_json"])
                row["exercises"].append({
                    "exercise": i, "set": ex[i]["set_name"], "kind": ex[i]["kind"],
                    "score": None if g is None else g["score"], "submitted": None if sub is None else sub["submitted"],
                    "questions": None if g is None else {q["id"]: q["score"] for q in g["questions"]}})
            done = [e["score"] for e in row["exercises"] if e["score"] is not None]
            row["mean"] = round(sum(done) / len(done), 2) if done else None
            out.append(row)
        return out

    def grade_of(self, exercise_id: int, trainee_name: str) -> dict | None:
        """The instructor's look at one trainee's latest grade, feedback in words."""
        from chaintrail.training.feedback import render

        t = self.con.execute("SELECT id FROM trainees WHERE name = ?", (trainee_name,)).fetchone()
        if t is None:
            raise UsageError(f"no trainee {trainee_name!r}")
        sub = self._latest(exercise_id, t["id"])
        return None if sub is None else {"answers": db.loads(sub["answers_json"]),
                                         "grade": render(db.loads(sub["grade_json"]))}

    def question_stats(self, set_name: str | None = None) -> dict:
        """Per exercise and question the class's mean share of the marks; per technique how often feedback named
        it for something missed (what the class misses)."""
        per_q: dict[tuple[int, str], list[float]] = {}
        missed: dict[str, int] = {}
        n = 0
        for i in self.exercise_ids(set_name):
            for t in self.roster():
                sub = self._latest(i, t["id"])
                if sub is None:
                    continue
                n += 1
                for q in db.loads(sub["grade_json"])["questions"]:
                    per_q.setdefault((i, q["id"]), []).append(q["score"] / q["max"])
                    for item in q["feedback"]:
                        for tech in item["params"].get("techniques", []):
                            if tech in TECHNIQUES and not item["code"].endswith("_ok"):
                                missed[tech] = missed.get(tech, 0) + 1
        questions = [{"exercise": i, "question": q, "submissions": len(v), "mean_share": round(sum(v) / len(v), 3)}
                     for (i, q), v in sorted(per_q.items())]
        return {"graded": n, "questions": questions,
                "techniques_missed": dict(sorted(missed.items(), key=lambda kv: (-kv[1], kv[0])))}

    def grades_csv(self, set_name: str | None = None) -> str:
        """One row per trainee and exercise: the latest score and each question's."""
        import csv
        import io

        from chaintrail.training.eth_grading import ETH_WEIGHTS
        from chaintrail.training.grading import WEIGHTS

        columns = [*WEIGHTS, *(q for q in ETH_WEIGHTS if q not in WEIGHTS)]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["trainee", "set", "exercise", "kind", "submitted_utc", "score", *columns])
        for row in self.results(set_name):
            for e in row["exercises"]:
                when = "" if e["submitted"] is None else time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                       time.gmtime(e["submitted"]))
                qs = e["questions"] or {}
                w.writerow([_csv_safe(row["trainee"]), e["set"], e["exercise"], e["kind"], when,
                            "" if e["score"] is None else e["score"], *(qs.get(q, "") for q in columns)])
        return buf.getvalue()


def _csv_safe(text: str) -> str:
    """A name a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
