"""`chaintrail training`: exercise sets, roster, submissions, grades, exam mode and lessons for a class.

The training folder (``--dir``, default ``$CHAINTRAIL_TRAINING`` or
``./chaintrail-training``) is the instructor's: whoever can read it is the
instructor. Trainees submit with their own token (``roster add`` prints it
once) and see only their own work; ``chaintrail serve --training DIR`` opens
the same class in the workbench.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors
from chaintrail.errors import DecodeError, UsageError
from chaintrail.i18n import _, fmt_units

app = typer.Typer(help="Training: exercise sets, roster, grading, exam mode and lessons.", no_args_is_help=True)
set_app = typer.Typer(help="Exercise sets (generated chains with questions).", no_args_is_help=True)
roster_app = typer.Typer(help="The class roster (one token per trainee).", no_args_is_help=True)
exercise_app = typer.Typer(help="Exercises as trainees see them.", no_args_is_help=True)
exam_app = typer.Typer(help="Exam mode: time limit, no hints, submissions locked at the end.", no_args_is_help=True)
app.add_typer(set_app, name="set")
app.add_typer(roster_app, name="roster")
app.add_typer(exercise_app, name="exercise")
app.add_typer(exam_app, name="exam")

DirOption = typer.Option(None, "--dir", "-d", help="Training folder [default: $CHAINTRAIL_TRAINING or "
                                                    "./chaintrail-training]")
SetOption = typer.Option(None, "--set", help="Only this exercise set")


def training_dir(value: Path | None) -> Path:
    return value if value is not None else Path(os.environ.get("CHAINTRAIL_TRAINING") or "./chaintrail-training")


def _open(folder: Path | None):
    from chaintrail.training import Classroom

    return Classroom(training_dir(folder))


@app.callback()
def _training() -> None:
    """Exercises on generated cases, graded against their answer keys."""


@app.command("init")
@one_line_errors
def init(folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Make a training folder and print the instructor's token (shown once)."""
    from chaintrail.training import Classroom

    room, token = Classroom.init(training_dir(folder))
    room.close()
    if as_json:
        emit_json({"dir": str(training_dir(folder)), "instructor_token": token})
        return
    console.print(_("training folder {dir} ready").format(dir=training_dir(folder)), highlight=False)
    console.print(_("instructor token {token} (shown once: keep it)").format(token=token), soft_wrap=True,
                  highlight=False)


