"""`chaintrail demo`: the main job. Generate a ransomware-laundering case (or, with ``--chain eth``, a DeFi case on
two anvil chains), analyse it, serve the workbench.

Builds everything under ``--dir`` (replaced on each run): the generated chain
and its answer key, the chain store (ingested, clustered, tagged with the
scenario's services and the real OFAC list), then serves the workbench on
127.0.0.1 and prints the URL, a local token and three guided steps.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors
from chaintrail.cli.serve import TokenFileOption, TokenOption, resolve_token
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_number

DEFAULT_PORT = 8765


@one_line_errors
def demo(
    workdir: Path = typer.Option(Path("./chaintrail-demo-store"), "--dir", "--store", "-s",
                                 help="Folder the demo is built in (replaced)"),
    seed: int = typer.Option(7, "--seed", help="Scenario seed (same seed, same chain)"),
    scale: float = typer.Option(20.0, "--scale", help="Background economy size, in thousands of transactions"),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to serve on"),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port (0: any free port)"),
    token: str | None = TokenOption,
    token_file: Path | None = TokenFileOption,
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the workbench after building"),
    trace_workers: int = typer.Option(None, "--trace-workers", help="Processes that run traces (0: in the API process) "
                                                                    "[default: half the cores, 1 to 4]"),
    chain: str = typer.Option("btc", "--chain", help="btc (a ransomware case) or eth (a DeFi case on two anvil chains)"),
    case_kind: str = typer.Option("defi_exploit", "--case",
                                  help="eth: defi_exploit, approval_phishing, pig_butchering or sanctions_evasion"),
    json_out: bool = JsonOption,
) -> None:
    """Generate a ransomware-laundering case, ingest, cluster and tag it, and open the workbench on it."""
    from chaintrail.api.demo_case import build_demo

    if chain not in ("btc", "eth"):
        raise UsageError(f"--chain must be btc or eth, not {chain!r}")
    token = resolve_token(token, token_file)
    started = time.perf_counter()
    if chain == "eth":
        demo_eth = _build_eth(workdir, seed, scale, case_kind, json_out)
        if not serve:
            if json_out:
                emit_json(demo_eth | {"ready_s": round(time.perf_counter() - started, 2)})
            else:
                _describe_eth(demo_eth, None, None, time.perf_counter() - started)
            return
        store, case_info, other = demo_eth["store"], demo_eth["case_info"], demo_eth["store_b"]
    else:
        with console.status(_("building the demo case…"), spinner="dots") as status:
            case = build_demo(workdir, seed=seed, scale=scale,
                              progress=None if json_out else (lambda msg: status.update(f"{msg}…")))
        if not serve:
            if json_out:
                emit_json(case.__dict__)
            else:
                _describe(case, None, None)
            return
        store, case_info, other = case.store, case.case_info(), None
    from chaintrail.api import create_app
    from chaintrail.api.server import bind, url_of
    from chaintrail.api.server import serve as run

    from chaintrail.api.runner import default_workers

    workers = default_workers() if trace_workers is None else max(0, min(64, trace_workers))
    app = create_app(store, token=token, case_info=case_info, trace_workers=workers, other_store=other)
    try:
        sock = bind(host, port)
    except UsageError:
        if port != DEFAULT_PORT:
            raise
        sock = bind(host, 0)      # the default port is taken: any free one will do

    def ready() -> None:
        took = time.perf_counter() - started
        if json_out:
            built = demo_eth if chain == "eth" else case.__dict__
            emit_json(built | {"url": url_of(sock), "token": app.state.token, "ready_s": round(took, 2)})
        elif chain == "eth":
            _describe_eth(demo_eth, url_of(sock, app.state.token), app.state.token, took)
        else:
            _describe(case, url_of(sock, app.state.token), app.state.token, took)

    run(app, sock, ready)


def _build_eth(workdir: Path, seed: int, scale: float, kind: str, json_out: bool) -> dict:
    from chaintrail.api.demo_eth_case import build_eth_demo

    with console.status(_("building the Ethereum demo case…"), spinner="dots") as status:
        return build_eth_demo(workdir, seed=seed, scale=min(scale, 20.0), kind=kind,
                              progress=None if json_out else (lambda msg: status.update(f"{msg}…")))


def _describe_eth(demo: dict, url: str | None, token: str | None, took: float) -> None:
    s, store = demo["start"], demo["store"]
    say = lambda text: console.print(text, soft_wrap=True, highlight=False)  # noqa: E731
    say(f"[bold green]chaintrail demo --chain eth[/bold green] · {demo['case_info']['title']}")
    say(f"  stores     {store} (main chain, tagged, analysed; {demo['transactions']:,} transactions on two anvil "
        f"chains) and {demo['store_b']} (the bridge's far chain)")
    say(f"  the theft  tx {s['tx']} (block {s['block']}): {s['amount']} base units of {s['asset']} from "
        f"{s['from']} to {s['to']}")
    if url:
        say(_("  workbench  [bold]{url}[/bold]").format(url=url))
        say(_("  token      {token}   (API clients: Authorization: Bearer <token>)").format(token=token))
    for n, step in enumerate(demo["case_info"]["steps"], 1):
        say(f"  {n}. {_step(step)}")
    if not url:
        query = f"SELECT * FROM value_flows WHERE from_address = '{s['to']}' ORDER BY block_number, flow_index"
        say(f'  SQL        chaintrail sql --store {store} --chain eth "{query}"')
    say(_("  answer key {path} (check your findings against it)").format(path=f"{demo['scenario']}/answer_key.json"))
    say((_("  ready in {s} s · Ctrl-C to stop") if url else _("  built in {s} s")).format(s=f"{took:.1f}"))


def _describe(case, url: str | None, token: str | None, took: float | None = None) -> None:
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(case.store) as st:
        c = st.counts
    from chaintrail.api.demo_case import step_text

    title = step_text(case.title_key, case.title_params) if case.title_key else case.title
    console.print(f"[bold green]chaintrail demo[/bold green] · {title}", soft_wrap=True, highlight=False)
    console.print(_("  store      {store}: {blocks} blocks, {txs} txs, {addresses} addresses ({source}; built in {s} s)")
                  .format(store=case.store, blocks=fmt_number(c["blocks"]), txs=fmt_number(c["txs"]),
                          addresses=fmt_number(c["addresses"]), source=case.source,
                          s=f"{case.timings.get('total_s', 0):.1f}"), soft_wrap=True, highlight=False)
    if url:
        console.print(_("  workbench  [bold]{url}[/bold]").format(url=url), soft_wrap=True, highlight=False)
        console.print(_("  token      {token}   (API clients: Authorization: Bearer <token>)").format(token=token),
                      soft_wrap=True, highlight=False)
    for n, step in enumerate(case.steps, 1):
        console.print(f"  {n}. {_step(step)}", soft_wrap=True, highlight=False)
    if case.answer_key:
        console.print(_("  answer key {path} (check your findings against it)").format(path=case.answer_key),
                      soft_wrap=True, highlight=False)
    console.print(_("  training   graded exercises for a class on cases like this one: chaintrail training init, "
                    "then chaintrail training set create (README: Training)"), soft_wrap=True, highlight=False)
    if url:
        console.print(_("  ready in {s} s · Ctrl-C to stop").format(s=f"{took:.1f}"), highlight=False)


def _step(step: dict) -> str:
    """A guided step in the current language (steps without a catalog key as written)."""
    from chaintrail.api.demo_case import TEXTS, step_text

    return step_text(step["key"], step.get("params")) if step.get("key") in TEXTS else step["text"]
