"""`chaintrail serve`: the REST API and the web workbench for one chain store."""

from __future__ import annotations

from pathlib import Path

import typer

from chaintrail.cli._common import StoreOption, console, one_line_errors, store_path
from chaintrail.errors import UsageError


@one_line_errors
def serve(
    store: Path = StoreOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)"),
    port: int = typer.Option(8765, "--port", help="TCP port (0: any free port)"),
    token: str = typer.Option(None, "--token", envvar="CHAINTRAIL_TOKEN",
                              help="API token clients must send [default: a fresh random one, printed]"),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
    trace_workers: int = typer.Option(None, "--trace-workers", help="Processes that run traces and screens, so they "
                                                                    "never hold up lookups (0: in the API process) "
                                                                    "[default: half the cores, 1 to 4]"),
) -> None:
    """Serve the workbench: REST API (OpenAPI at /docs) and the fund-flow UI, behind a bearer token."""
    from chaintrail.api import create_app
    from chaintrail.api.auth import check_token
    from chaintrail.api.server import bind, url_of
    from chaintrail.api.server import serve as run

    if not 0 <= port <= 65535:
        raise UsageError("port must be 0-65535")
    try:
        token = check_token(token) if token else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from chaintrail.api.runner import default_workers

    if trace_workers is not None and not 0 <= trace_workers <= 64:
        raise UsageError("trace workers must be 0-64")
    app = create_app(store_path(store), token=token,
                     trace_workers=default_workers() if trace_workers is None else trace_workers)
    sock = bind(host, port)
    if host not in ("127.0.0.1", "::1", "localhost"):
        console.print(f"[yellow]listening on {host}: anyone who can reach it and has the token can read this store[/yellow]")

    def ready() -> None:
        console.print(f"[bold green]chaintrail workbench[/bold green] on {url_of(sock)}")
        console.print(f"  open   {url_of(sock, app.state.token)}", soft_wrap=True)
        console.print(f"  token  {app.state.token}   (API: Authorization: Bearer <token>; docs at {url_of(sock)}docs)", soft_wrap=True)
        console.print("  Ctrl-C to stop")

    run(app, sock, ready, log_level)
