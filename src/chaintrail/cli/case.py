"""`chaintrail case`: case files with a chain of custody, reports and cross-agency sharing.

The case database is ``--db`` (a path or a postgresql:// DSN), else
``$CHAINTRAIL_CASES_DB``, else ``cases.sqlite`` inside the chain store folder.

Who acts: with ``$CHAINTRAIL_USER_TOKEN`` (or ``$CHAINTRAIL_USER_TOKEN_FILE``)
set, the user that token belongs to. Without one, only on a single-user
SQLite database: its local operator (made by the first command on a new
database, as ``--user``/``$CHAINTRAIL_USER``/the login name of
``--agency``/``$CHAINTRAIL_AGENCY``/``local``). A team database starts with
``case admin bootstrap`` (its first admin, who gets a token); after that only
an admin enrols users (``case user add``). Every command, reads included, is
written to the case's audit log.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import (
    EXIT_DATA,
    JsonOption,
    StoreOption,
    console,
    emit_json,
    err_console,
    one_line_errors,
    store_path,
)
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_number

app = typer.Typer(help="Case files: subjects, findings, notes, attachments, audit log, reports, sharing.",
                  no_args_is_help=True)
finding_app = typer.Typer(help="Save analyses as findings, or rerun them.", no_args_is_help=True)
agency_app = typer.Typer(help="Agencies on this server (home agencies, trusted foreign keys).", no_args_is_help=True)
user_app = typer.Typer(help="Users of the team server.", no_args_is_help=True)
admin_app = typer.Typer(help="Start a case database: its first admin (team) or its local operator (single-user).",
                        no_args_is_help=True)
app.add_typer(finding_app, name="finding")
app.add_typer(admin_app, name="admin")
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")

DbOption = typer.Option(None, "--db", help="Case database: path or postgresql:// DSN [default: $CHAINTRAIL_CASES_DB "
                                           "or STORE/cases.sqlite]")
UserOption = typer.Option(None, "--user", "-u", help="Act as this user [default: $CHAINTRAIL_USER or login name]")
AgencyOption = typer.Option(None, "--agency", help="Your home agency on a local database (for a new user) "
                                                   "[default: $CHAINTRAIL_AGENCY, else the user's, else 'local']")
TlpOption = typer.Option(None, "--tlp", help="TLP 2.0 level: clear | green | amber | amber+strict | red "
                                             "[default: the case's]")


def _dsn(db: str | None, store: Path | None) -> str:
    return db or os.environ.get("CHAINTRAIL_CASES_DB") or str(store_path(store) / "cases.sqlite")


def _user_token() -> str | None:
    """The acting user's API token: $CHAINTRAIL_USER_TOKEN, else the first line of $CHAINTRAIL_USER_TOKEN_FILE."""
    token = os.environ.get("CHAINTRAIL_USER_TOKEN")
    path = os.environ.get("CHAINTRAIL_USER_TOKEN_FILE")
    if not token and path:
        try:
            token = (Path(path).read_text(encoding="utf-8").splitlines() or [""])[0].strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(_("cannot read $CHAINTRAIL_USER_TOKEN_FILE {path}: {error}").format(path=path, error=exc)) from None
    return token or None


def _open(db: str | None, store: Path | None, user: str | None, agency: str | None):
    """The repository and who acts: the token's user, else a single-user SQLite database's operator."""
    from chaintrail.cases.errors import AccessDenied
    from chaintrail.cases.identity import os_user
    from chaintrail.cases.repository import CaseRepository

    repo = CaseRepository.open(_dsn(db, store))
    try:
        token = _user_token()
        if token:
            p = repo.principal_for_token(token)
            if p is None:
                raise UsageError(_("unknown or revoked user token ($CHAINTRAIL_USER_TOKEN)"))
            if (user and user != p.username) or (agency and agency != p.agency):
                raise UsageError(_("the user token is {user}'s ({agency}), not {asked} ({asked_agency})").format(
                    user=p.username, agency=p.agency, asked=user or p.username, asked_agency=agency or p.agency))
        else:
            name = user or os.environ.get("CHAINTRAIL_USER") or os_user()
            try:
                p = repo.ensure_operator(agency or os.environ.get("CHAINTRAIL_AGENCY"), name)
            except AccessDenied as exc:
                repo.log_refused(f"cli:{name}", "identity", str(exc), agency)
                raise
    except BaseException:
        repo.close()
        raise
    return repo, p


