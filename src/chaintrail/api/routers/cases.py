"""/cases: case files over HTTP, through the same repository (checks and audit log) as `chaintrail case`.

Identity. The app's bearer token admits a client; the case layer then needs
to know *who* acts, and every case route answers 401 without it: a user
sends its own API token in ``X-Chaintrail-User-Token`` (``chaintrail case
admin bootstrap`` and ``case user add`` print it). There is no implicit user.
Only on a single-user SQLite case database, whose one user is the explicit
local operator, does the server's own bearer token, sent in that header,
stand for the operator (the workbench UI does this).

Every route answers "404 no case" for a case the caller's agency may not see,
whether or not it exists, and the attempt is logged as denied.
"""

from __future__ import annotations

import hmac
import os
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chaintrail.cases.errors import AccessDenied, AlreadyImported, CaseDbError, NotFound, PackageError
from chaintrail.cases.identity import Principal
from chaintrail.cases.repository import CaseRepository, subject_kind
from chaintrail.errors import ChaintrailError, UsageError
from chaintrail.i18n import _

USER_HEADER = "X-Chaintrail-User-Token"
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
_MAX_UPLOAD = 64 << 20


class _Err(BaseModel):
    error: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": _Err, "description": "The request asks for something impossible, or a package is refused"},
    401: {"model": _Err, "description": "Missing or unknown user token"},
    403: {"model": _Err, "description": "Your role or agency may not do this"},
    404: {"model": _Err, "description": "No such case (or not visible to your agency)"},
    409: {"model": _Err, "description": "This signed package was already imported (a replay)"},
    422: {"model": _Err, "description": "A parameter does not parse"},
}
router = APIRouter(prefix="/cases", tags=["cases"], responses=_ERRORS)


# -- schemas ------------------------------------------------------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CaseIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=20_000)
    tlp: Tlp = "amber"


class SubjectIn(BaseModel):
    value: str = Field(min_length=1, max_length=200, description="ADDRESS, TXID or cluster:N")
    kind: Literal["address", "transaction", "entity"] | None = None
    label: str | None = Field(None, max_length=200)
    tlp: Tlp | None = None


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=50_000)
    about: str | None = Field(None, max_length=200)
    tlp: Tlp | None = None


class TagIn(BaseModel):
    address: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=200)
    category: str | None = Field(None, max_length=64)
    actor: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=500)
    confidence: str | None = Field(None, max_length=64)
    context: str | None = Field(None, max_length=5000)
    tlp: Tlp | None = None


class ShareIn(BaseModel):
    agency: str = Field(min_length=1, max_length=80)
    tlp_max: Tlp = "amber"


