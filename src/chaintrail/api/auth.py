"""Token authentication: every /api route needs ``Authorization: Bearer <token>``.

The token is a shared secret given to ``create_app`` (``chaintrail serve``
prints it, or reads ``$CHAINTRAIL_TOKEN``). It is checked by a pure-ASGI
gate in front of every /api path, before any routing or parsing, with a
constant-time comparison; the OpenAPI document declares the same scheme
(``HTTPBearer``). The static UI and the OpenAPI document hold no case data
and are served without it; the UI takes the token from the URL fragment
(never sent to the server) and sends it as the bearer header.
"""

from __future__ import annotations

import hmac
import json
import secrets

API_PREFIX = "/api/"
SCHEME = "HTTPBearer"
_MISSING = "missing token: send 'Authorization: Bearer <token>'"


def new_token() -> str:
    """A fresh random token (32 url-safe characters)."""
    return secrets.token_urlsafe(24)


def check_token(token: str) -> str:
    """Refuse tokens too short to be secret, or that an HTTP header cannot carry intact."""
    if len(token) < 16:
        raise ValueError("an API token must be at least 16 characters")
    if not all("!" <= c <= "~" for c in token):
        # Header values are bytes: a browser refuses other characters, other clients may send '?'s.
        raise ValueError("an API token must be printable ASCII without spaces (letters, digits, punctuation)")
    return token


def token_error(authorization: bytes | None, expected: str) -> str | None:
    """Why a request's Authorization header is refused, or None when it carries the token."""
    if not authorization:
        return _MISSING
    scheme, _, credentials = authorization.decode("latin-1").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return _MISSING
    # The header's own bytes against the token's UTF-8 bytes: no character is ever replaced by '?'.
    if not hmac.compare_digest(credentials.encode("latin-1"), expected.encode("utf-8")):
        return "wrong token"
    return None


class TokenGate:
    """Pure-ASGI middleware: 401 for any /api request without the app's bearer token."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            auth = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            why = token_error(auth, self.token)
            if why is not None:
                body = json.dumps({"error": why}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def declare_bearer(schema: dict) -> dict:
    """Add the bearer scheme to an OpenAPI document and require it on every /api operation."""
    comps = schema.setdefault("components", {})
    comps.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "The token `chaintrail serve` or `chaintrail demo` printed"}
    for path, ops in schema.get("paths", {}).items():
        if path.startswith(API_PREFIX):
            for op in ops.values():
                if isinstance(op, dict):
                    op["security"] = [{SCHEME: []}]
    return schema