def _open_if_known(db: str | None, store: Path | None, user: str | None, agency: str | None):
    """Like ``_open``, but an unidentified caller of a team database is its login name ('cli:NAME'), not refused."""
    from chaintrail.cases.identity import os_user
    from chaintrail.cases.repository import CaseRepository

    if not _user_token():
        repo = CaseRepository.open(_dsn(db, store))
        if repo.db.kind != "sqlite" or (repo.local_operator() is None and repo.has_users()):
            return repo, f"cli:{user or os.environ.get('CHAINTRAIL_USER') or os_user()}"
        repo.close()
    return _open(db, store, user, agency)


def _admin(db: str | None, store: Path | None, user: str | None = None, agency: str | None = None):
    """The repository and an admin (or the operator) acting; anyone else is refused."""
    from chaintrail.cases.errors import AccessDenied
    repo, p = _open(db, store, user, agency)
    if not p.at_least("admin"):
        repo.close()
        raise AccessDenied(f"only an admin may do this ({p.username} is a {p.role} of {p.agency})")
    return repo, p


@app.command("new")
@one_line_errors
def new(title: str = typer.Argument(..., help="Case title"),
        summary: str = typer.Option("", "--summary", help="One paragraph on what the case is about"),
        level: str = typer.Option("amber", "--tlp", help="The case's TLP level (default for its items)"),
        db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
        json_out: bool = JsonOption) -> None:
    """Open a new case."""
    repo, p = _open(db, store, user, agency)
    with repo:
        c = repo.create_case(p, title, summary, level)
    emit_json(c) if json_out else console.print(_("opened case [bold]{ref}[/bold] ({tlp})").format(
        ref=c["ref"], tlp=c["tlp"]), highlight=False)


@app.command("list")
@one_line_errors
def list_cases(db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
               json_out: bool = JsonOption) -> None:
    """The cases you can see (your agency's and those shared with it)."""
    repo, p = _open(db, store, user, agency)
    with repo:
        cases = repo.list_cases(p)
    if json_out:
        emit_json(cases)
        return
    t = Table(_("ref"), _("title"), _("agency"), _("tlp"), _("status"), _("created"))
    for c in cases:
        t.add_row(c["ref"], c["title"], c["agency"], c["tlp"], c["status"], c["created_at"][:10])
    console.print(t)


@app.command("show")
@one_line_errors
def show(ref: str, db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
         json_out: bool = JsonOption) -> None:
    """A case and its items."""
    repo, p = _open(db, store, user, agency)
    with repo:
        v = repo.case(p, ref)
    if json_out:
        emit_json(v.to_dict())
        return
    c = v.case
    say = functools.partial(console.print, markup=False, highlight=False)
    say(f"{c['ref']} {c['title']} [{c['tlp']}, {c['status']}, {c['agency']}]")
    for s in v.subjects:
        say(_("  subject {id}: {kind} {value} {label} [{tlp}]").format(
            id=s["id"], kind=s["kind"], value=s["value"], label=s.get("label") or "", tlp=s["tlp"]))
    for f in v.findings:
        say(_("  finding {id}: {kind} {title} hash {hash}… [{tlp}]").format(
            id=f["id"], kind=f["kind"], title=f["title"], hash=f["finding_hash"][:16], tlp=f["tlp"]))
    for n in v.notes:
        say(_("  note {id} by {user}: {body} [{tlp}]").format(id=n["id"], user=n["created_by"], body=n["body"][:80],
                                                              tlp=n["tlp"]))
    for a in v.attachments:
        say(_("  attachment {id}: {name} ({kind}, {size} bytes) [{tlp}]").format(
            id=a["id"], name=a["filename"], kind=a["kind"], size=fmt_number(a["size"]), tlp=a["tlp"]))
    for t in v.tags:
        say(_("  tag {id}: {address} '{label}' source {source} [{tlp}]").format(
            id=t["id"], address=t["address"], label=t["label"], source=t.get("source"), tlp=t["tlp"]))
    for s in v.shares:
        say(_("  shared with {agency} up to {tlp}").format(agency=s["agency"], tlp=s["tlp_max"]))
    if v.withheld:
        say(_("  withheld above {tlp}: {counts}").format(tlp=v.level, counts=v.withheld))


