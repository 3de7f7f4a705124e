"""`chaintrail tags`: import attribution tags, add them by hand, and see what an address carries."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from chaintrail.cli._common import (
    EXIT_DATA,
    JsonOption,
    StoreOption,
    console,
    emit_json,
    err_console,
    error_line,
    one_line_errors,
    store_path,
)
from chaintrail.i18n import _, fmt_decimal, fmt_number, ngettext

app = typer.Typer(help="Attribution tags: GraphSense TagPacks, OFAC SDN lists, CSV, and your own.",
                  no_args_is_help=True)


def _lay_out_for_workbench(root: Path) -> None:
    """Persist the new tags beside the store's read model now (``tags.tagmodel``: O(tags) once), so the next
    ``serve`` maps them instead of searching every tagged address; nothing without a current read model."""
    from chaintrail.api.chainview import ChainView
    from chaintrail.tags.tagmodel import open_tags
    from chaintrail.errors import StoreError
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.readmodel import open_read_model

    with ChainStore(root) as st:
        try:
            view = ChainView(st, model=open_read_model(st, build_if_missing=False))
        except StoreError:
            return
        open_tags(st, view.n_addr, view.addr_nums)


@app.command("import")
@one_line_errors
def import_(
    paths: list[Path] = typer.Argument(..., help="Files or folders (TagPack/ActorPack .yaml, OFAC "
                                                 "sanctioned_addresses_<ASSET>.txt/.json, .csv)"),
    fmt: str = typer.Option("auto", "--format", help="auto | tagpack | actorpack | ofac | csv"),
    asset: str = typer.Option(None, "--asset", help="Asset of an OFAC list whose file name does not say it (XBT...)"),
    workers: int = typer.Option(0, "--workers", help="Parser processes for large imports [default: one per core "
                                                     "from 4 cores up, else 1]"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Import tag files; bad files and bad rows are reported (file:line) and everything else loads.

    A row is bad when it does not parse or its address cannot be one of its chain's (Base58Check or
    bech32/bech32m with a valid checksum for Bitcoin). Every bad row is printed, the good rows of
    its file load, and the exit code is 2 (bad input data) whenever a file or a row was left out;
    --json lists them under "errors" and "bad_lines". Labels are kept as given, even one that
    starts with "=": CSV exports neutralise such cells.
    """
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.tagstore import TagStore

    root = store_path(store)
    ChainStore(root, create=True).close()   # tags may come before chain data; SQL needs a store
    ts = TagStore(root)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} files"),
                  console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task(_("reading tag files"), total=None)
        report = ts.import_paths(paths, fmt=fmt, asset=asset, workers=workers or _default_workers(),
                                 progress=lambda _r: bar.advance(task))
    if report.tags_added or report.tags_removed:
        _lay_out_for_workbench(root)
    if json_out:
        emit_json(report.as_dict())
    else:
        view = Table(_("file"), _("kind"), _("tags"), _("note"))
        for f in report.files:
            note = _("unchanged") if f["unchanged"] else ("; ".join(f["warnings"]) or "")
            view.add_row(escape(_short(f["path"])), f["kind"], fmt_number(f["tags"] or f["actors"]), escape(note[:120]))
        console.print(view)
        console.print(_("added {added} tags, replaced {replaced}; the store holds {total} tags and {actors} actors "
                        "({seconds} s)").format(
            added=fmt_number(report.tags_added), replaced=fmt_number(report.tags_removed),
            total=fmt_number(report.total_tags), actors=fmt_number(report.actors),
            seconds=fmt_decimal(report.elapsed_s, 1)), highlight=False)
        for e in report.errors:
            err_console.print(error_line(escape(e)), highlight=False, soft_wrap=True)
        for e in report.bad_lines:
            err_console.print(_("[red]bad line:[/red] {line}").format(line=escape(e)), highlight=False, soft_wrap=True)
        if report.bad_lines:
            n = len(report.bad_lines)
            err_console.print(ngettext("{n} bad line left out; the other rows were imported",
                                       "{n} bad lines left out; the other rows were imported", n).format(
                n=fmt_number(n)), highlight=False)
    if report.errors or report.bad_lines:
        raise typer.Exit(EXIT_DATA)