class FindingIn(BaseModel):
    kind: Literal["trace", "screen", "explain", "eth_trace", "eth_leads", "eth_account"]
    source: str | None = Field(None, max_length=200, description="trace: TXID:VOUT, TXID, ADDRESS or cluster:N; "
                               "eth_trace: 0xADDRESS, TXHASH, TXHASH:0xRECIPIENT or cluster:N")
    subject: str | None = Field(None, max_length=200, description="screen: ADDRESS or TXID; eth_account: 0xACCOUNT "
                                                                  "or cluster:N")
    currency: str = Field("USD", pattern="^[A-Za-z]{3}$", description="trace, eth_trace, eth_account: reporting "
                                                                       "currency beside USD (kept in the parameters)")
    date_from: str | None = Field(None, pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="eth_account: first UTC day")
    date_to: str | None = Field(None, pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="eth_account: last UTC day")
    address_a: str | None = Field(None, max_length=200, description="explain: first address")
    address_b: str | None = Field(None, max_length=200, description="explain: second address")
    direction: Literal["forward", "backward"] = "forward"
    model: Literal["haircut", "poison", "fifo", "lifo", "tiho"] = "haircut"
    max_hops: int = Field(10, ge=0, le=200)
    min_amount_sat: int = Field(0, ge=0, le=21_000_000 * 100_000_000)
    stop_categories: list[str] = Field(default_factory=lambda: ["exchange"], max_length=20)
    mixer_policy: Literal["haircut", "stop", "demix", "leads"] | None = Field(
        None, description="trace: haircut | stop | demix [default: demix forward, haircut backward]; "
                          "eth_trace: leads (default) | demix | haircut | stop")
    hops: int = Field(3, ge=0, le=50, description="screen: how far indirect exposure is followed")
    asset: str = Field("all", pattern=r"^(all|ETH|eth|0x[0-9a-fA-F]{40})$", description="eth_trace: ETH | 0xTOKEN | all")
    min_amount: int = Field(0, ge=0, le=(1 << 64) - 1, description="eth_trace: taint below this (base units) stops")
    until_exchange: bool = Field(False, description="eth_trace: expand until every branch reaches a service, and list "
                                                    "the records requests per exchange and asset")
    links: list[str] = Field(default_factory=list, max_length=50,
                             description="eth_trace: confirmed Tornado links DEPOSIT_TX:WITHDRAWAL_TX")
    lead_heuristics: str = Field("all", max_length=200, description="eth_trace: the Tornado leads that may pair "
                                                                     "notes: all, none or a comma list")
    deposit: str | None = Field(None, max_length=80, description="eth_leads: a Tornado deposit transaction")
    address: str | None = Field(None, max_length=80, description="eth_leads: leads where this account deposited "
                                                                 "or received")
    title: str | None = Field(None, max_length=200)
    tlp: Tlp | None = None


class CaseOut(_Open):
    ref: str
    title: str
    tlp: str
    status: str


class CaseViewOut(BaseModel):
    case: CaseOut
    access: str
    level: str
    subjects: list[_Open]
    findings: list[_Open]
    notes: list[_Open]
    attachments: list[_Open]
    tags: list[_Open]
    shares: list[_Open]
    withheld: dict[str, int]


class WhoAmI(BaseModel):
    username: str
    agency: str
    role: str


# -- plumbing -----------------------------------------------------------------------
def get_repo(request: Request) -> CaseRepository:
    """The app's case repository (``app.state.cases``), opened on first use next to the chain store."""
    st = request.app.state
    repo = getattr(st, "cases", None)
    if repo is None:
        lock = st.__dict__.setdefault("_cases_lock", threading.Lock())
        with lock:
            repo = getattr(st, "cases", None)
            if repo is None:
                dsn = os.environ.get("CHAINTRAIL_CASES_DB") or str(st.store_path / "cases.sqlite")
                repo = CaseRepository.open(dsn)
                st.cases = repo
    return repo


def get_principal(request: Request, repo: CaseRepository = Depends(get_repo),
                  user_token: str | None = Header(None, alias=USER_HEADER, max_length=200,
                                                  description="Your case-server user token")) -> Principal:
    if not user_token:
        raise HTTPException(401, _("send your case user token in the {header} header").format(header=USER_HEADER))
    p = repo.principal_for_token(user_token)
    if p is not None:
        return p
    op = repo.local_operator()      # single-user SQLite only: the server's own token stands for its operator
    app_token = getattr(request.app.state, "token", None)
    if op is not None and app_token and hmac.compare_digest(user_token.encode("latin-1", "replace"),
                                                            app_token.encode("utf-8", "replace")):
        return op
    raise HTTPException(401, _("unknown user token in {header}").format(header=USER_HEADER))


def _call(fn, *args, **kwargs):
    """Run a repository call; map the case layer's refusals to 4xx answers."""
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except AccessDenied as exc:
        raise HTTPException(403, str(exc)) from None
    except AlreadyImported as exc:
        raise HTTPException(409, str(exc)) from None
    except PackageError as exc:
        raise HTTPException(400, str(exc)) from None
    except CaseDbError as exc:
        raise HTTPException(503, str(exc)) from None
    except ChaintrailError as exc:
        raise HTTPException(400, str(exc)) from None


