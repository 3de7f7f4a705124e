"""Progress bars for long CLI work: rate and ETA on a terminal, and nothing at all otherwise.

A bar is drawn only when stdout is a terminal and ``--json`` was not given:
piped or redirected output, and every ``--json`` output, stay exactly what the
command prints (rich would otherwise leave a blank line where its live display was).
"""

from __future__ import annotations

from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn, TransferSpeedColumn)
from rich.text import Text

from chaintrail.cli._common import console


class RateColumn(ProgressColumn):
    """Items per second, in the bar's unit (``12,345 txs/s``)."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


def shows_progress(json_out: bool) -> bool:
    """Whether a live display may be drawn: on a terminal, and never with ``--json``."""
    return not json_out and console.is_terminal


def progress_bar(json_out: bool, unit: str = "items", *, in_bytes: bool = False) -> Progress:
    """A transient bar with done/total, rate and ETA (bytes: sizes and MB/s); disabled off a terminal or with --json."""
    if in_bytes:
        counts: tuple[ProgressColumn, ...] = (DownloadColumn(), TransferSpeedColumn())
    else:
        counts = (MofNCompleteColumn(), RateColumn(unit))
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), *counts,
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
                    disable=not shows_progress(json_out))
