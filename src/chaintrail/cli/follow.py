"""`chaintrail follow`: a service that ingests each new block from a node, evaluates watches, delivers alerts."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.cli.case import DbOption, _dsn
from chaintrail.errors import UsageError
from chaintrail.i18n import _


@one_line_errors
def follow(
    rpc: str = typer.Option(..., "--rpc", help="Node JSON-RPC URL (Bitcoin Core, or an Ethereum node)"),
    chain: str = typer.Option("btc", "--chain", help="btc or eth"),
    rpc_cookie: Path = typer.Option(None, "--rpc-cookie", help="Bitcoin Core .cookie file for RPC auth"),
    poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at the node's head"),
    stop_after: float = typer.Option(None, "--stop-after", help="Stop after this many seconds"),
    retry_max: float = typer.Option(30.0, "--retry-max", help="Longest wait between retries of a failed node"),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for one RPC answer"),
    smtp: str = typer.Option(None, "--smtp", help="SMTP server HOST[:PORT] for e-mail alerts"),
    mail_from: str = typer.Option("chaintrail@localhost", "--mail-from", help="Sender of e-mail alerts"),
    smtp_starttls: bool = typer.Option(False, "--smtp-starttls", help="Upgrade the SMTP connection with STARTTLS"),
    smtp_user: str = typer.Option(None, "--smtp-user", envvar="CHAINTRAIL_SMTP_USER"),
    smtp_password: str = typer.Option(None, "--smtp-password", envvar="CHAINTRAIL_SMTP_PASSWORD"),
    attempts: int = typer.Option(5, "--delivery-attempts", help="Tries per webhook or e-mail before giving up"),
    webhook_allow: str = typer.Option(None, "--webhook-allow", envvar="CHAINTRAIL_WEBHOOK_ALLOW",
                                      help="Networks and host names (comma-separated) webhooks may reach although "
                                           "private or loopback, for receivers inside the agency"),
    db: str = DbOption, store: Path = StoreOption, json_out: bool = JsonOption,
) -> None:
    """Follow a node: ingest each block (rolling back on reorgs), evaluate every watch, record and deliver alerts.

    Webhooks are signed with their watch's own secret (HMAC-SHA256 of the body, header X-Chaintrail-Signature);
    $CHAINTRAIL_WEBHOOK_SECRET signs only for watches added before watches had their own.
    """
    from chaintrail.cases.db import Database, redact_dsn
    from chaintrail.monitor.delivery import DeliverySettings, Dispatcher
    from chaintrail.monitor.follow import Follower
    from chaintrail.monitor.mailer import SmtpSettings

    if chain not in ("btc", "eth"):
        raise UsageError(_("--chain must be btc or eth, not {value}").format(value=repr(chain)))
    if poll <= 0 or attempts < 1:
        raise UsageError(_("--poll must be positive and --delivery-attempts at least 1"))
    mail = SmtpSettings.parse(smtp, sender=mail_from, starttls=smtp_starttls, user=smtp_user,
                              password=smtp_password) if smtp else None
    from chaintrail.monitor.url_guard import Allow
    settings = DeliverySettings(os.environ.get("CHAINTRAIL_WEBHOOK_SECRET", "").encode(), mail, attempts,
                                allow=Allow.parse(webhook_allow))
    where = _dsn(db, store)
    db_ = Database.open(where)
    dispatch = Dispatcher(db_, settings)

    def report(res) -> None:
        dispatch(res)
        if not json_out:
            for a in res.raised:
                console.print(_("alert {id} [{ref}] {reason}: {amount} {asset} in {tx} (block {block})").format(
                    id=a["id"], ref=a["case_ref"], reason=a["reason"], amount=a["amount"], asset=a["asset"],
                    tx=a["tx_hash"], block=a["block_number"]), markup=False, highlight=False)
            for a in res.retracted:
                console.print(_("alert {id} [{ref}] retracted: {reason}").format(
                    id=a["id"], ref=a["case_ref"], reason=a["retract_reason"]), style="yellow", markup=False)

    f = Follower(store_path(store), rpc, chain, db_, poll_s=poll, timeout=timeout, retry_max_s=retry_max,
                 cookie=str(rpc_cookie) if rpc_cookie else None, on_update=report)
    signal.signal(signal.SIGTERM, lambda *_: f.stop())
    if not json_out:
        console.print(_("following {chain} node; alerts go to {db} (Ctrl-C to stop)").format(
            chain=chain, db=redact_dsn(where) if "://" in where else where), markup=False)   # no password
    try:
        stats = f.run(stop_after=stop_after)
    except KeyboardInterrupt:
        f.stop()
        stats = f.stats
    finally:
        dispatch.close()
        db_.close()
    if json_out:
        emit_json(stats.as_dict())
    else:
        console.print(_("followed {blocks} block(s): {raised} alert(s) raised, {retracted} retracted, "
                        "{errors} node error(s)").format(blocks=stats.blocks, raised=stats.raised,
                                                         retracted=stats.retracted, errors=stats.node_errors))
