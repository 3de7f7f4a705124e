"""The error a tag file raises: names the file and the line, so the CLI can print one line that says where."""

from __future__ import annotations

from chaintrail.errors import DecodeError


class TagFileError(DecodeError):
    """A tag file (TagPack, ActorPack, OFAC list, CSV) that cannot be read; ``line`` is 1-based."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None):
        self.line = line
        super().__init__(message, source, None)

    def _render(self) -> str:
        where = str(self.source) if self.source is not None else ""
        if self.line is not None:
            where += f":{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.reason}" if where else self.reason

    def at(self, source: str | None = None, offset_base: int = 0) -> "TagFileError":
        return TagFileError(self.reason, source if source is not None else self.source, self.line)
