"""Dependencies of the routes: the gateway, and API keys with a role."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.apikeys import ApiKey, Role
from gateway.errors import ApiError
from gateway.service import Gateway

_bearer = HTTPBearer(auto_error=False, description="An API key from `taxledger gateway keys add`.")


# The dependencies are ``async`` although they never await: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop per request for a few microseconds of work.


async def get_gateway(request: Request) -> Gateway:
    """The gateway this app serves."""
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def _admit(gateway: Gateway, credentials: HTTPAuthorizationCredentials, role: Role) -> ApiKey:
    key = gateway.keys.authenticate(credentials.credentials)
    if key is None:
        raise ApiError(401, "unauthenticated", "unknown API key")
    if role not in key.roles:
        raise ApiError(
            403,
            "role_missing",
            f"API key {key.name!r} lacks the {role.value!r} role; its roles are "
            f"{', '.join(sorted(r.value for r in key.roles))}",
        )
    return key


def _require(
    gateway: Gateway, credentials: HTTPAuthorizationCredentials | None, role: Role
) -> ApiKey:
    if credentials is None:
        raise ApiError(401, "unauthenticated", "send an API key as `Authorization: Bearer <key>`")
    return _admit(gateway, credentials, role)


def require(
    role: Role,
) -> Callable[[Gateway, HTTPAuthorizationCredentials | None], Coroutine[Any, Any, ApiKey]]:
    """A dependency admitting API keys that hold ``role``."""

    async def check(gateway: GatewayDep, credentials: Credentials) -> ApiKey:
        return _require(gateway, credentials, role)

    return check


async def admitted(request: Request, role: Role) -> tuple[Gateway, ApiKey]:
    """The gateway and the request's API key holding ``role``: what ``GatewayDep`` and
    ``Depends(require(role))`` give a route, for the exchange's routes, which skip FastAPI's
    dependency solving (a tenth of a query's CPU time in a gateway)."""
    gateway = await get_gateway(request)
    return gateway, _require(gateway, await _bearer(request), role)


#: What a route that calls :func:`admitted` declares in its OpenAPI operation.
BEARER_SECURITY: dict[str, Any] = {"security": [{"HTTPBearer": []}]}


async def optional_reader(gateway: GatewayDep, credentials: Credentials) -> ApiKey | None:
    """No key: None (a route answers less); a key: it must hold the ``read`` role."""
    return None if credentials is None else _admit(gateway, credentials, Role.READ)


Submitter = Annotated[ApiKey, Depends(require(Role.SUBMIT))]
Reader = Annotated[ApiKey, Depends(require(Role.READ))]
Revoker = Annotated[ApiKey, Depends(require(Role.REVOKE))]
Querier = Annotated[ApiKey, Depends(require(Role.QUERY))]
Portal = Annotated[ApiKey, Depends(require(Role.PORTAL))]
MaybeReader = Annotated[ApiKey | None, Depends(optional_reader)]
