"""Hands raised and retracted alerts to their watches' webhooks and mail recipients, off the follower's path.

A small pool of threads delivers, so a slow or dead receiver never delays the next block. Every attempt is a
row in ``alert_deliveries`` (channel, destination, attempt, outcome, detail): the delivery log.
"""

from __future__ import annotations

import logging
import os
import smtplib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa

from chaintrail.cases import audit
from chaintrail.cases import schema as S
from chaintrail.cases.db import Database
from chaintrail.cases.hashing import loads
from chaintrail.monitor import mailer, webhook
from chaintrail.monitor.monitor import UpdateResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    webhook_secret: bytes = b""
    smtp: mailer.SmtpSettings | None = None
    attempts: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 5.0

    @staticmethod
    def secret_from_env() -> bytes:
        return os.environ.get("CHAINTRAIL_WEBHOOK_SECRET", "").encode()


class Dispatcher:
    """Delivers alerts on ``db`` with ``settings``; ``close()`` waits for deliveries under way."""

    def __init__(self, db: Database, settings: DeliverySettings, workers: int = 4):
        self.db = db
        self.settings = settings
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="alert-delivery")
        self._pending: list[Future] = []

    def __call__(self, res: UpdateResult) -> None:
        self.submit(res.raised, "alert")
        self.submit(res.retracted, "retraction")

    def submit(self, alerts: list[dict], event: str) -> None:
        for a in alerts:
            notify = self._notify(int(a["watch_id"]))
            if notify.get("webhook"):
                self._pending.append(self._pool.submit(self._webhook, a, event, notify["webhook"]))
            if notify.get("email"):
                self._pending.append(self._pool.submit(self._email, a, event, notify["email"]))
        self._pending = [f for f in self._pending if not f.done()]

    def _notify(self, watch_id: int) -> dict:
        with self.db.read() as conn:
            r = conn.execute(sa.select(S.watches.c.notify).where(S.watches.c.id == watch_id)).first()
        return (loads(r.notify) or {}) if r is not None else {}

    def _log(self, alert_id: int, channel: str, dest: str, event: str, attempt: int, outcome: str,
             detail: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(sa.insert(S.alert_deliveries).values(
                alert_id=alert_id, channel=channel, destination=dest, event=event, attempt=attempt,
                outcome=outcome, detail=detail[:500], ts=audit.now()))

    def _webhook(self, alert: dict, event: str, url: str) -> None:
        s = self.settings
        body = webhook.body_of(event, alert)

        def note(at: webhook.Attempt) -> None:
            last = not at.ok and at.attempt == s.attempts
            self._log(int(alert["id"]), "webhook", url, event, at.attempt,
                      "delivered" if at.ok else ("gave_up" if last else "failed"), at.detail)
        ok = webhook.post(url, body, s.webhook_secret, delivery_id=f"{alert['id']}-{event}", event=event,
                          timeout=s.timeout_s, attempts=s.attempts, backoff_s=s.backoff_s, on_attempt=note)
        if not ok:
            log.warning("webhook %s gave up on alert %s after %d attempts", url, alert["id"], s.attempts)

    def _email(self, alert: dict, event: str, to: list[str]) -> None:
        s = self.settings
        dest = ", ".join(to)
        if s.smtp is None:
            self._log(int(alert["id"]), "email", dest, event, 1, "gave_up", "no SMTP server configured (--smtp)")
            return
        msg = mailer.message(event, alert, s.smtp.sender, to)
        wait = s.backoff_s
        for n in range(1, s.attempts + 1):
            try:
                mailer.send(s.smtp, msg)
                self._log(int(alert["id"]), "email", dest, event, n, "delivered", f"{s.smtp.host}:{s.smtp.port}")
                return
            except (OSError, smtplib.SMTPException) as exc:
                last = n == s.attempts
                self._log(int(alert["id"]), "email", dest, event, n, "gave_up" if last else "failed",
                          f"{type(exc).__name__}: {exc}")
            if n < s.attempts:
                time.sleep(wait)
                wait *= 2

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


def deliveries(db: Database, alert_id: int | None = None) -> list[dict]:
    """The delivery log (one alert's, or all), oldest first."""
    q = sa.select(S.alert_deliveries).order_by(S.alert_deliveries.c.id)
    if alert_id is not None:
        q = q.where(S.alert_deliveries.c.alert_id == alert_id)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
