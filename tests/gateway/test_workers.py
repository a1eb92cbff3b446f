"""Bulk preparation in worker processes: the answers do not depend on where items were
checked, repeated ids inside one request are sorted out at commit, and a worker that dies
costs nothing but its replacement."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from gateway_harness import Chain, GatewayProcess, wait_for

from gateway.outbox.commit import CHUNK
from ledger_node.records import samples

INVOICE = "invoice.issued/v1"


def item(seed: int, record_id: str | None = None) -> dict[str, Any]:
    (record,) = samples.generate(INVOICE, 1, seed=seed)
    return {"schema": INVOICE, "id": record_id or f"w-{uuid.uuid4().hex}", "record": record}


def workers_of(gateway: GatewayProcess) -> list[int]:
    assert gateway.process is not None
    pid = gateway.process.pid
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _mixed_bulk(gateway: GatewayProcess) -> list[tuple[int, str | None]]:
    taken = item(seed=300)
    assert gateway.post("/v1/records", taken).status_code == 202
    again = item(seed=301)
    twin = item(seed=302, record_id=again["id"])
    broken = item(seed=303)
    broken["record"]["total"] = "0.01"
    items = [item(seed=304), taken, again, again, twin, broken, {"schema": INVOICE}]
    response = gateway.post("/v1/records:bulk", {"records": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 2, 3)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert results[1]["receipt"]["commitment"] != results[0]["receipt"]["commitment"]
    assert results[3]["receipt"] == results[2]["receipt"]  # the same record twice: one commit
    assert results[4]["error"]["problems"][0]["path"] == "records[4].id"
    return [(r["status"], (r.get("error") or {}).get("code")) for r in results]


@pytest.mark.parametrize("workers", [0, 2])
def test_bulk_answers_do_not_depend_on_the_workers(
    start_gateway: Callable[..., GatewayProcess], chain: Chain, workers: int
) -> None:
    gateway = start_gateway(chain, workers=workers)
    assert len(workers_of(gateway)) == workers
    assert _mixed_bulk(gateway) == [
        (202, None),
        (200, None),
        (202, None),
        (200, None),
        (409, "id_conflict"),
        (422, "invalid_record"),
        (422, "invalid_request"),
    ]


def test_a_dead_worker_is_replaced(
    start_gateway: Callable[..., GatewayProcess], chain: Chain
) -> None:
    gateway = start_gateway(chain, workers=1)
    (first,) = workers_of(gateway)
    os.kill(first, signal.SIGKILL)
    items = [item(seed=400 + i) for i in range(5)]
    response = gateway.post("/v1/records:bulk", {"records": items})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 5
    replaced = wait_for(lambda: [p for p in workers_of(gateway) if p != first] or None, 30,
                        "a new worker", 0.2)  # fmt: skip
    assert len(replaced) == 1
    again = gateway.post("/v1/records:bulk", {"records": [item(seed=410)]})
    assert again.json()["accepted"] == 1


def test_a_worker_dying_between_chunks_loses_and_doubles_nothing(
    start_gateway: Callable[..., GatewayProcess], chain: Chain
) -> None:
    """The worker sends the first chunk of a request and dies (an instrumented crash point):
    the gateway commits that chunk, checks the rest itself and answers every item once."""
    gateway = start_gateway(chain, workers=1, crash_at="worker-chunk-sent")
    (first,) = workers_of(gateway)
    count = CHUNK * 2 + 7
    items = [
        {"schema": INVOICE, "id": f"chunked-{i}", "record": record}
        for i, record in enumerate(samples.generate(INVOICE, count, seed=500))
    ]
    response = gateway.post("/v1/records:bulk", {"records": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (count, 0, 0)
    assert [(r["index"], r["id"], r["status"]) for r in body["results"]] == [
        (i, f"chunked-{i}", 202) for i in range(count)
    ]
    assert first not in workers_of(gateway)
    assert f"preparation worker {first} died" in gateway.log.read_text()
    counts = gateway.counts()
    assert sum(counts[s] for s in ("unbatched", "pending", "anchored", "final")) == count
    # Each record is stored as answered: the receipt read back is the one the answer gave.
    for i in (0, CHUNK - 1, CHUNK, count - 1):
        stored = gateway.get(f"/v1/records/chunked-{i}").json()
        assert stored["commitment"] == body["results"][i]["receipt"]["commitment"]
