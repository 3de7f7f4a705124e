"""Hands raised and retracted alerts to their watches' webhooks and mail recipients, off the follower's path.

A small pool of threads delivers, so a slow or dead receiver never delays the next block. Every attempt is a
row in ``alert_deliveries`` (channel, destination, attempt, outcome, detail): the delivery log. A webhook is
signed with its watch's own secret (``webhook_secrets``); ``webhook_secret`` here (``$CHAINTRAIL_WEBHOOK_SECRET``)
only signs for watches added before watches had their own. A webhook whose host now resolves to an address
webhooks may not reach is logged ``refused`` and not tried again.
"""

from __future__ import annotations

import logging
import os
import smtplib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa

from chaintrail.cases import audit
from chaintrail.cases import schema as S
from chaintrail.cases.db import Database
from chaintrail.cases.hashing import loads
from chaintrail.cases.keys import SigningKeyError
from chaintrail.chains.urls import public_url
from chaintrail.monitor import mailer, webhook
from chaintrail.monitor.monitor import UpdateResult
from chaintrail.monitor.url_guard import Allow
from chaintrail.monitor.webhook_secrets import unseal, wrapping_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    webhook_secret: bytes = field(default=b"", repr=False)      # never in a log line or a traceback
    smtp: mailer.SmtpSettings | None = None
    attempts: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 5.0
    allow: Allow = field(default_factory=Allow.from_env)

    @staticmethod
    def secret_from_env() -> bytes:
        """The deployment-wide secret, for watches added before each watch had its own."""
        return os.environ.get("CHAINTRAIL_WEBHOOK_SECRET", "").encode()


class Dispatcher:
    """Delivers alerts on ``db`` with ``settings``; ``close()`` waits for deliveries under way."""

    def __init__(self, db: Database, settings: DeliverySettings, workers: int = 4):
        self.db = db
        self.settings = settings
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="alert-delivery")
        self._pending: list[Future] = []
        self._key: bytes | None = None

    def __call__(self, res: UpdateResult) -> None:
        self.submit(res.raised, "alert")
        self.submit(res.retracted, "retraction")

    def submit(self, alerts: list[dict], event: str) -> None:
        for a in alerts:
            notify = self._notify(int(a["watch_id"]))
            if notify.get("webhook"):
                self._pending.append(self._pool.submit(self._webhook, a, event, notify))
            if notify.get("email"):
                self._pending.append(self._pool.submit(self._email, a, event, notify["email"]))
        self._pending = [f for f in self._pending if not f.done()]

    def _notify(self, watch_id: int) -> dict:
        with self.db.read() as conn:
            r = conn.execute(sa.select(S.watches.c.notify, S.watches.c.case_id)
                             .where(S.watches.c.id == watch_id)).first()
        return ((loads(r.notify) or {}) | {"case_id": int(r.case_id)}) if r is not None else {}

    def _secret(self, notify: dict) -> bytes:
        """The watch's own secret, or the deployment's for a watch added before watches had their own."""
        if not notify.get("secret"):
            return self.settings.webhook_secret
        if self._key is None:
            self._key = wrapping_key(self.db.key_dir, create=False)
        return unseal(self._key, notify["secret"], notify["case_id"])

    def _log(self, alert_id: int, channel: str, dest: str, event: str, attempt: int, outcome: str,
             detail: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(sa.insert(S.alert_deliveries).values(
                alert_id=alert_id, channel=channel, destination=dest, event=event, attempt=attempt,
                outcome=outcome, detail=detail[:500], ts=audit.now()))

    def _webhook(self, alert: dict, event: str, notify: dict) -> None:
        s = self.settings
        url = notify["webhook"]
        body = webhook.body_of(event, alert)
        try:
            secret = self._secret(notify)
        except SigningKeyError as exc:
            self._log(int(alert["id"]), "webhook", url, event, 1, "gave_up", str(exc))
            return
        if not secret:
            self._log(int(alert["id"]), "webhook", url, event, 1, "gave_up",
                      "the watch has no webhook secret (added before per-watch secrets; set CHAINTRAIL_WEBHOOK_SECRET)")
            return

        def note(at: webhook.Attempt) -> None:
            last = not at.ok and at.attempt == s.attempts
            outcome = "refused" if at.refused else "delivered" if at.ok else ("gave_up" if last else "failed")
            self._log(int(alert["id"]), "webhook", url, event, at.attempt, outcome, at.detail)
        ok = webhook.post(url, body, secret, delivery_id=f"{alert['id']}-{event}", event=event,
                          timeout=s.timeout_s, attempts=s.attempts, backoff_s=s.backoff_s, allow=s.allow,
                          on_attempt=note)
        if not ok:
            log.warning("webhook %s gave up on alert %s after %d attempts", public_url(url), alert["id"], s.attempts)

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
