"""Exercise-set builds as background jobs: one at a time per class, polled for state and progress.

Generating a set's chains and building their stores takes minutes, longer than a request should wait. A job
runs ``Classroom.create_set`` in a thread of the server on a connection of its own (the training database is
in WAL mode, so the app's connection keeps answering meanwhile) and records the classroom's progress messages,
translated into the language of the request that started it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaintrail.errors import ChaintrailError, UsageError
from chaintrail.i18n import _, use_language

log = logging.getLogger(__name__)
KEEP = 20                           # finished jobs remembered for polling


class JobBusy(UsageError):
    """A set is being built already (HTTP 409)."""


@dataclass
class SetJob:
    id: str
    set_name: str
    state: str = "queued"           # queued, running, done, failed
    progress: list[str] = field(default_factory=list)
    result: dict | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def to_dict(self) -> dict:
        out = {"id": self.id, "set": self.set_name, "state": self.state, "progress": list(self.progress),
               "message": self.progress[-1] if self.progress else None, "started": self.started,
               "finished": self.finished}
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out


class SetJobs:
    """The set builds of one training folder; ``start`` refuses while one runs."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._jobs: dict[str, SetJob] = {}
        self._running: SetJob | None = None

    def get(self, job_id: str) -> SetJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def building(self, name: str) -> bool:
        with self._lock:
            return self._running is not None and self._running.set_name == name

    def start(self, name: str, kinds: list[str], seed: int, level: str, lang: str | None) -> SetJob:
        """Start building set ``name`` (chains, stores, exercises) in a thread; JobBusy while another builds."""
        with self._lock:
            if self._running is not None:
                raise JobBusy(_("set {name} is being built: one build at a time (job {job})").format(
                    name=self._running.set_name, job=self._running.id))
            job = SetJob(secrets.token_hex(8), name)
            self._running = job
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.finished is not None]
            for old in sorted(done, key=lambda j: j.finished)[:max(0, len(done) - KEEP)]:
                del self._jobs[old.id]
        thread = threading.Thread(target=self._run, args=(job, kinds, seed, level, lang),
                                  name=f"set-build-{job.id}", daemon=True)
        thread.start()
        return job

    def _run(self, job: SetJob, kinds: list[str], seed: int, level: str, lang: str | None) -> None:
        from chaintrail.training import Classroom

        with use_language(lang):
            job.state = "running"
            try:
                with Classroom(self.folder) as room:
                    info = room.create_set(job.set_name, kinds, seed, level, True, progress=job.progress.append)
                    job.result = info | {"exercise_ids": room.exercise_ids(job.set_name)}
                job.progress.append(_("set {name} is ready").format(name=job.set_name))
                job.state = "done"
            except ChaintrailError as exc:
                job.error, job.state = str(exc), "failed"
            except Exception as exc:  # noqa: BLE001 - a job thread must record, not lose, what went wrong
                log.exception("building set %s failed", job.set_name)
                job.error = _("building set {name} failed: {error}").format(name=job.set_name, error=exc)
                job.state = "failed"
            finally:
                job.finished = time.time()
                with self._lock:
                    self._running = None
