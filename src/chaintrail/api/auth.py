"""Token authentication: every /api route needs ``Authorization: Bearer <token>``.

The token is a shared secret given to ``create_app`` (``chaintrail serve``
prints it, or reads ``$CHAINTRAIL_TOKEN``). Comparison is constant-time. The
static UI and the OpenAPI document hold no case data and are served without
it; the UI takes the token from the URL fragment (never sent to the server)
and sends it as the bearer header.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="The token `chaintrail serve` or `chaintrail demo` printed")


def new_token() -> str:
    """A fresh random token (32 url-safe characters)."""
    return secrets.token_urlsafe(24)


def check_token(token: str) -> str:
    """Refuse tokens too short to be secret."""
    if len(token) < 16:
        raise ValueError("an API token must be at least 16 characters")
    return token


async def require_token(request: Request,
                        creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """FastAPI dependency: 401 unless the bearer token matches the app's."""
    expected: str = request.app.state.token
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(401, "wrong token", headers={"WWW-Authenticate": "Bearer"})