@app.command("add")
@one_line_errors
def add(ref: str, value: str = typer.Argument(..., help="ADDRESS, TXID or cluster:N"),
        kind: str = typer.Option(None, "--kind", help="address | transaction | entity [default: from the value]"),
        label: str = typer.Option(None, "--label"), level: str = TlpOption, db: str = DbOption,
        store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """Add a subject (address, transaction or entity) to a case."""
    from chaintrail.cases.repository import subject_kind
    repo, p = _open(db, store, user, agency)
    with repo:
        s = repo.add_subject(p, ref, kind or subject_kind(value), value, label, level)
    emit_json(s) if json_out else console.print(_("subject {id} added to {ref}").format(id=s["id"], ref=ref))


@app.command("note")
@one_line_errors
def note(ref: str, text: str, about: str = typer.Option(None, "--about", help="Address, txid or finding:N"),
         level: str = TlpOption, db: str = DbOption, store: Path = StoreOption, user: str = UserOption,
         agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """Add a note to a case."""
    repo, p = _open(db, store, user, agency)
    with repo:
        n = repo.add_note(p, ref, text, about, level)
    emit_json(n) if json_out else console.print(_("note {id} added to {ref}").format(id=n["id"], ref=ref))


@app.command("tag")
@one_line_errors
def tag(ref: str, address: str, label: str, category: str = typer.Option(None, "--category"),
        source: str = typer.Option(None, "--source"), confidence: str = typer.Option(None, "--confidence"),
        actor: str = typer.Option(None, "--actor"), level: str = TlpOption, db: str = DbOption,
        store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """Attribute an address within the case (travels with the case's packages)."""
    repo, p = _open(db, store, user, agency)
    with repo:
        t = repo.add_tag(p, ref, address, label, category=category, source=source, confidence=confidence,
                         actor=actor, level=level)
    emit_json(t) if json_out else console.print(_("tag {id} added to {ref}").format(id=t["id"], ref=ref))


@app.command("attach")
@one_line_errors
def attach(ref: str, file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
           exchange_records: bool = typer.Option(False, "--exchange-records",
                                                 help="CSV legs from an exchange: map each onto the chain store"),
           chain: str = typer.Option("btc", "--chain", help="btc | eth: the chain of the exchange records"),
           media_type: str = typer.Option(None, "--media-type"), level: str = TlpOption, db: str = DbOption,
           store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
           json_out: bool = JsonOption) -> None:
    """Attach a file (kept in the case database with its SHA-256)."""
    data = file.read_bytes()
    meta = None
    if chain not in ("btc", "eth"):
        raise UsageError(_("--chain must be btc or eth, not {chain}").format(chain=repr(chain)))
    if exchange_records:
        from chaintrail.store.chainstore import ChainStore
        with ChainStore(store_path(store)) as st:
            meta = _map_records(st, data, file.name, chain)
    repo, p = _open(db, store, user, agency)
    with repo:
        a = repo.add_attachment(p, ref, file.name, data, kind="exchange_records" if exchange_records else "file",
                                media_type=media_type or ("text/csv" if file.suffix.lower() == ".csv"
                                                          else "application/octet-stream"),
                                meta=meta, level=level)
    if json_out:
        emit_json({k: v for k, v in a.items() if k != "meta"} | ({"mapping": {k: v for k, v in meta.items()
                                                                              if k != "per_leg"}} if meta else {}))
        return
    console.print(_("attachment {id} ({size} bytes, sha256 {sha}…) added to {ref}").format(
        id=a["id"], size=fmt_number(a["size"]), sha=a["sha256"][:16], ref=ref), highlight=False)
    if meta:
        console.print(_("  {legs} legs over {txs} txs; {in_store} txs in the store; by status {status}").format(
            legs=fmt_number(meta["legs"]), txs=fmt_number(meta["transactions"]),
            in_store=fmt_number(meta["transactions_in_store"]), status=meta["by_status"]), highlight=False)


def _map_records(st, data: bytes, name: str, chain: str) -> dict:
    """An exchange's reply read strictly (all rows or none) and mapped onto the store: the attachment's meta."""
    if chain == "eth":
        from chaintrail.cases.eth_exchange_records import map_eth_legs, read_eth_legs, store_tokens
        return map_eth_legs(st, read_eth_legs(data, name, store_tokens(st)))
    from chaintrail.cases.exchange_records import map_legs, read_legs
    return map_legs(st, read_legs(data, name))


def _save(ref: str, f: dict, level: str | None, db, store, user, agency, json_out: bool) -> None:
    repo, p = _open(db, store, user, agency)
    with repo:
        row = repo.add_finding(p, ref, f, level)
    if json_out:
        emit_json({"id": row["id"], "finding_hash": row["finding_hash"], "title": row["title"]})
        return
    console.print(_("finding {id} saved to {ref}: {title}\n  finding hash {hash}").format(
        id=row["id"], ref=ref, title=row["title"], hash=row["finding_hash"]), highlight=False)


OtherStoreOption = typer.Option(None, "--other-store", help="eth: the store of the chain a bridge leads to; the "
                                                           "trace follows the crossings there")


def _maybe_store(path: Path | None):
    """The chain store at ``path`` opened (a null context for None)."""
    from contextlib import nullcontext

    from chaintrail.store.chainstore import ChainStore
    return ChainStore(path) if path is not None else nullcontext()


@finding_app.command("trace")
@one_line_errors
def finding_trace(
        ref: str, source: str = typer.Option(..., "--from", help="TXID:VOUT, TXID, ADDRESS or cluster:N; "
                                             "eth: 0xADDRESS, TXHASH, TXHASH:0xRECIPIENT or cluster:N"),
        chain: str = typer.Option("btc", "--chain", help="btc | eth"),
        asset: str = typer.Option("all", "--asset", help="eth: ETH | 0xTOKEN | all"),
        direction: str = typer.Option("forward", "--direction"), model: str = typer.Option("haircut", "--model"),
        max_hops: int = typer.Option(10, "--max-hops"), min_amount: int = typer.Option(0, "--min-amount"),
        stop_category: list[str] = typer.Option(["exchange"], "--stop-category"),
        mixer_policy: str = typer.Option(None, "--mixer-policy", "--mixer",
                                         help="haircut | stop | demix [default: demix forward, haircut backward]; "
                                              "eth: leads (default) | demix | haircut | stop"),
        link: list[str] = typer.Option([], "--link", help="eth: a confirmed Tornado link DEPOSIT_TX:WITHDRAWAL_TX"),
        tornado_heuristics: str = typer.Option("all", "--tornado-heuristics",
                                               help="eth: the Tornado leads that may pair notes: all, none or a list"),
        until_exchange: bool = typer.Option(False, "--until-exchange", help="eth: expand until every branch reaches "
                                            "a service, and list the records requests per exchange and asset"),
        title: str = typer.Option(None, "--title"),
        other_store: Path = OtherStoreOption,
        currency: str = typer.Option("USD", "--currency", help="Reporting currency beside USD for endpoint values "
                                                               "(kept in the finding's parameters)"),
        level: str = TlpOption, db: str = DbOption, store: Path = StoreOption, user: str = UserOption,
        agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """Trace funds and save the result as a finding."""
    from chaintrail.store.chainstore import ChainStore
    if chain == "eth":
        from chaintrail.cases.eth_findings import eth_trace_finding, eth_trace_params
        params = eth_trace_params(direction=direction, model=model, asset=asset, max_hops=max_hops,
                                  min_amount=min_amount, stop_categories=stop_category, mixer_policy=mixer_policy,
                                  links=link, lead_heuristics=tornado_heuristics, until_exchange=until_exchange)
        with ChainStore(store_path(store)) as st, _maybe_store(other_store) as other:
            f = eth_trace_finding(st, source, params, title, until_exchange, other, currency)
        _save(ref, f, level, db, store, user, agency, json_out)
        return
    if chain != "btc":
        raise UsageError(_("--chain must be btc or eth, not {chain}").format(chain=repr(chain)))
    if link or until_exchange or asset != "all" or tornado_heuristics != "all" or other_store is not None:
        raise UsageError(_("--asset, --link, --tornado-heuristics, --until-exchange and --other-store are for "
                           "--chain eth"))
    from chaintrail.analysis.tracing import TraceParams
    from chaintrail.cases.findings import trace_finding
    params = TraceParams(direction=direction, model=model, max_hops=max_hops, min_amount_sat=min_amount,
                         stop_categories=tuple(stop_category), mixer_policy=mixer_policy)
    with ChainStore(store_path(store)) as st:
        f = trace_finding(st, source, params, title, currency)
    _save(ref, f, level, db, store, user, agency, json_out)


@finding_app.command("leads")
@one_line_errors
def finding_leads(ref: str, deposit: str = typer.Option(None, "--deposit", help="A Tornado deposit transaction"),
                  address: str = typer.Option(None, "--address", help="Leads where this 0x account deposited or "
                                                                      "received"),
                  chain: str = typer.Option("eth", "--chain", help="eth (Tornado Cash pools)"),
                  title: str = typer.Option(None, "--title"), level: str = TlpOption, db: str = DbOption,
                  store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
                  json_out: bool = JsonOption) -> None:
    """Save the Tornado Cash leads of a deposit (or an account), with their measured rates, as a finding."""
    from chaintrail.cases.eth_findings import eth_leads_finding
    from chaintrail.store.chainstore import ChainStore
    if chain != "eth":
        raise UsageError(_("Tornado leads are on Ethereum only (--chain eth), not {chain}").format(chain=repr(chain)))
    with ChainStore(store_path(store)) as st:
        f = eth_leads_finding(st, deposit, address, title)
    _save(ref, f, level, db, store, user, agency, json_out)


@finding_app.command("screen")
@one_line_errors
def finding_screen(ref: str, subject: str, hops: int = typer.Option(3, "--hops"),
                   title: str = typer.Option(None, "--title"), level: str = TlpOption, db: str = DbOption,
                   store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
                   json_out: bool = JsonOption) -> None:
    """Screen an address or transaction and save the result as a finding."""
    from chaintrail.analysis.screening import ScreenParams
    from chaintrail.cases.findings import screen_finding
    from chaintrail.store.chainstore import ChainStore
    with ChainStore(store_path(store)) as st:
        f = screen_finding(st, subject, ScreenParams(hops=hops), title)
    _save(ref, f, level, db, store, user, agency, json_out)


@finding_app.command("account")
@one_line_errors
def finding_account(ref: str, subject: str = typer.Argument(..., help="cluster:N or an address; eth: 0xACCOUNT or "
                                                                      "cluster:N"),
                    chain: str = typer.Option("btc", "--chain", help="btc | eth (per asset, FIFO lots)"),
                    date_from: str = typer.Option(None, "--from", help="First UTC day, YYYY-MM-DD"),
                    date_to: str = typer.Option(None, "--to", help="Last UTC day, YYYY-MM-DD"),
                    lots: str = typer.Option("fifo", "--lots", help="fifo | specific"),
                    currency: str = typer.Option("USD", "--currency", help="USD, or a currency with a USD series"),
                    title: str = typer.Option(None, "--title"), level: str = TlpOption, db: str = DbOption,
                    store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
                    json_out: bool = JsonOption) -> None:
    """Save the forensic-accounting schedules of an entity or address (chaintrail account) as a finding."""
    from chaintrail.analysis.accounting import AccountParams
    from chaintrail.cases.findings import account_finding
    from chaintrail.store.chainstore import ChainStore
    if chain not in ("btc", "eth"):
        raise UsageError(_("--chain must be btc or eth, not {chain}").format(chain=repr(chain)))
    if chain == "eth" and lots != "fifo":
        raise UsageError(_("--chain eth keeps FIFO lots per asset (an account has no outputs to identify)"))
    with ChainStore(store_path(store)) as st:
        if chain == "eth":
            from chaintrail.cases.eth_findings import eth_account_finding
            f = eth_account_finding(st, subject, date_from, date_to, currency.upper(), title)
        else:
            f = account_finding(st, subject, AccountParams(date_from, date_to, lots, currency.upper()), title)
    _save(ref, f, level, db, store, user, agency, json_out)


@finding_app.command("explain")
@one_line_errors
def finding_explain(ref: str, addr_a: str, addr_b: str, title: str = typer.Option(None, "--title"),
                    level: str = TlpOption, db: str = DbOption, store: Path = StoreOption, user: str = UserOption,
                    agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """Explain why two addresses are one entity and save it as a finding."""
    from chaintrail.cases.findings import explain_finding
    from chaintrail.store.chainstore import ChainStore
    with ChainStore(store_path(store)) as st:
        f = explain_finding(st, addr_a, addr_b, title)
    _save(ref, f, level, db, store, user, agency, json_out)


@finding_app.command("rerun")
@one_line_errors
def finding_rerun(ref: str, finding_id: int, db: str = DbOption, store: Path = StoreOption, user: str = UserOption,
                  agency: str = AgencyOption, other_store: Path = OtherStoreOption, json_out: bool = JsonOption) -> None:
    """Run a saved finding again on the store; exit 2 unless it reproduces byte for byte."""
    from chaintrail.cases.findings import rerun
    from chaintrail.store.chainstore import ChainStore
    repo, p = _open(db, store, user, agency)
    with repo:
        found = [f for f in repo.case(p, ref).findings if f["id"] == finding_id]
        if not found:
            raise UsageError(_("case {ref} has no finding {id}").format(ref=ref, id=finding_id))
        with ChainStore(store_path(store)) as st, _maybe_store(other_store) as other:
            r = rerun(st, found[0], other)
        repo.record(p, ref, "finding.rerun", {"finding": finding_id, **r.to_dict()})
    if json_out:
        emit_json(r.to_dict())
    elif r.reproduced:
        console.print(_("[green]reproduced[/green]: finding {id} hash {hash}").format(id=finding_id, hash=r.new_hash),
                      highlight=False)
    else:
        err_console.print(_("[red]differs[/red]: stored {stored}, now {now}; fields {fields}").format(
            stored=r.stored_hash, now=r.new_hash, fields=r.differences)
            + ("" if r.same_store else _(" (the store's content hash differs too)")), highlight=False)
    if not r.reproduced:
        raise typer.Exit(EXIT_DATA)


@app.command("verify")
@one_line_errors
def verify_cmd(ref: str = typer.Argument(None, help="Check this case's records (the whole log is always checked)"),
               checkpoints: Path = typer.Option(None, "--checkpoints", dir_okay=False,
                                                help="Hold the log to this copy of its signed checkpoint file "
                                                     "[default: the database's own]"),
               db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
               json_out: bool = JsonOption) -> None:
    """Check the audit log, its signed checkpoints and every record; exit 2 and name the entry if anything was altered."""
    from chaintrail.cases.repository import CaseRepository
    from chaintrail.cases.verify import verify
    with CaseRepository.open(_dsn(db, store)) as repo:   # no identity first: a damaged users table must not hide
        rep = verify(repo.db, ref, checkpoints)
    if rep.ok:   # a clean check is itself logged, with the head it saw (never appended to a broken chain)
        repo, p = _open_if_known(db, store, user, agency)
        with repo:
            repo.log_verified(p, ref, rep.to_dict())
    if json_out:
        emit_json(rep.to_dict())
    elif rep.ok:
        cp = rep.checkpoints or {}
        console.print(_("[green]verified[/green]: {entries} log entries, {rows} records; head #{seq} {hash}; anchored "
                        "to #{anchored} by {lines} signed checkpoints in {path}").format(
            entries=fmt_number(rep.entries), rows=fmt_number(rep.rows), seq=rep.head_seq, hash=rep.head_hash,
            anchored=cp.get("anchored_seq", 0), lines=fmt_number(cp.get("lines", 0)), path=cp.get("path")),
            highlight=False, soft_wrap=True)
    else:
        for pr in rep.problems:
            err_console.print(_("[red]altered[/red] {problem}").format(problem=pr.message), highlight=False,
                              soft_wrap=True)
    if not json_out:
        for w in rep.warnings:
            err_console.print(_("[yellow]note[/yellow] {warning}").format(warning=w), highlight=False, soft_wrap=True)
    if not rep.ok:
        raise typer.Exit(EXIT_DATA)


@app.command("checkpoint")
@one_line_errors
def checkpoint_cmd(db: str = DbOption, store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """Sign the audit log's current head into its checkpoint file now (starts the file of an older database)."""
    from chaintrail.cases import checkpoints
    from chaintrail.cases.db import Database
    d = Database.open(_dsn(db, store))
    try:
        line = checkpoints.start(d)
        path = d.checkpoints
    finally:
        d.close()
    if json_out:
        emit_json({"path": str(path), **line})
    else:
        console.print(_("anchored entry #{seq} {head} in {path} (line {n}, signed by {agency} {key})").format(
            seq=line["seq"], head=line["head"], path=path, n=line["n"], agency=line["agency"], key=line["key"]),
            highlight=False, soft_wrap=True)


@app.command("log")
@one_line_errors
def log_cmd(ref: str, db: str = DbOption, store: Path = StoreOption, user: str = UserOption,
            agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """The case's chain-of-custody entries."""
    repo, p = _open(db, store, user, agency)
    with repo:
        entries = repo.log(p, ref)
    if json_out:
        emit_json([e.to_dict() for e in entries])
        return
    for e in entries:
        console.print(e.describe(), highlight=False)


@app.command("report")
@one_line_errors
def report(ref: str, out: Path = typer.Option(None, "--out", "-o", help="File to write [default: REF.pdf/.html]"),
           fmt: str = typer.Option("pdf", "--format", help="pdf | html"),
           level: str = typer.Option(None, "--tlp", help="Withhold items above this level (for a partner)"),
           db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
           lang: str | None = typer.Option(None, "--lang", help="Language of the report: en, uk "
                                                         "[default: chaintrail --lang, $CHAINTRAIL_LANG or en]"),
           json_out: bool = JsonOption) -> None:
    """Write the court-ready report (PDF or HTML)."""
    from chaintrail.cases.report import build_report
    from chaintrail.i18n import resolve_language

    lang = resolve_language(lang) if lang else None
    repo, p = _open(db, store, user, agency)
    with repo:
        data = build_report(repo, p, ref, fmt, level, lang=lang)
    out = out or Path(f"{ref}.{fmt}")
    out.write_bytes(data)
    if json_out:
        emit_json({"path": str(out), "bytes": len(data)})
    else:
        console.print(_("wrote {path} ({size} bytes)").format(path=out, size=fmt_number(len(data))), highlight=False)


@app.command("export")
@one_line_errors
def export(ref: str, out: Path = typer.Option(..., "--out", "-o"),
           level: str = typer.Option("amber", "--tlp", help="Recipient's clearance: items above it are withheld"),
           to: str = typer.Option(None, "--to", help="Recipient agency (the package is refused by any other)"),
           db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
           json_out: bool = JsonOption) -> None:
    """Write a signed case package (case JSON, STIX 2.1 bundle, FtM entities, attachments)."""
    from chaintrail.cases.package import export_package
    repo, p = _open(db, store, user, agency)
    with repo:
        data = export_package(repo, p, ref, level=level, recipient=to)
        fp = repo.agency(p.agency)["fingerprint"]
    out.write_bytes(data)
    if json_out:
        emit_json({"path": str(out), "bytes": len(data), "fingerprint": fp})
    else:
        console.print(_("wrote {path} ({size} bytes), signed by {agency} key {key}").format(
            path=out, size=fmt_number(len(data)), agency=p.agency, key=fp), highlight=False)


@app.command("import")
@one_line_errors
def import_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False),
               trust: str = typer.Option(None, "--trust", help="Trust the sender's key with this fingerprint "
                                                               "(checked with the sender out of band)"),
               tags_to_store: bool = typer.Option(False, "--tags-to-store", help="Also add the case tags to the "
                                                                                 "chain store's tag store"),
               db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
               json_out: bool = JsonOption) -> None:
    """Verify a signed case package and import it as a new case (a tampered package is refused, exit 2)."""
    from chaintrail.cases.package import import_package
    from chaintrail.cases.package_archive import read_file
    data = read_file(file)                   # refused by its size before it is read into memory
    repo, p = _open(db, store, user, agency)
    with repo:
        res = import_package(repo, p, data, source=str(file), trust_fingerprint=trust,
                             tag_store_root=store_path(store) if tags_to_store else None)
    if json_out:
        emit_json(res.to_dict())
        return
    console.print(_("imported as [bold]{ref}[/bold] from {agency} ({key}): {counts}").format(
        ref=res.case["ref"], agency=res.sender["agency"], key=res.sender["fingerprint"], counts=res.counts),
        highlight=False)


@app.command("share")
@one_line_errors
def share(ref: str, to_agency: str, level: str = typer.Option("amber", "--tlp", help="Most restricted level they may read"),
          revoke: bool = typer.Option(False, "--revoke"), db: str = DbOption, store: Path = StoreOption,
          user: str = UserOption, agency: str = AgencyOption, json_out: bool = JsonOption) -> None:
    """Let another agency on this server read the case (up to a TLP level), or revoke it."""
    repo, p = _open(db, store, user, agency)
    with repo:
        if revoke:
            repo.unshare(p, ref, to_agency)
            console.print(_("{ref} no longer shared with {agency}").format(ref=ref, agency=to_agency))
            return
        s = repo.share(p, ref, to_agency, level)
    if json_out:
        emit_json(s)
    else:
        console.print(_("{ref} shared with {agency} up to {tlp}").format(ref=ref, agency=to_agency, tlp=s["tlp_max"]))


@agency_app.command("add")
@one_line_errors
def agency_add(name: str, country: str = typer.Option(None, "--country"),
               public_key: str = typer.Option(None, "--public-key", help="A foreign agency's Ed25519 key (hex)"),
               db: str = DbOption, store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """Add a home agency (gets a signing key) or, with --public-key, trust a foreign agency's key (admins only)."""
    repo, p = _admin(db, store)
    with repo:
        repo.add_agency(p.username, name, kind="foreign" if public_key else "home", country=country,
                        public_key_hex=public_key)
        a = repo.agency(name)
    if json_out:
        emit_json(a)
    else:
        console.print(_("agency {name} ({kind}), key {key}").format(name=a["name"], kind=a["kind"],
                                                                    key=a["fingerprint"]), highlight=False)


@agency_app.command("list")
@one_line_errors
def agency_list(db: str = DbOption, store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """Agencies and their public key fingerprints."""
    from chaintrail.cases.repository import CaseRepository
    with CaseRepository.open(_dsn(db, store)) as repo:
        rows = repo.agencies()
    if json_out:
        emit_json(rows)
        return
    for a in rows:
        console.print(f"{a['name']:20} {a['kind']:8} {a['fingerprint']}  {a['public_key']}")


@user_app.command("add")
@one_line_errors
def user_add(username: str, agency_name: str = typer.Option(..., "--agency"),
             role: str = typer.Option("investigator", "--role", help="viewer | investigator | admin"),
             db: str = DbOption, store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """An admin ($CHAINTRAIL_USER_TOKEN) enrols a user; prints their API token once (only its hash is kept)."""
    from chaintrail.cases.identity import os_user
    from chaintrail.cases.repository import CaseRepository
    if not _user_token():
        with CaseRepository.open(_dsn(db, store)) as repo:   # refused, and logged, without an admin's token
            repo.log_refused(f"cli:{os_user()}", "user.create", f"no admin token to enrol {username} into {agency_name}")
        raise UsageError(_("enrolling a user needs an admin: set $CHAINTRAIL_USER_TOKEN to an admin's token "
                           "(a new database starts with `chaintrail case admin bootstrap`)"))
    repo, p = _open(db, store, None, None)
    with repo:
        row, token = repo.add_user(p, username, agency_name, role)
    if json_out:
        emit_json({"username": username, "agency": agency_name, "role": role, "token": token})
    else:
        console.print(_("user {user} ({role}, {agency}); API token (shown once): {token}").format(
            user=username, role=role, agency=agency_name, token=token), highlight=False)


@admin_app.command("bootstrap")
@one_line_errors
def admin_bootstrap(username: str = typer.Option(..., "--user", "-u", help="The first admin's user name"),
                    agency_name: str = typer.Option(..., "--agency", help="Its home agency (made if missing)"),
                    country: str = typer.Option(None, "--country"),
                    db: str = DbOption, store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """Start a team database: its first admin, whose API token is printed once (refused once any user exists)."""
    from chaintrail.cases.repository import CaseRepository
    with CaseRepository.open(_dsn(db, store)) as repo:
        p, token = repo.bootstrap(agency_name, username, country=country)
    if json_out:
        emit_json({"username": p.username, "agency": p.agency, "role": p.role, "token": token})
        return
    console.print(_("first admin {user} of {agency}; API token (shown once): {token}").format(
        user=p.username, agency=p.agency, token=token), highlight=False)
    console.print(_("  act as them with CHAINTRAIL_USER_TOKEN=<token>; enrol others with `chaintrail case user add`"))


@admin_app.command("operator")
@one_line_errors
def admin_operator(db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
                   json_out: bool = JsonOption) -> None:
    """Make (or show) the local operator of a single-user SQLite database: the one user, no token needed."""
    from chaintrail.cases.identity import os_user
    from chaintrail.cases.repository import CaseRepository
    with CaseRepository.open(_dsn(db, store)) as repo:
        p = repo.ensure_operator(agency or os.environ.get("CHAINTRAIL_AGENCY"),
                                 user or os.environ.get("CHAINTRAIL_USER") or os_user())
    if json_out:
        emit_json({"username": p.username, "agency": p.agency, "role": p.role})
    else:
        console.print(_("local operator {user} of {agency} (single-user database)").format(user=p.username,
                                                                                            agency=p.agency))


@app.command("demo")
@one_line_errors
def demo_case(demo_dir: Path = typer.Option(Path("./chaintrail-demo-store"), "--dir",
                                            help="Folder `chaintrail demo` built (holds demo.json)"),
              report: Path = typer.Option(None, "--report", help="Also write the case's PDF report here"),
              db: str = DbOption, user: str = UserOption, agency: str = AgencyOption,
              json_out: bool = JsonOption) -> None:
    """Open the demo's ransomware case file: subjects, the traced ransom wallet, exchange records, notes."""
    import json as _json

    from chaintrail.cases.demo import open_demo_case
    spec = demo_dir / "demo.json"
    if not spec.exists():
        raise UsageError(_("no demo at {dir}: run `chaintrail demo --dir {dir}` first").format(dir=demo_dir))
    d = _json.loads(spec.read_text())
    if d.get("source") != "scenario" or not d.get("answer_key"):
        raise UsageError(_("this demo has no generated ransomware case (it fell back to mainnet blocks)"))
    repo, p = _open(db, Path(d["store"]), user, agency)
    with repo:
        ref = open_demo_case(repo, p, d["store"], d["answer_key"], d["case_id"], d["subject"])
        if report is not None:
            from chaintrail.cases.report import build_report
            report.write_bytes(build_report(repo, p, ref, "pdf"))
    if json_out:
        emit_json({"ref": ref, "store": d["store"], "report": str(report) if report else None})
        return
    console.print(_("opened demo case [bold]{ref}[/bold] in {db}").format(ref=ref, db=_dsn(db, Path(d["store"]))),
                  highlight=False)
    console.print(_("report: chaintrail case report {ref} --store {store}").format(ref=ref, store=d["store"])
                  + (_(" (written to {path})").format(path=report) if report else ""), highlight=False)
