"""Talking to the agencies' gateways over their HTTP API, wherever they run: in this process
(the embedded demo) or as processes of a local testnet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ledger_node.demo.scenario import Submission
from ledger_node.errors import Error

#: Records per bulk request: well under the gateway's 10,000 limit.
CHUNK = 1000


class DemoError(Error):
    """The demo could not complete a step."""


@dataclass
class GatewayHandle:
    """One agency's gateway: an HTTP client already pointed at it, and its API key."""

    name: str
    client: httpx.Client
    api_key: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, headers=self._headers(), **kwargs)
        if response.status_code >= 400:
            raise DemoError(
                f"{self.name} gateway answered {response.status_code} to {method} {path}: "
                f"{response.text[:500]}"
            )
        return response

    def submit(self, items: Sequence[Submission], progress: Callable[[int], None]) -> None:
        """Bulk-submit records; every item must be accepted."""
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            body = {
                "records": [
                    {"schema": s.schema, "id": s.record_id, "record": s.record} for s in chunk
                ]
            }
            results = self._call("POST", "/v1/records:bulk", json=body).json()["results"]
            refused = [r for r in results if r.get("status") not in (200, 202)]
            if refused:
                raise DemoError(
                    f"{self.name} gateway refused {len(refused)} record(s): {refused[:3]}"
                )
            progress(len(chunk))

    def counts(self) -> dict[str, int]:
        records: dict[str, int] = self._call("GET", "/healthz").json()["records"]
        return records

    def record(self, record_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = self._call("GET", f"/v1/records/{record_id}").json()
        return doc

    def proof(self, record_id: str) -> bytes:
        return self._call("GET", f"/v1/records/{record_id}/proof").content

    def revoke(self, record_id: str, reason: str) -> None:
        self._call("POST", f"/v1/records/{record_id}/revoke", json={"reason": reason})

    def wait_final(self, total: int, timeout: float, tick: Callable[[], None]) -> None:
        """Wait until ``total`` records are final (``tick`` runs between polls)."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            if counts.get("final", 0) >= total and not counts.get("unbatched"):
                return
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{self.name} gateway: records not final in {timeout:.0f} s: {counts}"
                )
            tick()
            time.sleep(0.2)

    def wait_status(
        self, record_id: str, status: str, timeout: float, tick: Callable[[], None]
    ) -> None:
        deadline = time.monotonic() + timeout
        while self.record(record_id).get("status") != status:
            if time.monotonic() > deadline:
                raise DemoError(f"{self.name}: record {record_id} not {status} in {timeout:.0f} s")
            tick()
            time.sleep(0.2)


@contextmanager
def remote_gateways(gateways: dict[str, dict[str, str]]) -> Iterator[dict[str, GatewayHandle]]:
    """Handles on gateways running as processes: ``{name: {"url": ..., "api_key": ...}}``."""
    with ExitStack() as stack:
        handles = {}
        for name, entry in gateways.items():
            client = stack.enter_context(httpx.Client(base_url=entry["url"], timeout=60))
            handles[name] = GatewayHandle(name, client, entry["api_key"])
        yield handles


def write_bundle(out_dir: Path, agency: str, record_id: str, raw: bytes) -> Path:
    """Save a proof bundle as ``out_dir/agency/record_id.json``."""
    path = out_dir / agency / f"{record_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return path
