"""A person's decisions from the viewer, and the guard that keeps other pages from making them.

The viewer writes to logs only here (``POST /api/runs/{id}/decision``: approve, reject,
request changes), so a web page elsewhere must not be able to drive it: the server binds
127.0.0.1 by default, checks ``Host`` (see :mod:`actors.viewer.app`), and every request
that is not a GET must carry the token printed when the server started (as Jupyter's) in
a cookie the token URL sets, with an ``Origin`` naming this very server. The decision is
recorded as ``agentlog approve --no-continue`` would; the run is continued by
``agentlog resume`` or by a ``run --wait`` already waiting on it.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from actors.approvals import DecisionRefused, decide, request_changes
from actors.viewer.continuing import Continuations
from events import to_dict

__all__ = ["COOKIE", "DecisionBody", "WriteGuard", "record_decision"]

#: The cookie that carries the token once the token URL was opened.
COOKIE = "agentlog_token"
_SAFE = ("GET", "HEAD")
_NO_TOKEN = "no valid token: open the URL `agentlog ui` printed (it ends in ?token=…)"


class DecisionBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the run page posts: the action, a comment, who, and what the person saw."""

    action: str
    comment: str = ""
    by: str = ""
    digest: str | None = None
    #: Continue the run once the decision is recorded (``agentlog resume`` in a child).
    proceed: bool = msgspec.field(default=False, name="continue")


def _refuse(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=403)


def _given_token(scope: Scope) -> str:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    cookie = SimpleCookie()
    cookie.load(headers.get("cookie", ""))
    morsel = cookie.get(COOKIE)
    return headers.get("x-agentlog-token") or (morsel.value if morsel is not None else "")


class WriteGuard:
    """Lets GETs through (a token URL sets the cookie and drops the token from the URL);
    refuses any other method without the token or from another origin (403). With
    ``private`` (a viewer bound where other machines reach it) a GET needs the token too."""

    def __init__(self, app: ASGIApp, token: str | None, private: bool = False) -> None:
        self.app = app
        self.token = token
        self.private = private

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if request.method in _SAFE:
            if offered is not None and self.token and hmac.compare_digest(offered, self.token):
                await self._remember(request)(scope, receive, send)
                return
            if self.private and not self._holds_token(scope):
                await _refuse(_NO_TOKEN)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        problem = self._problem(request, scope)
        if problem is not None:
            await _refuse(problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _holds_token(self, scope: Scope) -> bool:
        given = _given_token(scope)
        return bool(self.token and given and hmac.compare_digest(given, self.token))

    def _remember(self, request: Request) -> Response:
        rest = [(k, v) for k, v in parse_qsl(request.url.query) if k != "token"]
        target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        assert self.token is not None
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return response

    def _problem(self, request: Request, scope: Scope) -> str | None:
        if not self.token:
            return "this viewer is read-only (started without a token)"
        if not self._holds_token(scope):
            return _NO_TOKEN
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin is None or origin != f"{request.url.scheme}://{host}":
            return f"refused: the request comes from another origin ({origin or 'none'})"
        return None


#: The largest decision body the viewer reads (a comment of a few pages fits).
MAX_DECISION_BYTES = 64 * 1024


async def _bounded_body(request: Request) -> bytes | None:
    """The request's body, or None once it is longer than :data:`MAX_DECISION_BYTES`
    (read no further: a client cannot make the viewer hold an unbounded body)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_DECISION_BYTES:
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_DECISION_BYTES:
            return None
    return bytes(data)


async def record_decision(
    request: Request, run_dir: Path, continuations: Continuations
) -> Response:
    """``POST /api/runs/{id}/decision``: append the decision (409 when it is refused),
    then, when the body asks to ``continue``, continue the run in a child process."""
    data = await _bounded_body(request)
    if data is None:
        return JSONResponse(
            {"error": f"a decision is at most {MAX_DECISION_BYTES} bytes"}, status_code=413
        )
    try:
        body = msgspec.json.decode(data, type=DecisionBody)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return JSONResponse({"error": f"bad decision: {exc}"}, status_code=400)
    by = body.by.strip() or None

    def write() -> Any:
        if body.action == "approve":
            return decide(run_dir, "approved", by=by, comment=body.comment, digest=body.digest)
        if body.action == "reject":
            if not body.comment.strip():
                raise DecisionRefused("a rejection needs a comment saying why")
            return decide(run_dir, "rejected", by=by, comment=body.comment, digest=body.digest)
        if body.action == "request_changes":
            return request_changes(run_dir, body.comment, by=by)
        raise DecisionRefused(f"unknown action {body.action!r}: approve, reject, request_changes")

    try:
        event = await anyio.to_thread.run_sync(write)
    except DecisionRefused as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    continued = continuations.start(run_dir) if body.proceed else None
    return JSONResponse(
        {
            "recorded": to_dict(event),
            "next": f"agentlog resume {run_dir}",
            "continued": continued,
        }
    )