Repo = Depends(get_repo)
Who = Depends(get_principal)


# -- routes ---------------------------------------------------------------------------
@router.get("/whoami", response_model=WhoAmI, summary="Who the case layer thinks you are")
def whoami(p: Principal = Who):
    return WhoAmI(username=p.username, agency=p.agency, role=p.role)


@router.get("", response_model=list[CaseOut], summary="Cases your agency owns or that were shared with it")
def list_cases(repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.list_cases, p)


@router.post("", response_model=CaseOut, status_code=201, summary="Open a case")
def create_case(body: CaseIn, repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.create_case, p, body.title, body.summary, body.tlp)


@router.get("/{ref}", response_model=CaseViewOut, summary="A case with its items (withheld above your TLP level)")
def get_case(ref: str, repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.case, p, ref).to_dict()


def _items(kind: str):
    def read(ref: str, repo: CaseRepository = Repo, p: Principal = Who):
        return getattr(_call(repo.case, p, ref, f"{kind}.list"), kind)
    read.__name__ = f"list_{kind}"
    return read


for _kind in ("subjects", "findings", "notes", "attachments", "tags", "shares"):
    router.add_api_route(f"/{{ref}}/{_kind}", _items(_kind), methods=["GET"], response_model=list[_Open],
                         summary=f"The case's {_kind}")


@router.post("/{ref}/subjects", response_model=_Open, status_code=201, summary="Add a subject")
def add_subject(ref: str, body: SubjectIn, repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.add_subject, p, ref, body.kind or subject_kind(body.value), body.value, body.label, body.tlp)


@router.post("/{ref}/notes", response_model=_Open, status_code=201, summary="Add a note")
def add_note(ref: str, body: NoteIn, repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.add_note, p, ref, body.body, body.about, body.tlp)


@router.post("/{ref}/tags", response_model=_Open, status_code=201, summary="Attribute an address within the case")
def add_tag(ref: str, body: TagIn, repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.add_tag, p, ref, body.address, body.label, category=body.category, actor=body.actor,
                 source=body.source, confidence=body.confidence, context=body.context, level=body.tlp)


@router.post("/{ref}/findings", response_model=_Open, status_code=201,
             summary="Run a trace, screen or explanation (Bitcoin), or an Ethereum trace or Tornado "
                     "leads, on the store and save it as a finding")
def add_finding(ref: str, body: FindingIn, request: Request, repo: CaseRepository = Repo, p: Principal = Who):
    _call(repo.record, p, ref, "finding.request", {"kind": body.kind})   # refuses invisible cases before any work
    f = _call(_run_finding, request, body)
    return _call(repo.add_finding, p, ref, f, body.tlp)


def _run_finding(request: Request, body: FindingIn) -> dict:
    from chaintrail.cases import findings as F
    from chaintrail.store.chainstore import ChainStore

    lock = request.app.state.__dict__.setdefault("_findings_lock", threading.Lock())
    with lock, ChainStore(request.app.state.store_path) as st:
        if body.kind.startswith("eth_"):
            return _run_eth_finding(st, body, getattr(request.app.state, "other_store_path", None))
        if body.kind == "trace":
            from chaintrail.analysis.tracing import TraceParams
            if not body.source:
                raise UsageError("a trace finding needs 'source'")
            if body.mixer_policy == "leads":
                raise UsageError("mixer policy 'leads' is for eth_trace (Tornado Cash); trace takes haircut, stop "
                                 "or demix")
            params = TraceParams(direction=body.direction, model=body.model, max_hops=body.max_hops,
                                 min_amount_sat=body.min_amount_sat,
                                 stop_categories=tuple(s[:64] for s in body.stop_categories),
                                 mixer_policy=body.mixer_policy)
            return F.trace_finding(st, body.source, params, body.title, body.currency)
        if body.kind == "screen":
            from chaintrail.analysis.screening import ScreenParams
            if not body.subject:
                raise UsageError("a screen finding needs 'subject'")
            return F.screen_finding(st, body.subject, ScreenParams(hops=body.hops), body.title)
        if not (body.address_a and body.address_b):
            raise UsageError("an explain finding needs 'address_a' and 'address_b'")
        return F.explain_finding(st, body.address_a, body.address_b, body.title)


