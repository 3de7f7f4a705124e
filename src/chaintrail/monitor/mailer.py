"""E-mail delivery over SMTP: one plain-text message per alert or retraction (in the follower's language)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage

from chaintrail.i18n import N_, _

STATUSES = (N_("active"), N_("retracted"))      # an alert's status, shown translated


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "chaintrail@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)      # never in a log line or a traceback
    timeout: float = 10.0

    @classmethod
    def parse(cls, hostport: str, **kw) -> "SmtpSettings":
        """``HOST[:PORT]`` (port 25 when left out)."""
        from chaintrail.errors import UsageError
        host, _sep, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "25")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(_("--smtp must be HOST[:PORT], not {value}").format(value=repr(hostport)))
        return cls(host, int(port), **kw)


def message(event: str, alert: dict, sender: str, to: list[str]) -> EmailMessage:
    """The message for one alert: a subject that says what moved, a body with every fact the alert holds."""
    subject = (_("[chaintrail RETRACTED] case {case}: {address} paid {amount} {asset} base units")
               if event == "retraction" else
               _("[chaintrail alert] case {case}: {address} paid {amount} {asset} base units"))
    if alert["direction"] != "out":
        subject = (_("[chaintrail RETRACTED] case {case}: {address} received {amount} {asset} base units")
                   if event == "retraction" else
                   _("[chaintrail alert] case {case}: {address} received {amount} {asset} base units"))
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = subject.format(case=alert["case_ref"], address=alert["address"], amount=alert["amount"],
                                  asset=alert["asset"])
    m["X-Chaintrail-Alert"] = str(alert["id"])
    rows = [(_("Case"), alert["case_ref"]), (_("Watch"), alert["watch_id"]), (_("Why"), alert["reason"]),
            (_("Chain"), alert["chain"]), (_("Transaction"), alert["tx_hash"]),
            (_("Block"), f"{alert['block_number']} {alert['block_hash']}"), (_("Address"), alert["address"]),
            (_("Counterparty"), alert.get("counterparty") or "-"),
            (_("Amount"), _("{amount} (base units of {asset})").format(amount=alert["amount"], asset=alert["asset"])),
            (_("Status"), _(alert["status"]))]
    lines = [f"{k}: {v}" for k, v in rows]
    if event == "retraction":
        lines.insert(0, _("This alert is withdrawn: {reason}.").format(reason=alert.get("retract_reason")) + "\n")
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