@set_app.command("create")
@one_line_errors
def set_create(
    name: str = typer.Argument(..., help="Set name (letters, digits, '-', '_')"),
    kinds: str = typer.Option("peel_chain,custodial_mixer,coinjoin,straight_to_exchange,consolidation_clustering",
                              "--kinds", help="Comma-separated exercise kinds"),
    seed: int = typer.Option(1, "--seed", help="Scenario seed of the set's chain"),
    level: str = typer.Option("easy", "--difficulty", help="easy | medium | hard"),
    store: bool = typer.Option(True, "--store/--no-store", help="Build the chain store trainees open"),
    folder: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate a set's chain and its exercises (one per kind)."""
    with _open(folder) as room, console.status(_("building the exercise set"), spinner="dots") as status:
        info = room.create_set(name, [k.strip() for k in kinds.split(",") if k.strip()], seed, level, store,
                               progress=None if as_json else (lambda m: status.update(m)))
        ids = room.exercise_ids(name)
    if as_json:
        emit_json(info | {"exercise_ids": ids})
        return
    console.print(_("set {name}: {n} exercises ({difficulty}, seed {seed}), ids {ids}").format(
        name=name, n=info["exercises"], difficulty=level, seed=seed, ids=", ".join(map(str, ids))), highlight=False)
    if info["store"]:
        console.print(_("trainees open it with: chaintrail serve --store {store} --training {dir}").format(
            store=info["store"], dir=training_dir(folder)), soft_wrap=True, highlight=False)


@set_app.command("list")
@one_line_errors
def set_list(folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The exercise sets and their exam state."""
    with _open(folder) as room:
        sets = room.sets()
    if as_json:
        emit_json(sets)
        return
    for s in sets:
        console.print(f"{s['name']}: {s['exercises']} · {s['difficulty']} · seed {s['seed']} · {s['exam']['state']}",
                      highlight=False)


@roster_app.command("add")
@one_line_errors
def roster_add(names: list[str] = typer.Argument(..., help="Trainee names"), folder: Path = DirOption,
               as_json: bool = JsonOption) -> None:
    """Enrol trainees; prints each one's token (shown once)."""
    with _open(folder) as room:
        tokens = [{"name": n, "token": room.add_trainee(n)} for n in names]
    if as_json:
        emit_json(tokens)
        return
    for t in tokens:
        console.print(f"{t['name']}\t{t['token']}", highlight=False, soft_wrap=True)


@roster_app.command("list")
@one_line_errors
def roster_list(folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The roster (names only: tokens are kept hashed)."""
    with _open(folder) as room:
        rows = room.roster()
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        console.print(r["name"], highlight=False)


@exercise_app.command("list")
@one_line_errors
def exercise_list(set_name: str = SetOption, folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The exercises, as trainees see them (no answers)."""
    with _open(folder) as room:
        rows = [room.exercise(i) for i in room.exercise_ids(set_name)]
    if as_json:
        emit_json(rows)
        return
    for e in rows:
        console.print(f"{e['id']}\t{e['set']}\t{e['kind']}\t{e['brief']['title']}", highlight=False)


@exercise_app.command("show")
@one_line_errors
def exercise_show(exercise_id: int = typer.Argument(...), folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """One exercise's brief: the story, the reported payments and, outside exams, the techniques to try."""
    with _open(folder) as room:
        e = room.exercise(exercise_id)
    if as_json:
        emit_json(e)
        return
    b = e["brief"]
    say = lambda text: console.print(text, soft_wrap=True, highlight=False)  # noqa: E731
    say(f"[bold]{b['title']}[/bold] · {e['set']} #{e['position']} · {e['difficulty']}")
    say(b["story"])
    say(b["focus"])
    for p in b.get("reported_payments", []):
        say(f"  {p['txid']}:{p['vout']}  {p['address']}  {p['amount_sat'] / 1e8:.8f} BTC  h{p['height']}")
    for s in b.get("sources", []):
        say(f"  {s['tx']}  {s['from']} → {s['to']}  {fmt_units(int(s['amount']), s['decimals'], s['symbol'])}  "
            f"#{s['block']}")
    for t in b.get("techniques", []):
        say(f"  · {t['technique']}: {t['how']}")


def _read_answers(path: Path) -> dict:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read answers {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"answers {path}: not JSON ({exc})") from None


def _case_view(room, exercise_id: int, ref: str, store: Path | None, db: str | None, user: str | None) -> dict:
    """The trainee's case as they may read it, from the case database beside the exercise's store by default."""
    from chaintrail.cli.case import _open as open_cases

    if store is None and db is None and not os.environ.get("CHAINTRAIL_STORE"):
        info = room.set_info(room.exercise(exercise_id)["set"])
        kind = room.exercise(exercise_id)["kind"]
        from chaintrail.training.kinds import exercise_kind

        found = info["eth_store"] if exercise_kind(kind).chain == "eth" else info["store"]
        store = Path(found) if found else None
    repo, who = open_cases(db, store, user, None)
    try:
        return repo.case(who, ref).to_dict()
    finally:
        repo.close()


@app.command("submit")
@one_line_errors
def submit(
    exercise_id: int = typer.Option(..., "--exercise", help="Exercise id"),
    answers: Path | None = typer.Option(None, "--answers", help="Answers JSON file ('-': stdin): exchanges "
                                                        "[{exchange, amount_btc}], perpetrator_addresses, mixers, "
                                                        "unspent_btc, reasoning; Ethereum: exchanges [{exchange, "
                                                        "asset, amount}], bridges, unspent [{asset, amount}]"),
    from_case: str | None = typer.Option(None, "--from-case", help="Read the answers from your case REF: exchanges "
                                         "and amounts from its trace findings, perpetrators' addresses from its tags "
                                         "and subjects labelled perpetrator or suspect, reasoning from its notes"),
    store: Path | None = typer.Option(None, "--store", help="With --from-case: the chain store whose case database "
                                      "holds the case [default: $CHAINTRAIL_STORE, else the exercise's set store]"),
    db: str | None = typer.Option(None, "--db", help="With --from-case: the case database [default: "
                                  "$CHAINTRAIL_CASES_DB or STORE/cases.sqlite]"),
    user: str | None = typer.Option(None, "--user", "-u", help="With --from-case: act as this case user"),
    token: str | None = typer.Option(None, "--token", help="Your trainee token [default: $CHAINTRAIL_TRAINING_TOKEN]"),
    folder: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Submit a trainee's answers (a file, or read from their case); prints the grade and feedback (after the exam,
    in exam mode)."""
    from chaintrail.training import NotAllowed

    if (answers is None) == (from_case is None):
        raise UsageError("give exactly one of --answers FILE and --from-case REF")
    token = token or os.environ.get("CHAINTRAIL_TRAINING_TOKEN")
    raw = _read_answers(answers) if answers is not None else None
    with _open(folder) as room:
        who = room.trainee_by_token(token)
        if who is None:
            raise NotAllowed(_("unknown trainee token (--token or $CHAINTRAIL_TRAINING_TOKEN)"))
        if raw is not None:
            out = room.submit(exercise_id, who, raw)
        else:
            assert from_case is not None
            view = _case_view(room, exercise_id, from_case, store, db, user)
            out = room.submit_case(exercise_id, who, from_case, view)
    if as_json:
        emit_json(out)
        return
    if "from_case" in out:
        console.print(_("answers read from case {ref}").format(ref=from_case), highlight=False)
    g = out.get("grade")
    if g is None:
        console.print(_("submitted; the grade shows when the exam is over"), highlight=False)
        return
    console.print(_("score {score} / {max}").format(score=g["score"], max=g["max"]), highlight=False)
    for q in g["questions"]:
        console.print(f"[bold]{q['title']}[/bold] {q['score']} / {q['max']}", highlight=False)
        for item in q["feedback"]:
            console.print(f"  {item['text']}", soft_wrap=True, highlight=False)
            for t in item["techniques"]:
                console.print(f"    → {t['technique']}: {t['how']}", soft_wrap=True, highlight=False)


@app.command("grades")
@one_line_errors
def grades(set_name: str = SetOption, csv: bool = typer.Option(False, "--csv", help="CSV on stdout"),
           folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The class results: each trainee's latest score per exercise."""
    with _open(folder) as room:
        if csv:
            sys.stdout.write(room.grades_csv(set_name))
            return
        rows = room.results(set_name)
        stats = room.question_stats(set_name)
    if as_json:
        emit_json({"results": rows, "stats": stats})
        return
    table = Table(_("trainee"), *[f"#{e['exercise']} {e['kind']}" for e in (rows[0]["exercises"] if rows else [])],
                  _("mean"))
    for r in rows:
        table.add_row(r["trainee"], *["–" if e["score"] is None else f"{e['score']:g}" for e in r["exercises"]],
                      "–" if r["mean"] is None else f"{r['mean']:g}")
    console.print(table)
    if stats["techniques_missed"]:
        console.print(_("techniques the class misses: {list}").format(
            list=", ".join(f"{k} ({v})" for k, v in stats["techniques_missed"].items())), highlight=False)


@exam_app.command("start")
@one_line_errors
def exam_start(set_name: str = typer.Option(..., "--set"), minutes: float = typer.Option(..., "--minutes"),
               folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Start a set's exam: hints off, grades hidden until the end, submissions locked after it."""
    with _open(folder) as room:
        info = room.exam_start(set_name, minutes)
    if as_json:
        emit_json(info)
        return
    console.print(_("exam on set {name} running: {n} s left").format(name=set_name,
                                                                     n=info["exam"]["seconds_left"]), highlight=False)


@exam_app.command("close")
@one_line_errors
def exam_close(set_name: str = typer.Option(..., "--set"), folder: Path = DirOption, as_json: bool = JsonOption) -> None:
    """End a set's exam now: submissions are locked, grades become visible."""
    with _open(folder) as room:
        info = room.exam_close(set_name)
    if as_json:
        emit_json(info)
        return
    console.print(_("exam on set {name} closed: submissions locked").format(name=set_name), highlight=False)


@app.command("lessons")
@one_line_errors
def lessons(lesson_id: str = typer.Argument(None, help="A lesson to print (default: list them)"),
            as_json: bool = JsonOption) -> None:
    """The programme's lessons, and the exercises that practise each."""
    from chaintrail.training.lessons import lesson, lessons as all_lessons

    if lesson_id:
        one = lesson(lesson_id)
        if as_json:
            emit_json(one)
        else:
            sys.stdout.write(one["markdown"])
            console.print(_("practise it: {kinds}").format(kinds=", ".join(e["kind"] for e in one["exercises"])),
                          highlight=False)
        return
    rows = all_lessons()
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        console.print(f"{r['id']}\t{r['title']}\t→ {', '.join(e['kind'] for e in r['exercises'])}", highlight=False)
