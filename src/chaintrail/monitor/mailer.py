"""E-mail delivery over SMTP: one plain-text message per alert or retraction."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "chaintrail@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def parse(cls, hostport: str, **kw) -> "SmtpSettings":
        """``HOST[:PORT]`` (port 25 when left out)."""
        from chaintrail.errors import UsageError
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "25")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"--smtp must be HOST[:PORT], not {hostport!r}")
        return cls(host, int(port), **kw)


def message(event: str, alert: dict, sender: str, to: list[str]) -> EmailMessage:
    """The message for one alert: a subject that says what moved, a body with every fact the alert holds."""
    verb = "RETRACTED" if event == "retraction" else "alert"
    what = "paid" if alert["direction"] == "out" else "received"
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = (f"[chaintrail {verb}] case {alert['case_ref']}: {alert['address']} {what} "
                    f"{alert['amount']} {alert['asset']} base units")
    m["X-Chaintrail-Alert"] = str(alert["id"])
    lines = [f"Case: {alert['case_ref']}", f"Watch: {alert['watch_id']}", f"Why: {alert['reason']}",
             f"Chain: {alert['chain']}", f"Transaction: {alert['tx_hash']}",
             f"Block: {alert['block_number']} {alert['block_hash']}", f"Address: {alert['address']}",
             f"Counterparty: {alert.get('counterparty') or '-'}",
             f"Amount: {alert['amount']} (base units of {alert['asset']})", f"Status: {alert['status']}"]
    if event == "retraction":
        lines.insert(0, f"This alert is withdrawn: {alert.get('retract_reason')}.\n")
    m.set_content("\n".join(lines) + "\n")
    return m


def send(settings: SmtpSettings, msg: EmailMessage) -> None:
    """Send one message (raises OSError / smtplib.SMTPException on failure)."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as s:
        if settings.starttls:
            s.starttls()
        if settings.user:
            s.login(settings.user, settings.password or "")
        s.send_message(msg)
