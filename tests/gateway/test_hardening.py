"""What an attacker or a careless client meets at a real gateway process: owner-only files,
no open documentation, a minimal open health answer, 415 for bodies that are not JSON,
deadlines for slow headers and bodies, and a quiet log when a client hangs up."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_harness import Chain, GatewayProcess

INVOICE_BODY = b'{"schema": "invoice.issued/v1", "id": "x", "record": {}}'


@pytest.fixture
def strict_gateway(
    chain: Chain, start_gateway: Callable[..., GatewayProcess], tmp_path: Path
) -> GatewayProcess:
    """A gateway with one-second header and body deadlines, its outbox in a new folder."""
    return start_gateway(
        chain,
        header_timeout=1.0,
        body_timeout=1.0,
        database=str(tmp_path / "private" / "outbox" / "outbox.db"),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outbox_and_key_files_are_owner_only(
    strict_gateway: GatewayProcess, tmp_path: Path
) -> None:
    outbox = tmp_path / "private" / "outbox" / "outbox.db"
    assert strict_gateway.post("/v1/records", content=INVOICE_BODY).status_code == 422
    assert _mode(outbox) == 0o600
    for companion in ("outbox.db-wal", "outbox.db-shm"):
        assert _mode(outbox.with_name(companion)) == 0o600, companion
    assert _mode(outbox.parent) == 0o700
    assert _mode(tmp_path / "private") == 0o700
    assert _mode(strict_gateway.config.parent / "api-keys.json") == 0o600


def test_documentation_needs_a_key_and_loads_nothing_from_outside(
    tax_gateway: GatewayProcess,
) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert tax_gateway.client.get(path).status_code == 404, path
    assert tax_gateway.client.get("/openapi.json").status_code == 401
    assert tax_gateway.get("/openapi.json", role="submit").status_code == 403
    spec = tax_gateway.get("/openapi.json", role="read")
    assert spec.status_code == 200
    assert spec.headers["content-type"] == "application/json"
    assert "http://" not in spec.text and "https://" not in spec.text


def test_health_without_a_key_is_the_status_only(tax_gateway: GatewayProcess) -> None:
    answer = tax_gateway.client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    wrong = tax_gateway.client.get("/healthz", headers={"Authorization": "Bearer tlk_wrong"})
    assert wrong.status_code == 401
    assert (
        tax_gateway.client.get("/healthz", headers=tax_gateway.headers("submit")).status_code == 403
    )
    assert tax_gateway.client.get("/metrics").status_code == 401
    assert tax_gateway.get("/metrics", role="read").status_code == 200


@pytest.mark.parametrize(
    ("content_type", "path"),
    [
        (None, "/v1/records"),
        ("text/plain", "/v1/records"),
        ("application/x-www-form-urlencoded", "/v1/records:bulk"),
        ("multipart/form-data; boundary=x", "/v1/records:bulk"),
        ("application/jsonp", "/v1/records/x/revoke"),
        # The exchange's routes, called without FastAPI's routing (gateway.app.GatewayApp).
        ("text/plain", "/v1/exchange/queries"),
        (None, "/v1/exchange/requests"),
    ],
)
def test_a_body_that_is_not_json_is_415(
    tax_gateway: GatewayProcess, content_type: str | None, path: str
) -> None:
    headers = tax_gateway.headers("all")
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = tax_gateway.client.post(path, headers=headers, content=INVOICE_BODY)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["problems"] == [
        {"path": "$", "rule": "content_type", "message": "expected application/json"}
    ]
    ok = tax_gateway.client.post(
        "/v1/records",
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
        content=INVOICE_BODY,
    )
    assert ok.status_code == 422  # past the media type: the record itself is checked


def _connect(gateway: GatewayProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_headers_that_never_arrive_get_408_and_a_closed_connection(
    strict_gateway: GatewayProcess,
) -> None:
    with _connect(strict_gateway) as silent:
        answer = _read_all(silent)  # the gateway closes it
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code":"request_timeout"' in answer
    with _connect(strict_gateway) as slow:
        slow.sendall(b"POST /v1/records HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # dribbled, each byte well within the keep-alive timeout
            time.sleep(0.4)
            slow.sendall(b"X")
        answer = _read_all(slow)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_that_stalls_gets_408(strict_gateway: GatewayProcess) -> None:
    key = strict_gateway.keys["all"]
    with _connect(strict_gateway) as sock:
        sock.sendall(
            b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 500\r\n\r\n{"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 1 s" in answer
    # The gateway still serves.
    assert strict_gateway.client.get("/healthz").json() == {"status": "ok"}


def test_a_client_hanging_up_mid_body_is_quiet(strict_gateway: GatewayProcess) -> None:
    key = strict_gateway.keys["all"]
    for path in (b"/v1/records", b"/v1/records:bulk"):
        with _connect(strict_gateway) as sock:
            sock.sendall(
                b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 100000\r\n\r\n"
                b'{"records": ['
            )
            time.sleep(0.2)
    time.sleep(0.5)
    assert strict_gateway.client.get("/healthz").json() == {"status": "ok"}
    log = strict_gateway.log.read_text()
    assert "Traceback" not in log
    assert "ERROR" not in log
    assert "unexpected error" not in log
