"""`chaintrail warm`: compile the demo's and the workbench's numba kernels into the on-disk cache (setup.sh runs it)."""

from __future__ import annotations

import typer

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors
from chaintrail.i18n import _


@one_line_errors
def warm(
    scale: float = typer.Option(1.0, "--scale", help="Size of the throw-away case, in thousands of transactions"),
    json_out: bool = JsonOption,
) -> None:
    """Compile the kernels the demo and the workbench use, so the first `chaintrail demo` starts in seconds."""
    from chaintrail.api.warm import warm_kernels

    if json_out:
        emit_json(warm_kernels(scale=scale))
        return
    with console.status(_("compiling kernels (once after install or update)…"), spinner="dots") as status:
        took = warm_kernels(scale=scale, progress=lambda msg: status.update(f"{msg}…"))
    console.print(_("kernels compiled and cached in {seconds:.1f} s").format(seconds=took["total_s"]), highlight=False)
