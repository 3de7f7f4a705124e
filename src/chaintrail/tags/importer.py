"""Finding and reading tag files: format detection, per-file errors, and parallel parsing.

Each file is read on its own: a bad file yields an error that names the file
and the line, and every other file still loads. Within a file, a bad row (a
CSV row that does not parse, an address its chain cannot have) is reported as
file:line and left out, and the file's good rows still load. Large imports are
parsed in worker processes (one per core), largest files first.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from chaintrail.errors import UsageError
from chaintrail.i18n import _, current_language, set_language
from chaintrail.tags.errors import TagFileError
from chaintrail.tags.model import FileResult
from chaintrail.tags.ofac import NAME as OFAC_NAME

FORMATS = ("auto", "tagpack", "actorpack", "yaml", "ofac", "csv")
_PARALLEL_BYTES = 8 << 20   # below this, worker start-up costs more than it saves


@dataclass(frozen=True)
class TagFile:
    path: Path
    kind: str            # yaml | ofac | csv
    asset: str | None = None


@dataclass
class Discovery:
    files: list[TagFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)    # files in folders that are not tag files
    missing: list[str] = field(default_factory=list)    # explicit paths that do not exist or are not tag files


def classify(path: Path) -> str | None:
    """yaml, ofac or csv by the file's name; None for anything else."""
    if OFAC_NAME.match(path.name):
        return "ofac"
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return None


def discover(paths, fmt: str = "auto", asset: str | None = None) -> Discovery:
    """Tag files under ``paths`` (files, or folders walked recursively, hidden folders skipped)."""
    if fmt not in FORMATS:
        raise UsageError(_("format must be one of {valid}, not {fmt}").format(valid=", ".join(FORMATS),
                                                                             fmt=repr(fmt)))
    forced = {"tagpack": "yaml", "actorpack": "yaml", "yaml": "yaml", "ofac": "ofac", "csv": "csv"}.get(fmt)
    out = Discovery()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    f = Path(root) / name
                    kind = classify(f)
                    if kind is None or (forced and kind != forced) or name.startswith("."):
                        out.skipped.append(str(f))
                    else:
                        out.files.append(TagFile(f.resolve(), kind, asset))
        elif p.is_file():
            kind = forced or classify(p)
            if kind is None:
                out.missing.append(f"{p}: not a tag file (TagPack .yaml, OFAC sanctioned_addresses_*.txt/.json "
                                   f"or .csv); pass --format to force one")
            else:
                out.files.append(TagFile(p.resolve(), kind, asset))
        else:
            out.missing.append(f"{p}: no such file or folder")
    seen: set[Path] = set()
    out.files = [f for f in out.files if not (f.path in seen or seen.add(f.path))]  # type: ignore[func-returns-value]
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_one(tf: TagFile, fmt: str = "auto") -> FileResult:
    """Parse one file; never raises for bad content (the result carries the error)."""
    path = str(tf.path)
    res = FileResult(path=path, kind=tf.kind)
    try:
        data = tf.path.read_bytes()
        res.sha256 = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise TagFileError(_("not UTF-8 text"), path, line) from None
        if tf.kind == "yaml":
            from chaintrail.tags.tagpack import read_yaml
            kind, table, res.warnings = read_yaml(text, path)
            if fmt in ("tagpack", "actorpack") and kind != fmt:
                raise TagFileError(_("expected a {fmt}, found a {kind}").format(fmt=fmt, kind=kind), path, 1)
            res.kind = kind
            if kind == "actorpack":
                res.actors = table
            else:
                res.tags = table
        elif tf.kind == "ofac":
            from chaintrail.tags.ofac import read_ofac
            res.tags = read_ofac(text, path, tf.asset)
        else:
            from chaintrail.tags.ethlabels import layout_of, read_label_set
            layout = layout_of(text)
            if layout is not None:      # a published Ethereum label set in its own columns (Tutela, Forta)
                res.tags, bad = read_label_set(text, path, layout)
                res.kind = f"labels:{layout}"
            else:
                from chaintrail.tags.csvtags import read_csv
                res.tags, res.warnings, bad = read_csv(text, path)
            res.bad_lines = [str(e) for e in bad]
        if res.tags is not None:
            _check_addresses(res)
    except TagFileError as exc:
        res.error = str(exc)
    except OSError as exc:
        res.error = f"{path}: cannot read ({exc.strerror or exc})"
    return res


def _check_addresses(res: FileResult) -> None:
    """Leave out tags whose address their chain cannot have, naming each line.

    An OFAC list is the authority's text, so an address it files under the wrong
    asset (the XBT list holds a TRON address) is kept, to be screened verbatim,
    with a warning; only text that is no address at all is left out.
    """
    from chaintrail.tags.validate import split_valid

    if res.kind == "ofac":
        good, bad = split_valid(res.tags, res.path, any_chain=True)
        res.warnings += [f"{e} (kept: the official list has it)" for e in split_valid(good, res.path)[1]]
    else:
        good, bad = split_valid(res.tags, res.path)
    res.tags = good
    res.bad_lines += [str(e) for e in bad]


def _read_star(args: tuple[TagFile, str]) -> FileResult:
    return read_one(*args)


def read_all(files: list[TagFile], fmt: str = "auto", workers: int = 1, progress=None) -> list[FileResult]:
    """Read every file; with ``workers`` > 1 and a large import, in worker processes. Results in input order.

    Workers are spawned, so a script that asks for them must guard its entry point
    with ``if __name__ == "__main__"`` (the ``chaintrail`` command does).
    """
    sizes = {f.path: (f.path.stat().st_size if f.path.exists() else 0) for f in files}
    results: dict[Path, FileResult] = {}
    if workers > 1 and len(files) > 1 and sum(sizes.values()) >= _PARALLEL_BYTES:
        order = sorted(files, key=lambda f: -sizes[f.path])
        # spawn: the parent may run numba threads, which fork would copy mid-flight.
        # Workers write their refusals in this run's language.
        with ProcessPoolExecutor(max_workers=min(workers, len(files)), mp_context=get_context("spawn"),
                                 initializer=set_language, initargs=(current_language(),)) as pool:
            for tf, res in zip(order, pool.map(_read_star, [(f, fmt) for f in order])):
                results[tf.path] = res
                if progress:
                    progress(res)
    else:
        for tf in files:
            results[tf.path] = read_one(tf, fmt)
            if progress:
                progress(results[tf.path])
    return [results[f.path] for f in files]
