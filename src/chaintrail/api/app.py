"""The FastAPI application: REST API under /api/v1 (token required) and the workbench UI at /."""

from __future__ import annotations

import gc
import importlib
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from chaintrail import __version__
from chaintrail.api import errors
from chaintrail.api.auth import TokenGate, check_token, declare_bearer, new_token
from chaintrail.api.language import RequestLanguage
from chaintrail.api.live import LiveWorkbench
from chaintrail.api.routers import addresses, entities, eth, graph, meta, screen, search, tags, trace, training, transactions
from chaintrail.api.runner import Runner
from chaintrail.api.workbench import Limits

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parents[1] / "web"
API_PREFIX = "/api/v1"
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", (b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                  b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")),
]


class _Headers:
    """Pure-ASGI middleware: security headers on every response, no caching of API answers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_api = scope["path"].startswith(API_PREFIX)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + _SECURITY_HEADERS
                if is_api:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _warm_lookup(live: LiveWorkbench) -> None:
    """One address search, for its kernel's sake; best effort (a store without addresses has nothing to load)."""
    try:
        live.current().view.addr_num("1")
    except Exception:      # noqa: BLE001 - a warm-up failing only means the first lookup loads the kernel
        log.debug("lookup warm-up failed", exc_info=True)


def _optional_router(name: str):
    """A router module another part of the project may add later (e.g. cases); None while absent."""
    try:
        mod = importlib.import_module(f"chaintrail.api.routers.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"chaintrail.api.routers.{name}":
            return None
        raise
    return getattr(mod, "router", None)


def create_app(store_path: str | Path, token: str | None = None, *, case_info: dict | None = None,
               limits: Limits | None = None, web_dir: Path | None = None, trace_workers: int = 0,
               training_dir: str | Path | None = None, other_store: str | Path | None = None) -> FastAPI:
    """The workbench app for one chain store.

    ``token`` is the bearer secret every /api route requires (a random one if
    omitted; read it back from ``app.state.token``). ``case_info`` (title,
    guided steps, subject address) is shown by the UI, e.g. for the demo.
    ``trace_workers`` > 0 runs traces and screens in that many worker
    processes, so they never hold up lookups (see ``runner``). When an ingest
    grows the store, the app reopens it (see ``live``). ``other_store``: the
    store of the chain a bridge leads to; Ethereum traces and trace findings
    follow the bridge's crossings onto it (``analysis.eth.bridge_trace``).
    """
    token = check_token(token) if token is not None else new_token()
    live = LiveWorkbench(store_path, limits, other_store)
    wb = live.current()
    runner = Runner(live, store_path, trace_workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await anyio.to_thread.run_sync(runner.warm)
        # The address search's compiled kernel, loaded from numba's cache beside the first requests rather than
        # by the first lookup (~0.15 s on the 10M-tx chain), without holding up start-up.
        threading.Thread(target=_warm_lookup, args=(live,), daemon=True, name="chaintrail-warm-lookup").start()
        # Everything loaded so far lives as long as the app: keep the cyclic GC from rescanning it.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            runner.close()
            live.close()
            if app.state.training is not None:
                app.state.training.close()

    app = FastAPI(lifespan=lifespan, title="chaintrail workbench API", version=__version__,
                  description="Search, addresses, transactions, entities, fund-flow graph, tracing, screening and "
                              "tags over one chaintrail chain store. Every /api route needs `Authorization: Bearer "
                              "<token>`. Amounts are integer satoshis.")
    app.state.live = live
    app.state.wb = wb                   # the current workbench (``live`` replaces it after an ingest)
    live.on_swap = lambda new: setattr(app.state, "wb", new)
    app.state.runner = runner
    app.state.token = token
    app.state.case_info = case_info
    app.state.store_path = Path(store_path)
    app.state.other_store_path = Path(other_store) if other_store is not None else None
    errors.install(app)
    for mod in (meta, search, addresses, transactions, entities, graph, trace, screen, tags, eth):
        app.include_router(mod.router, prefix=API_PREFIX)
    cases = _optional_router("cases")
    if cases is not None:
        app.include_router(cases, prefix=API_PREFIX)
        app.include_router(importlib.import_module("chaintrail.api.routers.watch").router, prefix=API_PREFIX)
    account = _optional_router("account")
    if account is not None:
        app.include_router(account, prefix=API_PREFIX)
    app.state.training = None           # a class (training.Classroom); /training answers 404 without one
    if training_dir is not None:
        from chaintrail.training import Classroom

        app.state.training = Classroom(training_dir)
    app.include_router(training.router, prefix=API_PREFIX)
    app.state.features = {"cases": cases is not None, "tags": wb.tags.n_tags > 0, "eth": wb.eth.present,
                          "training": training_dir is not None}
    _mount_ui(app, web_dir or WEB_DIR)
    app.add_middleware(TokenGate, token=token)      # in front of everything under /api
    app.add_middleware(_Headers)
    app.add_middleware(RequestLanguage, prefix=API_PREFIX)   # ?lang= / Accept-Language: the reader's language
    _document_bearer(app)
    return app


def _document_bearer(app: FastAPI) -> None:
    """The OpenAPI document states the bearer scheme the gate enforces."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = declare_bearer(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mount_ui(app: FastAPI, web: Path) -> None:
    index = web / "index.html"
    vendor = web / "build" / "vendor"

    @app.get("/", include_in_schema=False)
    def ui():
        if not index.exists():
            return JSONResponse({"error": f"web UI not found in {web}"}, status_code=404)
        return FileResponse(index, headers={"cache-control": "no-cache"})

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return {"ok": True, "ui_vendor_built": vendor.is_dir()}

    if (web / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=web / "assets"), name="assets")
    if vendor.is_dir():
        app.mount("/vendor", StaticFiles(directory=vendor), name="vendor")
    else:
        log.warning("front-end libraries not built (%s missing): run scripts/setup.sh", vendor)
