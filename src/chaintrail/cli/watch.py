"""`chaintrail watch add|list|remove`: watchlists on a case, which `chaintrail follow` evaluates per block.

Who acts and which case database: as for `chaintrail case` (``--db``, ``$CHAINTRAIL_USER_TOKEN``, the local
operator of a single-user database). Every command is an entry in the case's audit log.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.cli.case import AgencyOption, DbOption, TlpOption, UserOption, _open
from chaintrail.i18n import _

app = typer.Typer(help="Watchlists: addresses, entities, tag categories and exposure thresholds that raise "
                       "alerts when `chaintrail follow` sees them move.", no_args_is_help=True)


def _network(store: Path | None) -> str | None:
    """The Bitcoin network of the store, to check addresses against (mainnet when there is no store yet)."""
    from chaintrail.errors import ChaintrailError
    from chaintrail.store.chainstore import ChainStore
    path = store_path(store)
    if not (path / "manifest.json").exists():
        return None
    try:
        with ChainStore(path) as st:
            return st.network
    except ChaintrailError:
        return None


@app.command("add")
@one_line_errors
def add(
    ref: str = typer.Argument(..., help="The case the watch belongs to"),
    kind: str = typer.Option(..., "--kind", help="address | entity | category | exposure"),
    target: str = typer.Option(..., "--target", help="address: ADDRESS; entity: ADDRESS or cluster:N; "
                                                      "category: a screening category (ransomware); "
                                                      "exposure: the ADDRESS that receives"),
    chain: str = typer.Option("btc", "--chain", help="btc or eth"),
    direction: str = typer.Option(None, "--direction", help="address/entity: any (default), out or in"),
    min_amount: str = typer.Option(None, "--min-amount", help="Fire only at or above this many base units"),
    to_category: str = typer.Option(None, "--to-category", help="category: only payments into an entity "
                                                                "tagged with this (exchange)"),
    category: str = typer.Option(None, "--category", help="exposure: to what (default sanctioned)"),
    max_hops: int = typer.Option(None, "--max-hops", help="exposure: how many payments away (default 3)"),
    webhook: str = typer.Option(None, "--webhook", help="POST each alert to this URL, signed with a secret made "
                                                        "for this watch and shown once (see README)"),
    email: list[str] = typer.Option(None, "--email", help="Mail each alert to this address (repeatable)"),
    label: str = typer.Option(None, "--label", help="A name for the watch"),
    level: str = TlpOption, db: str = DbOption, store: Path = StoreOption, user: str = UserOption,
    agency: str = AgencyOption, json_out: bool = JsonOption,
) -> None:
    """Add a watch to a case; a malformed watch is refused with the reason."""
    from chaintrail.monitor.watch_spec import check_spec
    from chaintrail.monitor.watches import add_watch

    params = {k: v for k, v in (("direction", direction), ("min_amount", min_amount), ("to_category", to_category),
                                ("category", category), ("max_hops", max_hops)) if v is not None}
    spec = check_spec(chain, kind, target, params, {"webhook": webhook, "email": email or None}, label,
                      network=_network(store) if chain == "btc" else None)
    repo, p = _open(db, store, user, agency)
    with repo:
        w = add_watch(repo, p, ref, spec, level)
    if json_out:
        emit_json(w)
    else:
        console.print(_("watch {id} added to {ref}: {kind} {target} on {chain}").format(
            id=w["id"], ref=ref, kind=w["kind"], target=w["target"], chain=w["chain"]), highlight=False)
        if w.get("webhook_secret"):
            console.print(_("webhook secret (shown only now; the receiver checks X-Chaintrail-Signature with it): "
                            "{secret}").format(secret=w["webhook_secret"]), soft_wrap=True, highlight=False)


@app.command("list")
@one_line_errors
def list_(
    ref: str = typer.Argument(None, help="One case (default: every case you may see)"),
    removed: bool = typer.Option(False, "--removed", help="Also list removed watches"),
    db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
    json_out: bool = JsonOption,
) -> None:
    """List watches."""
    from chaintrail.monitor.watches import list_watches

    repo, p = _open(db, store, user, agency)
    with repo:
        got = list_watches(repo, p, ref, include_removed=removed)
    if json_out:
        emit_json(got)
        return
    t = Table("id", _("case"), _("chain"), _("kind"), _("target"), _("params"), _("delivery"), _("active"))
    for w in got:
        delivery = ", ".join(k for k in sorted(w["notify"]) if k in ("webhook", "email")) or "-"
        t.add_row(str(w["id"]), w["case_ref"], w["chain"], w["kind"], w["target"],
                  ", ".join(f"{k}={v}" for k, v in w["params"].items()), delivery,
                  _("yes") if w["active"] else _("removed"))
    console.print(t)


@app.command("remove")
@one_line_errors
def remove(
    watch_id: int = typer.Argument(..., help="The watch's id (see `watch list`)"),
    db: str = DbOption, store: Path = StoreOption, user: str = UserOption, agency: str = AgencyOption,
    json_out: bool = JsonOption,
) -> None:
    """Remove a watch (kept, inactive: its alerts still name it)."""
    from chaintrail.monitor.watches import remove_watch

    repo, p = _open(db, store, user, agency)
    with repo:
        w = remove_watch(repo, p, watch_id)
    emit_json(w) if json_out else console.print(_("watch {id} removed from {ref}").format(id=watch_id,
                                                                                           ref=w["case_ref"]))
