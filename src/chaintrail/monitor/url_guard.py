"""Where a webhook may point: investigator-supplied URLs must not reach the server's own network.

A webhook URL is refused when any address its host resolves to is loopback, link-local, private, shared
(carrier-grade NAT), multicast, reserved, unspecified, or a cloud metadata address (169.254.169.254,
fd00:ec2::254, 100.100.100.200) -- unless the operator allowed it: ``$CHAINTRAIL_WEBHOOK_ALLOW`` (or
``chaintrail follow --webhook-allow``) lists networks (``10.1.2.0/24``, ``127.0.0.1``) and host names that may
receive webhooks, for receivers inside the agency. The check runs when a watch is added and again before each
delivery, and the delivery connects to the very addresses it checked, so a name that resolves elsewhere later
(DNS rebinding) cannot redirect a POST inside.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from chaintrail.errors import UsageError
from chaintrail.i18n import _

ALLOW_ENV = "CHAINTRAIL_WEBHOOK_ALLOW"
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(UsageError):
    """A webhook URL points somewhere webhooks may not go."""


@dataclass(frozen=True)
class Allow:
    """The operator's exceptions: networks and exact host names that may receive webhooks."""

    nets: tuple = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str | None) -> "Allow":
        nets, hosts = [], set()
        for item in (text or "").replace(";", ",").split(","):
            item = item.strip()
            if not item:
                continue
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                if not all(c.isalnum() or c in ".-" for c in item):
                    raise UsageError(_("webhook allowlist entry {entry!r} is neither a network nor a host "
                                       "name").format(entry=item[:80])) from None
                hosts.add(item.lower().rstrip("."))
        return cls(tuple(nets), frozenset(hosts))

    @classmethod
    def from_env(cls) -> "Allow":
        return cls.parse(os.environ.get(ALLOW_ENV))

    def allows(self, host: str, ip: IP) -> bool:
        return host.lower().rstrip(".") in self.hosts or any(ip in n for n in self.nets if n.version == ip.version)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    return sorted({str(i[4][0]) for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def why_not(ip: IP) -> str | None:
    """Why webhooks may not go to ``ip`` (None when it is a public address)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return why_not(ip.ipv4_mapped)
    if ip in METADATA:
        return _("a cloud metadata address")
    if ip.is_loopback:
        return _("a loopback address")
    if ip.is_link_local:
        return _("a link-local address")
    if ip.is_multicast:
        return _("a multicast address")
    if ip.is_unspecified or ip.is_reserved:
        return _("a reserved address")
    if ip.is_private or not ip.is_global:
        return _("a private address")
    return None


def checked_addresses(url: str, allow: Allow, resolver: Resolver = system_resolver) -> tuple[str, int, list[str]]:
    """(host, port, addresses) of a webhook URL whose every address may receive webhooks; else WebhookRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(_("webhook {url!r} is not an http(s) URL").format(url=url[:80]))
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused(_("webhook {url!r} has a bad port").format(url=url[:80])) from None
    try:
        addrs = [host] if _literal(host) else resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(_("webhook host {host} does not resolve ({error})").format(host=host, error=exc)) from None
    if not addrs:
        raise WebhookRefused(_("webhook host {host} does not resolve").format(host=host))
    for a in addrs:
        ip = ipaddress.ip_address(a.split("%", 1)[0])
        why = why_not(ip)
        if why is not None and not allow.allows(host, ip):
            raise WebhookRefused(_("webhook {url!r} refused: {host} is {address}, {why} (an operator may allow it "
                                   "with ${env})").format(url=url[:80], host=host, address=a, why=why, env=ALLOW_ENV))
    return host, port, addrs


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
