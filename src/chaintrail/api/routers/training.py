"""/training: exercises, submissions, grades, exam mode and lessons for a class, over ``training.Classroom``.

Identity. The app's bearer token admits a client (as for every /api route);
the class then needs to know who acts: ``X-Chaintrail-Training-Token`` carries
the instructor's token or a trainee's (``chaintrail training init`` and
``roster add`` print them). A trainee sees the briefs and only their own
submissions and grades; never an expected answer, never another trainee's
work. Results, CSV export, sets, roster and exams are the instructor's.
Without ``chaintrail serve --training DIR`` every route answers 404.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chaintrail.errors import DecodeError, UsageError
from chaintrail.i18n import _, use_language

TOKEN_HEADER = "X-Chaintrail-Training-Token"


class _Err(BaseModel):
    error: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": _Err, "description": "The request asks for something impossible"},
    401: {"model": _Err, "description": "Missing or unknown training token"},
    403: {"model": _Err, "description": "Only the instructor (or only a trainee) may do this"},
    404: {"model": _Err, "description": "No such exercise, set or lesson; or training is not enabled"},
    409: {"model": _Err, "description": "The exam is over: submissions are locked; or a set is being built"},
    422: {"model": _Err, "description": "An answer or parameter does not parse"},
}
router = APIRouter(prefix="/training", tags=["training"], responses=_ERRORS)
_lock = threading.Lock()           # one SQLite connection per app: one request at a time uses it


class ExchangeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exchange: str = Field(min_length=1, max_length=200)
    amount_btc: str | float | None = Field(None, description="Bitcoin exercises: BTC, at most 8 decimals")
    asset: str | None = Field(None, max_length=100, description="Ethereum exercises: ETH, a token symbol or contract")
    amount: str | float | None = Field(None, description="Ethereum exercises: in the asset's units")


class AssetAmount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str = Field(min_length=1, max_length=100)
    amount: str | float


class AnswersIn(BaseModel):
    """A Bitcoin exercise takes amount_btc and unspent_btc; an Ethereum one asset and amount per exchange row,
    bridges, and unspent per asset."""
    model_config = ConfigDict(extra="forbid")
    exchanges: list[ExchangeAnswer] = Field(default_factory=list, max_length=200)
    perpetrator_addresses: list[str] = Field(default_factory=list, max_length=5000)
    mixers: list[str] = Field(default_factory=list, max_length=50)
    bridges: list[str] | None = Field(None, max_length=50)
    unspent_btc: str | float | None = None
    unspent: list[AssetAmount] | None = Field(None, max_length=200)
    reasoning: str = Field("", max_length=20_000)


class SetIn(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    kinds: list[str] = Field(min_length=1, max_length=20)
    seed: int = Field(1, ge=0, le=2**31 - 1)
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    build_store: bool = True


class TraineeIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ExamIn(BaseModel):
    minutes: float = Field(gt=0, le=24 * 60)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Who:
    def __init__(self, room, trainee=None, instructor: bool = False):
        self.room, self.trainee, self.instructor = room, trainee, instructor


def _who(request: Request, token: str | None = Header(None, alias=TOKEN_HEADER)) -> Who:
    room = getattr(request.app.state, "training", None)
    if room is None:
        raise HTTPException(404, "training is not enabled on this server (chaintrail serve --training DIR)")
    with _lock:
        if room.is_instructor(token):
            return Who(room, instructor=True)
        trainee = room.trainee_by_token(token)
    if trainee is None:
        raise HTTPException(401, _("missing or unknown training token: send '{header}: <token>'").format(
            header=TOKEN_HEADER))
    return Who(room, trainee=trainee)


def _instructor(who: Who = Depends(_who)) -> Who:
    if not who.instructor:
        raise HTTPException(403, _("only the instructor may do this"))
    return who


@contextmanager
def _call(lang: str | None):
    """The classroom under the lock, in the reader's language; the class's refusals as HTTP errors."""
    from chaintrail.training import ExamLocked, NotAllowed

    try:
        with _lock, use_language(lang):
            yield
    except ExamLocked as exc:
        raise HTTPException(409, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(404, str(exc)) from None
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None
    except DecodeError as exc:
        raise HTTPException(422, str(exc)) from None


Lang = Query(None, max_length=10, description="Language of briefs and feedback (en, uk)")


@router.get("/me", response_model=_Open, summary="Who the training token is")
def me(who: Who = Depends(_who)) -> dict:
    if who.instructor:
        return {"role": "instructor"}
    return {"role": "trainee", "name": who.trainee.name}


@router.get("/sets", response_model=list[_Open], summary="Exercise sets and their exam state")
def sets(who: Who = Depends(_who)) -> list[dict]:
    with _call(None):
        hidden = () if who.instructor else ("store", "eth_store", "eth_store_b")
        return [{k: v for k, v in s.items() if k not in hidden} for s in who.room.sets()]


def _jobs(request: Request, who: Who):
    from chaintrail.api.set_jobs import SetJobs

    with _lock:
        jobs = getattr(request.app.state, "training_jobs", None)
        if jobs is None:
            jobs = request.app.state.training_jobs = SetJobs(who.room.folder)
        return jobs


@router.post("/sets", response_model=_Open, status_code=202,
             responses={201: {"model": _Open, "description": "Created without stores (build_store false)"}},
             summary="Create an exercise set (instructor): with build_store (the default), 202 and a job to poll "
                     "at /training/jobs/{id} while its chains and stores are built; without, 201 and the set")
def create_set(body: SetIn, request: Request, response: Response, lang: str | None = Lang,
               who: Who = Depends(_instructor)) -> dict:
    from chaintrail.api.set_jobs import JobBusy

    jobs = _jobs(request, who)
    if jobs.building(body.name):
        raise HTTPException(409, _("set {name} is being built").format(name=body.name))
    with _call(lang):
        if not body.build_store:
            info = who.room.create_set(body.name, body.kinds, body.seed, body.difficulty, False)
            response.status_code = 201
            return info | {"exercise_ids": who.room.exercise_ids(body.name)}
        who.room.check_new_set(body.name, body.kinds, body.difficulty)
    try:
        with use_language(lang):
            job = jobs.start(body.name, body.kinds, body.seed, body.difficulty, lang)
    except JobBusy as exc:
        raise HTTPException(409, str(exc)) from None
    response.headers["Location"] = f"{request.url.path.rsplit('/sets', 1)[0]}/jobs/{job.id}"
    return job.to_dict()


@router.get("/jobs/{job_id}", response_model=_Open, summary="A set build's state, progress and result (instructor)")
def job(job_id: str, request: Request, who: Who = Depends(_instructor)) -> dict:
    got = _jobs(request, who).get(job_id)
    if got is None:
        raise HTTPException(404, _("no set-building job {job}").format(job=job_id))
    return got.to_dict()


@router.get("/exercises", response_model=list[_Open], summary="Exercises: briefs, and a trainee's own work")
def exercises(set_name: str | None = Query(None, alias="set", max_length=40), lang: str | None = Lang,
              who: Who = Depends(_who)) -> list[dict]:
    with _call(lang):
        return [who.room.exercise(i, who.trainee) for i in who.room.exercise_ids(set_name)]


@router.get("/exercises/{exercise_id}", response_model=_Open, summary="One exercise's brief and the caller's work")
def exercise(exercise_id: int, lang: str | None = Lang, who: Who = Depends(_who)) -> dict:
    with _call(lang):
        return who.room.exercise(exercise_id, who.trainee)


@router.post("/exercises/{exercise_id}/submissions", response_model=_Open, status_code=201,
             summary="Submit answers (trainee); the grade and feedback come back unless an exam is running")
def submit(exercise_id: int, body: AnswersIn, lang: str | None = Lang, who: Who = Depends(_who)) -> dict:
    if who.trainee is None:
        raise HTTPException(403, _("only a trainee submits answers"))
    with _call(lang):
        return who.room.submit(exercise_id, who.trainee, body.model_dump(exclude_none=True))


class FromCaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case: str = Field(min_length=1, max_length=100, description="The case's reference (its findings are read)")


@router.post("/exercises/{exercise_id}/submissions/from-case", response_model=_Open, status_code=201,
             summary="Submit the answers read from your case (trainee): exchanges and amounts from its trace "
                     "findings, perpetrators' addresses from its tags and subjects, reasoning from its notes")
def submit_from_case(exercise_id: int, body: FromCaseIn, request: Request, lang: str | None = Lang,
                     who: Who = Depends(_who),
                     user_token: str | None = Header(None, alias="X-Chaintrail-User-Token", max_length=200)) -> dict:
    from chaintrail.api.routers.cases import _call as case_call
    from chaintrail.api.routers.cases import get_principal, get_repo

    if who.trainee is None:
        raise HTTPException(403, _("only a trainee submits answers"))
    repo = get_repo(request)
    view = case_call(repo.case, get_principal(request, repo, user_token), body.case).to_dict()
    with _call(lang):
        return who.room.submit_case(exercise_id, who.trainee, body.case, view)


@router.get("/results", response_model=_Open, summary="Class results and per-question statistics (instructor)")
def results(set_name: str | None = Query(None, alias="set", max_length=40), who: Who = Depends(_instructor)) -> dict:
    with _call(None):
        return {"results": who.room.results(set_name), "stats": who.room.question_stats(set_name)}


@router.get("/results/{exercise_id}/{trainee}", response_model=_Open,
            summary="One trainee's latest answers, grade and feedback (instructor)")
def result(exercise_id: int, trainee: str, lang: str | None = Lang, who: Who = Depends(_instructor)) -> dict:
    with _call(lang):
        got = who.room.grade_of(exercise_id, trainee)
    if got is None:
        raise HTTPException(404, f"{trainee} has not submitted exercise {exercise_id}")
    return got


@router.get("/grades.csv", summary="Grades as CSV (instructor)", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def grades_csv(set_name: str | None = Query(None, alias="set", max_length=40),
               who: Who = Depends(_instructor)) -> Response:
    with _call(None):
        text = who.room.grades_csv(set_name)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="grades.csv"'})


@router.get("/roster", response_model=list[_Open], summary="The roster (instructor)")
def roster(who: Who = Depends(_instructor)) -> list[dict]:
    with _call(None):
        return who.room.roster()


@router.post("/roster", response_model=_Open, status_code=201, summary="Enrol a trainee; the token is shown once")
def add_trainee(body: TraineeIn, who: Who = Depends(_instructor)) -> dict:
    with _call(None):
        return {"name": body.name, "token": who.room.add_trainee(body.name)}


@router.post("/sets/{name}/exam", response_model=_Open, summary="Start a set's exam (instructor)")
def exam_start(name: str, body: ExamIn, who: Who = Depends(_instructor)) -> dict:
    with _call(None):
        return who.room.exam_start(name, body.minutes)


@router.post("/sets/{name}/exam/close", response_model=_Open, summary="Close a set's exam now (instructor)")
def exam_close(name: str, who: Who = Depends(_instructor)) -> dict:
    with _call(None):
        return who.room.exam_close(name)


@router.get("/lessons", response_model=list[_Open], summary="The programme's lessons")
def lessons(lang: str | None = Lang, who: Who = Depends(_who)) -> list[dict]:
    from chaintrail.training.lessons import lessons as all_lessons

    with _call(lang):
        return all_lessons()


@router.get("/lessons/{lesson_id}", response_model=_Open, summary="One lesson (Markdown) and its exercises")
def lesson(lesson_id: str, lang: str | None = Lang, who: Who = Depends(_who)) -> dict:
    from chaintrail.training.lessons import ORDER
    from chaintrail.training.lessons import lesson as one

    if lesson_id not in ORDER:
        raise HTTPException(404, f"no lesson {lesson_id!r}")
    with _call(lang):
        return one(lesson_id)
