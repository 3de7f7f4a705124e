"""A local anvil node (npm @foundry-rs/anvil, pinned in scripts/eth) on a free loopback port: start, wait, stop."""

from __future__ import annotations

import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import IO

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError

__all__ = ["AnvilNode", "anvil_binary"]

log = logging.getLogger(__name__)

_REPO = Path(__file__).resolve().parents[4]
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_START_TIMEOUT = 30.0


def anvil_binary() -> str:
    """The anvil to run: $CHAINTRAIL_ANVIL, else the repo's scripts/eth/node_modules one, else `anvil` on PATH."""
    env = os.environ.get("CHAINTRAIL_ANVIL")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise SourceError(f"CHAINTRAIL_ANVIL={env} is not an executable file "
                          "(unset it to use the anvil scripts/setup.sh installs)")
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    local = _REPO / "scripts" / "eth" / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("anvil")
    if found:
        return found
    raise SourceError("anvil not found: run scripts/setup.sh (it installs the pinned @foundry-rs/anvil into "
                      "scripts/eth/node_modules), put anvil on PATH, or set CHAINTRAIL_ANVIL")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM anvil's process group, SIGKILL it after ``grace`` seconds, and reap the process."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.wait()


def _tail(path: Path, lines: int = 3) -> str:
    """The last non-empty lines of anvil's log, joined into one line."""
    try:
        text = path.read_bytes()[-8192:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    last = [" ".join(line.split()) for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(last) if last else "(no output)"


class AnvilNode:
    """An anvil process on 127.0.0.1:<free port>; use ``with AnvilNode() as node: node.url``.

    ``load_state`` starts from a file anvil dumped; ``dump_state`` has anvil write one when it is stopped (with
    every block's state when ``preserve_history``). A loaded dump answers blocks, receipts and ``trace_block``
    for every block but state queries only at the tip unless it was dumped with history (see
    ``scenario/eth/journal.py`` for what anvil 1.7.1 keeps).
    """

    def __init__(self, *, chain_id: int = 31337, block_time: float | None = None, no_mining: bool = False,
                 extra_args: tuple[str, ...] = (), log_dir: str | None = None,
                 start_timeout: float = _START_TIMEOUT, load_state: str | os.PathLike[str] | None = None,
                 dump_state: str | os.PathLike[str] | None = None, preserve_history: bool = False):
        self.chain_id = chain_id
        self.load_state = load_state
        self.dump_state = dump_state
        self.preserve_history = preserve_history
        self.block_time = block_time
        self.no_mining = no_mining
        self.extra_args = tuple(extra_args)
        self.log_dir = log_dir
        self.start_timeout = start_timeout
        self.port = 0
        self.url = ""
        self.log_path: Path | None = None
        self._own_log = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    def args(self, port: int) -> list[str]:
        """anvil's command line for ``port``."""
        args = [anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(self.chain_id)]
        if self.no_mining:
            args.append("--no-mining")
        if self.block_time is not None:
            args += ["--block-time", f"{self.block_time:g}"]
        if self.load_state is not None:
            args += ["--load-state", str(self.load_state)]
        if self.dump_state is not None:
            args += ["--dump-state", str(self.dump_state)]
        if self.preserve_history:
            args.append("--preserve-historical-states")
        return args + list(self.extra_args)

    def start(self) -> AnvilNode:
        """Start anvil and wait until it answers eth_chainId; a port taken meanwhile is retried on another."""
        if self._proc is not None:
            return self
        for attempt in range(3):
            port = _free_port()
            args = self.args(port)
            log_file = self._open_log(port)
            try:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
            except OSError as exc:
                raise SourceError(f"cannot run anvil {args[0]}: {exc.strerror or exc}") from exc
            finally:
                log_file.close()
            self._proc, self.port, self.url = proc, port, f"http://127.0.0.1:{port}"
            self._finalizer = weakref.finalize(self, _kill_group, proc, 1.0)
            try:
                self._wait_ready()
                return self
            except SourceError:
                taken = "address already in use" in _tail(self.log_path, 20).lower() if self.log_path else False
                self._stop(remove_log=True)
                if not taken or attempt == 2:
                    raise
                log.info("anvil port %d was taken meanwhile; trying another", port)
        raise AssertionError("unreachable")

    def _open_log(self, port: int) -> IO[bytes]:
        if self.log_dir is not None:
            Path(self.log_dir).mkdir(parents=True, exist_ok=True)
            self.log_path, self._own_log = Path(self.log_dir) / f"anvil-{port}.log", False
        else:
            fd, name = tempfile.mkstemp(prefix=f"anvil-{port}-", suffix=".log")
            os.close(fd)
            self.log_path, self._own_log = Path(name), True
        return open(self.log_path, "wb")

    def _wait_ready(self) -> None:
        assert self._proc is not None and self.log_path is not None
        deadline = time.monotonic() + self.start_timeout
        with EthRpc(self.url, timeout=2.0, retries=0) as rpc:
            while True:
                code = self._proc.poll()
                if code is not None:
                    raise SourceError(f"anvil exited with code {code} before answering on {self.url}: "
                                      f"{_tail(self.log_path)}")
                try:
                    got = rpc.chain_id()
                except SourceError:
                    got = None
                if got is not None:
                    if got != self.chain_id:
                        raise SourceError(f"anvil on {self.url} answered chain id {got}, not {self.chain_id}")
                    return
                if time.monotonic() > deadline:
                    raise SourceError(f"anvil did not answer eth_chainId on {self.url} within "
                                      f"{self.start_timeout:g} s: {_tail(self.log_path)}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill anvil's process group and wait for it; the log file goes too unless it is in ``log_dir``."""
        self._stop(remove_log=True)

    def _stop(self, *, remove_log: bool) -> None:
        proc, self._proc = self._proc, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if proc is not None:
            _kill_group(proc, grace=600.0 if self.dump_state is not None else 5.0)  # anvil dumps on SIGTERM
        if remove_log and self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
