"""The `chaintrail` command: `chaintrail <noun> <verb>`."""

from __future__ import annotations

import importlib
import logging

import typer

from chaintrail.cli import ingest as ingest_cli
from chaintrail.cli import store as store_cli
from chaintrail.cli import tags as tags_cli
from chaintrail.cli.account import account
from chaintrail.cli.cluster import cluster, entity_app
from chaintrail.cli.demo import demo
from chaintrail.cli.follow import follow
from chaintrail.cli.heuristics import app as heuristics_app
from chaintrail.cli.screen import screen
from chaintrail.cli.serve import serve
from chaintrail.cli.sql import sql
from chaintrail.cli.tornado import app as tornado_app
from chaintrail.cli.trace import trace
from chaintrail.cli.warm import warm
from chaintrail.cli.watch import app as watch_app

app = typer.Typer(name="chaintrail", help="Investigate crypto-enabled crime: ingest, cluster, trace, report.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(ingest_cli.app, name="ingest")
app.add_typer(store_cli.app, name="store")
app.command("sql")(sql)
app.command("demo")(demo)
app.command("warm")(warm)
app.command("trace")(trace)
app.command("account")(account)
app.command("cluster")(cluster)
app.add_typer(entity_app, name="entity")
app.add_typer(heuristics_app, name="heuristics")
app.add_typer(tags_cli.app, name="tags")
app.command("screen")(screen)
app.command("serve")(serve)
app.add_typer(tornado_app, name="tornado")
app.add_typer(watch_app, name="watch")
app.command("follow")(follow)

# Nouns whose modules may not exist in every build are registered when present.
for _noun in ("scenario", "case", "prices", "training"):
    try:
        _mod = importlib.import_module(f"chaintrail.cli.{_noun}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"chaintrail.cli.{_noun}":
            raise
        continue
    app.add_typer(_mod.app, name=_noun)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr"),
          lang: str = typer.Option(None, "--lang", help="Language of messages and reports: en, uk "
                                                           "[default: $CHAINTRAIL_LANG or en]")) -> None:
    from chaintrail.cli._common import apply_language

    apply_language(lang)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
