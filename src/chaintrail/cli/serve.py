"""`chaintrail serve`: the REST API and the web workbench for one chain store."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from chaintrail.cli._common import StoreOption, console, one_line_errors, store_path
from chaintrail.errors import UsageError
from chaintrail.i18n import _

TokenOption = typer.Option(None, "--token", help="API token clients must send (visible to `ps`: prefer "
                                                 "--token-file or $CHAINTRAIL_TOKEN) [default: a fresh random one, "
                                                 "printed]")
TokenFileOption = typer.Option(None, "--token-file", help="Read the API token from this file (first line)")


def resolve_token(token: str | None, token_file: Path | None) -> str | None:
    """The API token from --token, --token-file or $CHAINTRAIL_TOKEN, checked; None for a fresh random one."""
    if token and token_file is not None:
        raise UsageError(_("give --token or --token-file, not both"))
    where = "--token"
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(_("cannot read token file {path}: {error}").format(
                path=token_file, error=getattr(exc, "strerror", None) or exc)) from None
        token, where = (lines[0].strip() if lines else ""), _("token file {path}").format(path=token_file)
        if not token:
            raise UsageError(_("{where} is empty").format(where=where))
    elif not token:
        token, where = os.environ.get("CHAINTRAIL_TOKEN") or None, "$CHAINTRAIL_TOKEN"
    from chaintrail.api.auth import check_token

    try:
        return check_token(token) if token else None
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _other_store(path: Path | None) -> Path | None:
    """--other-store checked: an existing chain store (its manifest), else a usage error naming it."""
    if path is None:
        return None
    if not (path / "MANIFEST.json").is_file():
        raise UsageError(_("--other-store {path} is not a chain store (no MANIFEST.json): ingest the bridge's other "
                           "chain there first (chaintrail ingest eth --store ...)").format(path=path))
    return path


@one_line_errors
def serve(
    store: Path = StoreOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)"),
    port: int = typer.Option(8765, "--port", help="TCP port (0: any free port)"),
    token: str | None = TokenOption,
    token_file: Path | None = TokenFileOption,
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
    trace_workers: int = typer.Option(None, "--trace-workers", help="Processes that run traces and screens, so they "
                                                                    "never hold up lookups (0: in the API process) "
                                                                    "[default: half the cores, 1 to 4]"),
    training: Path | None = typer.Option(None, "--training", help="A training folder (chaintrail training init): "
                                                                  "trainees solve its exercises in the workbench"),
    other_store: Path | None = typer.Option(None, "--other-store", help="eth: the store of the chain a bridge leads "
                                                                        "to; traces follow its crossings there"),
) -> None:
    """Serve the workbench: REST API (OpenAPI at /docs) and the fund-flow UI, behind a bearer token."""
    from chaintrail.api import create_app
    from chaintrail.api.server import bind, url_of
    from chaintrail.api.server import serve as run

    if not 0 <= port <= 65535:
        raise UsageError(_("port must be 0-65535"))
    token = resolve_token(token, token_file)
    from chaintrail.api.runner import default_workers

    if trace_workers is not None and not 0 <= trace_workers <= 64:
        raise UsageError(_("trace workers must be 0-64"))
    app = create_app(store_path(store), token=token,
                     trace_workers=default_workers() if trace_workers is None else trace_workers,
                     training_dir=training, other_store=_other_store(other_store))
    sock = bind(host, port)
    if host not in ("127.0.0.1", "::1", "localhost"):
        console.print(_("[yellow]listening on {host}: anyone who can reach it and has the token can read this "
                        "store[/yellow]").format(host=host), highlight=False)

    def ready() -> None:
        console.print(_("[bold green]chaintrail workbench[/bold green] on {url}").format(url=url_of(sock)))
        console.print(_("  open   {url}").format(url=url_of(sock, app.state.token)), soft_wrap=True)
        console.print(_("  token  {token}   (API: Authorization: Bearer <token>; docs at {url}docs)").format(
            token=app.state.token, url=url_of(sock)), soft_wrap=True)
        console.print(_("  Ctrl-C to stop"))

    run(app, sock, ready, log_level)