def _other_store(request: Request):
    """The served bridge's far-chain store (``serve --other-store``), opened; a null context without one."""
    from contextlib import nullcontext

    from chaintrail.store.chainstore import ChainStore

    path = getattr(request.app.state, "other_store_path", None)
    return ChainStore(path) if path is not None else nullcontext()


def _run_eth_finding(st, body: FindingIn, other_path=None) -> dict:
    from chaintrail.cases import eth_findings as E
    from chaintrail.store.chainstore import ChainStore

    if body.kind == "eth_leads":
        return E.eth_leads_finding(st, body.deposit, body.address, body.title)
    if body.kind == "eth_account":
        if not body.subject:
            raise UsageError("an eth_account finding needs 'subject' (0xACCOUNT or cluster:N)")
        return E.eth_account_finding(st, body.subject, body.date_from, body.date_to, body.currency.upper(), body.title)
    if not body.source:
        raise UsageError("an eth_trace finding needs 'source'")
    params = E.eth_trace_params(direction=body.direction, model=body.model, asset=body.asset, max_hops=body.max_hops,
                                min_amount=body.min_amount, stop_categories=[s[:64] for s in body.stop_categories],
                                mixer_policy=body.mixer_policy, links=[x[:140] for x in body.links],
                                lead_heuristics=body.lead_heuristics, until_exchange=body.until_exchange)
    if other_path is None or params.direction != "forward":
        return E.eth_trace_finding(st, body.source.strip(), params, body.title, body.until_exchange,
                                   currency=body.currency.upper())
    with ChainStore(other_path) as other:     # served with the bridge's far chain: follow the crossings there
        return E.eth_trace_finding(st, body.source.strip(), params, body.title, body.until_exchange, other,
                                   body.currency.upper())


@router.post("/{ref}/findings/{finding_id}/rerun", response_model=_Open,
             summary="Run a saved finding again; says whether it reproduced byte for byte")
def rerun_finding(ref: str, finding_id: int, request: Request, repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.cases.findings import rerun
    from chaintrail.store.chainstore import ChainStore

    found = [f for f in _call(repo.case, p, ref, "finding.read").findings if f["id"] == finding_id]
    if not found:
        raise HTTPException(404, f"case {ref} has no finding {finding_id}")
    lock = request.app.state.__dict__.setdefault("_findings_lock", threading.Lock())
    with lock, ChainStore(request.app.state.store_path) as st, _other_store(request) as other:
        r = _call(rerun, st, found[0], other)
    _call(repo.record, p, ref, "finding.rerun", {"finding": finding_id, **r.to_dict()})
    return r.to_dict()


@router.post("/{ref}/attachments", response_model=_Open, status_code=201, summary="Attach a file (raw request body)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
                 "schema": {"type": "string", "format": "binary"}}}}})
async def add_attachment(ref: str, request: Request,
                         filename: str = Query(..., min_length=1, max_length=200),
                         kind: Literal["file", "exchange_records"] = Query("file"),
                         chain: Literal["btc", "eth"] = Query("btc", description="exchange_records: their chain"),
                         tlp: Tlp | None = Query(None), repo: CaseRepository = Repo, p: Principal = Who):
    data = await request.body()
    if len(data) > _MAX_UPLOAD:
        raise HTTPException(400, f"attachments are limited to {_MAX_UPLOAD >> 20} MiB")
    meta = None
    if kind == "exchange_records":
        from chaintrail.store.chainstore import ChainStore
        with ChainStore(request.app.state.store_path) as st:
            if chain == "eth":
                from chaintrail.cases.eth_exchange_records import map_eth_legs, read_eth_legs, store_tokens
                eth_legs = _call(read_eth_legs, data, filename, _call(store_tokens, st))
                meta = _call(map_eth_legs, st, eth_legs)
            else:
                from chaintrail.cases.exchange_records import map_legs, read_legs
                meta = _call(map_legs, st, _call(read_legs, data, filename))
    media = request.headers.get("content-type") or "application/octet-stream"
    row = _call(repo.add_attachment, p, ref, filename, data, kind=kind, media_type=media[:100], meta=meta, level=tlp)
    return row


