"""Shared CLI plumbing: the store option, JSON output, one-line errors and exit codes.

Exit codes (stable, scripts rely on them):
    0 success · 1 unexpected internal error · 2 bad input data (decode/validation)
    3 a source failed (node RPC, missing folder) · 4 store problem · 5 usage error
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from chaintrail.errors import ChaintrailError, DecodeError, SourceError, StoreError, UsageError
from chaintrail.i18n import _

err_console = Console(stderr=True)
console = Console()

EXIT_OK, EXIT_INTERNAL, EXIT_DATA, EXIT_SOURCE, EXIT_STORE, EXIT_USAGE = range(6)


def default_store() -> Path:
    return Path(os.environ.get("CHAINTRAIL_STORE") or "./chaintrail-store")


StoreOption = typer.Option(None, "--store", "-s", help="Chain store folder [default: $CHAINTRAIL_STORE or ./chaintrail-store]")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout")


def error_line(message: object) -> str:
    """One error line in the current language's words: ``error: <message>``."""
    return _("[red]error:[/red] {message}").format(message=message)


def store_path(value: Path | None) -> Path:
    return value if value is not None else default_store()


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, DecodeError):
        return EXIT_DATA
    if isinstance(exc, SourceError):
        return EXIT_SOURCE
    if isinstance(exc, StoreError):
        return EXIT_STORE
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    return EXIT_INTERNAL


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn chaintrail errors into one line on stderr and a stable exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ChaintrailError as exc:
            err_console.print(error_line(exc), highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            err_console.print(_("interrupted; committed batches are kept, rerun to continue"))
            raise typer.Exit(130) from None
        except (OSError, MemoryError) as exc:
            err_console.print(error_line(exc), highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def apply_language(lang: str | None) -> str:
    """Set the language of this run's messages (``--lang``, else ``$CHAINTRAIL_LANG``); a bad one exits 5."""
    from chaintrail.i18n import set_language
    from chaintrail.i18n.catalogs import _language, resolve_language

    try:
        if lang:
            return set_language(lang)
        # without --lang: follow $CHAINTRAIL_LANG, and let no earlier run's --lang (in this process) linger
        code = resolve_language(None)
        _language.set(None)
        return code
    except UsageError as exc:
        err_console.print(error_line(exc), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=False) + "\n")