@app.command("add")
@one_line_errors
def add(
    address: str = typer.Argument(..., help="The address to tag"),
    label: str = typer.Option(..., "--label", help="Who or what controls it"),
    category: str = typer.Option(None, "--category", help="GraphSense concept or screening category "
                                                          "(exchange, mixer, ransomware, darknet market, ...)"),
    abuse: str = typer.Option(None, "--abuse", help="GraphSense abuse concept (ransomware, scam, sanction, ...)"),
    concept: list[str] = typer.Option([], "--concept", help="Further GraphSense concepts"),
    actor: str = typer.Option(None, "--actor", help="Actor id (ActorPack)"),
    source: str = typer.Option(None, "--source", help="Where this comes from (URL, document, legal return)"),
    confidence: str = typer.Option(None, "--confidence", help="GraphSense confidence id (ownership, service_data, ...)"),
    definer: bool = typer.Option(False, "--cluster-definer/--address-only",
                                 help="The tag names the entity of the whole cluster"),
    currency: str = typer.Option("BTC", "--currency"),
    user: str = typer.Option(None, "--user", help="Who adds it [default: login name]"),
    case: str = typer.Option(None, "--case", help="Case the tag belongs to"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Add one tag by hand (recorded with your user name and case)."""
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.tagstore import TagStore

    root = store_path(store)
    ChainStore(root, create=True).close()
    tag = TagStore(root).add_tag(address, label, category=category, abuse=abuse, concepts=concept, actor=actor,
                                 source=source, confidence=confidence, is_cluster_definer=definer,
                                 currency=currency, user=user, case=case)
    if json_out:
        emit_json(tag.to_dict())
    else:
        console.print(_("tagged {address}: {tag}").format(address=tag.address, tag=escape(tag.describe())),
                      highlight=False)


@app.command("show")
@one_line_errors
def show(address: str = typer.Argument(..., help="Address to look up"), store: Path = StoreOption,
         json_out: bool = JsonOption) -> None:
    """Every tag on an address: its own, its cluster's, their sources, and any conflict."""
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.tagstore import TagStore

    root = store_path(store)
    ts = TagStore(root)
    out: dict = {"address": address, "tags": [], "cluster": None, "conflict": None}
    hits = None
    if (root / "MANIFEST.json").exists():
        with ChainStore(root) as st:
            from chaintrail.analysis.screening import Screener
            sc = Screener(ts, st)
            a = sc.addr_num(address) if sc.attr is not None else None
            if a is not None:
                hits = sc.attr.hits(a)
                out["cluster"] = int(sc.attr.labels[a])
                c = sc.attr.conflict_of(out["cluster"])
                out["conflict"] = c.describe() if c else None
    if hits is None:
        from chaintrail.tags.propagation import TagHit
        hits = [TagHit(-1, t, "address", t.address, None) for t in ts.lookup(address)]
    for h in hits:
        d = h.tag.to_dict() | {"via": h.via, "conflict": h.conflict}
        actor = ts.actor(h.tag.actor)
        d["actor_detail"] = None if actor is None else {"label": actor.label, "uri": actor.uri,
                                                        "jurisdictions": list(actor.jurisdictions)}
        out["tags"].append(d)
    if json_out:
        emit_json(out)
        return
    if not out["tags"]:
        console.print(_("no tags on {address}").format(address=address), highlight=False)
        return
    view = Table(_("label"), _("concept"), _("risk"), _("via"), _("actor"), _("confidence"), _("provenance"),
                 show_lines=True)
    for d, h in zip(out["tags"], hits):
        a = d["actor_detail"]
        view.add_row(escape(d["label"] or ""), h.tag.kind, ", ".join(d["risk_categories"]),
                     h.via + (f" ({h.tag.address})" if h.via == "cluster" else ""),
                     "" if a is None else f"{a['label']} {','.join(a['jurisdictions'])}", d["confidence"] or "",
                     h.tag.provenance)
    console.print(view)
    if out["cluster"] is not None:
        console.print(_("cluster {id}").format(id=out["cluster"]), highlight=False)
    if out["conflict"]:
        console.print(_("[yellow]conflict:[/yellow] {conflict}").format(conflict=escape(out["conflict"])),
                      highlight=False)


@app.command("export")
@one_line_errors
def export(
    out: Path = typer.Argument(..., help="TagPack YAML file to write"),
    case: str = typer.Option(None, "--case", help="Only the tags of this case"),
    user: str = typer.Option(None, "--user", help="Only the tags this user added"),
    from_file: str = typer.Option(None, "--from-file", help="Only the tags imported from this file"),
    title: str = typer.Option("chaintrail export", "--title"),
    creator: str = typer.Option(None, "--creator", help="[default: login name]"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Write tags as a GraphSense TagPack (for partners using GraphSense, or another chaintrail)."""
    import getpass

    from chaintrail.tags.export import select_tags, write_tagpack
    from chaintrail.tags.tagstore import TagStore

    ts = TagStore(store_path(store))
    chosen = select_tags(ts.tags, case=case, user=user,
                         origin_file=str(Path(from_file).resolve()) if from_file else None)
    n = write_tagpack(chosen, out, title, creator or getpass.getuser())
    if json_out:
        emit_json({"out": str(out), "tags": n})
    else:
        console.print(ngettext("wrote {n} tag to {out}", "wrote {n} tags to {out}", n).format(
            n=fmt_number(n), out=out), highlight=False)


@app.command("conflicts")
@one_line_errors
def conflicts(store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """Clusters whose definer tags name different entities (never merged silently)."""
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.propagation import Attribution

    with ChainStore(store_path(store)) as st:
        attr = Attribution.open(st)
        found = attr.conflicts() if attr is not None else []
    if json_out:
        emit_json([{"cluster": c.cluster, "entities": c.entities, "tags": [t.to_dict() for t in c.tags]}
                   for c in found])
        return
    for c in found:
        console.print(escape(c.describe()), highlight=False)
    console.print(ngettext("{n} conflicting cluster", "{n} conflicting clusters", len(found)).format(
        n=fmt_number(len(found))), highlight=False)


@app.command("stats")
@one_line_errors
def stats(store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """How many tags, from which files, in which screening categories."""
    import pyarrow.compute as pc

    from chaintrail.tags.tagstore import TagStore

    ts = TagStore(store_path(store))
    t = ts.tags
    flat = pc.list_flatten(t["risk_categories"]) if t.num_rows else None
    cats = {} if flat is None or not len(flat) else dict(
        zip(*(lambda v: (v.field(0).to_pylist(), v.field(1).to_pylist()))(pc.value_counts(flat))))
    out = {"tags": t.num_rows, "addresses": ts.index.n_addr, "actors": ts.actors.num_rows,
           "by_category": cats, "by_file": ts.counts_by_file()}
    if json_out:
        emit_json(out)
        return
    console.print(_("{tags} tags on {addresses} addresses, {actors} actors").format(
        tags=fmt_number(out["tags"]), addresses=fmt_number(out["addresses"]), actors=fmt_number(out["actors"])),
        highlight=False)
    for k, v in sorted(cats.items(), key=lambda kv: -kv[1]):
        console.print(f"  {k}: {fmt_number(v)}", highlight=False)


def _default_workers() -> int:
    """Worker start-up (a fresh interpreter each) only pays off with cores to spare."""
    n = os.cpu_count() or 1
    return min(n, 8) if n >= 4 else 1


def _short(path: str) -> str:
    p = Path(path)
    return str(p.relative_to(Path.cwd())) if p.is_relative_to(Path.cwd()) else path