@router.get("/{ref}/attachments/{attachment_id}/content", summary="An attachment's bytes",
            responses={200: {"content": {"application/octet-stream": {}}}})
def attachment_content(ref: str, attachment_id: int, repo: CaseRepository = Repo, p: Principal = Who):
    row, data = _call(repo.attachment, p, ref, attachment_id)
    name = "".join(c for c in row["filename"] if c.isalnum() or c in "._-") or "attachment"
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "X-SHA256": row["sha256"]})


@router.post("/{ref}/shares", response_model=_Open, status_code=201,
             summary="Let another agency on this server read the case up to a TLP level")
def share(ref: str, body: ShareIn, repo: CaseRepository = Repo, p: Principal = Who):
    return _call(repo.share, p, ref, body.agency, body.tlp_max)


@router.delete("/{ref}/shares/{agency}", status_code=204, summary="Stop sharing the case with an agency")
def unshare(ref: str, agency: str, repo: CaseRepository = Repo, p: Principal = Who):
    _call(repo.unshare, p, ref, agency)
    return Response(status_code=204)


@router.get("/{ref}/audit", response_model=list[_Open], summary="The case's chain-of-custody entries")
def audit_log(ref: str, repo: CaseRepository = Repo, p: Principal = Who):
    return [e.to_dict() for e in _call(repo.log, p, ref)]


@router.get("/{ref}/verify", response_model=_Open, summary="Verify the audit log and the case's records")
def verify_case(ref: str, repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.cases.verify import verify
    _call(repo.record, p, ref, "case.verify")
    return verify(repo.db, ref).to_dict()


@router.get("/{ref}/report", summary="The court-ready report (PDF or HTML)",
            responses={200: {"content": {"application/pdf": {}, "text/html": {}}}})
def report(ref: str, format: Literal["pdf", "html"] = Query("pdf"), tlp: Tlp | None = Query(None),
           lang: Literal["en", "uk"] | None = Query(None, description="Language of the report's words and number "
                                                   "formats (default: the request's Accept-Language, else English)"),
           repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.cases.report import build_report
    data = _call(build_report, repo, p, ref, format, tlp, lang)
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{_safe(ref)}.{format}"'})


@router.get("/{ref}/export", summary="A signed case package (zip) for a partner agency",
            responses={200: {"content": {"application/zip": {}}}})
def export(ref: str, tlp: Tlp = Query("amber", description="Recipient's clearance; items above it are withheld"),
           to: str | None = Query(None, max_length=80, description="Recipient agency"),
           repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.cases.package import export_package
    data = _call(export_package, repo, p, ref, level=tlp, recipient=to)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{_safe(ref)}.ctcase.zip"'})


@router.post("/import", response_model=_Open, status_code=201, summary="Verify and import a signed case package",
             openapi_extra={"requestBody": {"required": True, "content": {"application/zip": {
                 "schema": {"type": "string", "format": "binary"}}}}})
async def import_case(request: Request, trust: str | None = Query(None, max_length=80,
                                                                  description="Fingerprint of a new sender's key"),
                      repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.cases.package import import_package
    data = await request.body()
    if len(data) > _MAX_UPLOAD:
        raise HTTPException(400, f"packages are limited to {_MAX_UPLOAD >> 20} MiB")
    return _call(import_package, repo, p, data, source="upload", trust_fingerprint=trust).to_dict()


def _safe(s: str) -> str:
    return "".join(c for c in s if c.isalnum() or c in "-_") or "case"
