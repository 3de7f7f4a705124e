"""The reader's language per request: ``?lang=``, else the ``Accept-Language`` header, else the server's default.

Every route then answers in it: refusals (``{"error": …}``), the report, briefs, feedback and lessons. An
unknown ``?lang=`` is refused (400) with the languages there are; an ``Accept-Language`` naming none of them
falls back to the server's default (``$CHAINTRAIL_LANG``, else English), as HTTP content negotiation does.
The chosen language is echoed in ``Content-Language`` on /api answers.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from chaintrail.errors import UsageError
from chaintrail.i18n import _, available_languages, current_language, negotiate, resolve_language, use_language


def request_language(scope) -> str | None:
    """The language the request asks for: ``?lang=`` wins over ``Accept-Language``; None: the default."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("lang") and query["lang"][0]:
        return query["lang"][0]
    for key, value in scope.get("headers", []):
        if key == b"accept-language":
            return negotiate(value.decode("latin-1"))
    return None


class RequestLanguage:
    """Pure-ASGI middleware: translate everything a request answers into the reader's language."""

    def __init__(self, app, prefix: str = "/api"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        lang = request_language(scope)
        try:
            code = resolve_language(lang) if lang else current_language()
        except UsageError:
            body = json.dumps({"error": _("lang: unknown language {lang!r} (available: {langs})").format(
                lang=lang[:20], langs=", ".join(available_languages()))}).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        is_api = scope["path"].startswith(self.prefix)

        async def send_with_language(message):
            if is_api and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-language", code.encode())]
            await send(message)

        with use_language(code):
            await self.app(scope, receive, send_with_language)

