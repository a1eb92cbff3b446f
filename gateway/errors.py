"""Errors the API answers with, and the handlers that turn every failure into JSON.

Bad input is always a 4xx naming the field and the rule; only a fault of the gateway itself
is a 500, and then without a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.ingest import Problem, Rejection, parse_body, pydantic_problems

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer other than success, with a stable code and what to do."""

    def __init__(
        self, status: int, code: str, message: str, problems: tuple[Problem, ...] = ()
    ) -> None:
        super().__init__(message)
        self.rejection = Rejection(status, code, message, problems)

    @classmethod
    def of(cls, rejection: Rejection) -> ApiError:
        """The error for a refused record."""
        return cls(rejection.status, rejection.code, rejection.message, rejection.problems)


class BodyTooLarge(ApiError):
    """The request body is over the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "body_too_large",
            f"the request body is over {limit} bytes; split it into smaller requests",
            (("$", "max_body_bytes", f"at most {limit} bytes"),),
        )


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response serialised with orjson (the hot paths skip FastAPI's encoder)."""
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(rejection: Rejection, headers: Mapping[str, str] | None = None) -> Response:
    """The JSON answer for a refused request."""
    return json_response(rejection.status, {"error": rejection.body()}, headers)


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body; malformed JSON is a 400 saying where it broke."""
    parsed = parse_body(body)
    if type(parsed) is Rejection:
        raise ApiError.of(parsed)
    return parsed


class BodyTimeout(ApiError):
    """The request body did not arrive in time."""

    def __init__(self, timeout: float) -> None:
        super().__init__(
            408,
            "request_timeout",
            f"the request body did not arrive within {timeout:.0f} s; send it at once",
        )


def require_json(request: Request) -> None:
    """Refuse a body that is not declared ``application/json`` (415), before reading it."""
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the body must be JSON sent as `Content-Type: application/json`, not "
            f"{declared or 'without a Content-Type'}",
            (("$", "content_type", "expected application/json"),),
        )


class BodyGuard:
    """Refuse request bodies over ``limit`` bytes with a 413 before reading them whole, and
    bodies that take more than ``timeout`` seconds (waiting for the client, in all) with a
    408, so a slow client cannot hold a request open."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = error_response(BodyTooLarge(self.limit).rejection, {"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0
        waited = 0.0
        complete = False

        async def guarded() -> Message:
            nonlocal seen, waited, complete
            if complete:  # after the body, a receive() waits for the disconnect: no deadline
                return await receive()
            started = time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), self.timeout - waited)
            except TimeoutError:
                raise BodyTimeout(self.timeout) from None
            waited += time.monotonic() - started
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.rejection.status == 401 else None
    return error_response(exc.rejection, headers)


async def _request_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's locations start with where the value came from ("path", "query", "body").
    errors = [dict(e, loc=tuple(e["loc"])) for e in exc.errors()]
    problems = pydantic_problems(errors)  # type: ignore[arg-type]
    return error_response(
        Rejection(422, "invalid_request", "the request does not match the API", problems)
    )


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(Rejection(exc.status_code, code, str(exc.detail)), exc.headers)


async def _disconnected(request: Request, exc: Exception) -> Response:
    # The client hung up before its body arrived: nothing was accepted, nobody is left to
    # answer, and it is the client's doing, not the gateway's.
    assert isinstance(exc, ClientDisconnect)
    log.info("client %s hung up during %s %s", request.client, request.method, request.url.path)
    return error_response(
        Rejection(400, "client_disconnected", "the client hung up before its body arrived")
    )


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.error("unexpected error", exc_info=exc)
    return error_response(
        Rejection(500, "internal_error", "the gateway failed; see its log and try again")
    )


Handler = Callable[[Request, Exception], Awaitable[Response]]

#: What each failure is answered with, most specific first.
_HANDLERS: tuple[tuple[type[Exception], Handler], ...] = (
    (ApiError, _api_error),
    (RequestValidationError, _request_validation),
    (StarletteHTTPException, _http_error),
    (ClientDisconnect, _disconnected),
    (Exception, _unexpected),
)


def install_handlers(app: FastAPI) -> None:
    """Answer every error as ``{"error": {code, message, problems}}``."""
    for kind, handler in _HANDLERS:
        app.add_exception_handler(kind, handler)


async def answer_failure(request: Request, exc: Exception) -> Response:
    """The answer :func:`install_handlers` gives to ``exc``, for an endpoint called outside
    FastAPI's routing (:class:`gateway.app.GatewayApp`)."""
    for kind, handler in _HANDLERS:
        if isinstance(exc, kind):
            return await handler(request, exc)
    raise exc
