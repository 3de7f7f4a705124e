"""Node and webhook URLs as messages, logs and JSON may show them: no credentials, query or provider keys.

Providers carry the API key in the URL (``https://host/v2/<KEY>``, ``?apikey=``) and nodes take
``user:password@``; everything that names a node (errors, logs, ``--json``, provenance) goes through
``public_url``. Both chain families' clients and the monitor use this one helper.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["public_url"]

# A path segment this long is a token (Infura, Alchemy, QuickNode and GetBlock keys are 32-40 characters).
_TOKEN_LEN = 20


def public_url(url: str) -> str:
    """``url`` without user:password, query string or long path tokens (provider API keys)."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a bad port is reported by the caller; never echo what follows the host
        port = None
    netloc = f"{host}:{port}" if port else host
    path = "/".join("***" if len(seg) >= _TOKEN_LEN else seg for seg in parts.path.split("/"))
    return f"{parts.scheme}://{netloc}{path}" + ("?***" if parts.query else "")
