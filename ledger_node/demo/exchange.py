"""The demo's exchange between agencies, through their gateways over loopback HTTP: the bank
reads a company's tax rating with its consent and gets it verified, and decides on it; the
same request without the consent is refused; the market regulator reads the payments to an
abnormal company; and the bank decides on another company citing a rating it never obtained,
which the audit must find."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger_node.demo.agencies import DemoError, GatewayHandle
from ledger_node.demo.scenario import DemoScenario, Planted, Submission
from ledger_node.records import schemas
from ledger_node.records.clock import CHINA_TIME

Echo = Callable[[str], None]


def _consented_ratings(scene: DemoScenario) -> list[tuple[str, str, str]]:
    """``(uscc, consent id, newest rating id)`` of the companies with a rating and a consent
    for the bank in force today, none of them revoked, tampered with or forged."""
    spoiled = {record_id for _, record_id, _ in scene.revocations} | {scene.tampered[1]}
    newest: dict[str, tuple[int, str]] = {}
    for s in scene.submissions:
        if s.schema == schemas.TAX_RATING:
            uscc, year = s.record["uscc"], s.record["year"]
            if s.record_id in spoiled:
                newest[uscc] = (10**4, "")  # a spoiled rating: leave the company out
            elif newest.get(uscc, (0, ""))[0] < year:
                newest[uscc] = (year, s.record_id)
    today = _today()
    found = []
    for s in scene.submissions:
        r = s.record
        rating = newest.get(r.get("taxpayer", ""), (0, ""))[1]
        if (
            s.schema == schemas.CONSENT_GRANTED
            and s.record_id not in spoiled
            and rating
            and r["grantee"] == "bank"
            and schemas.TAX_RATING in r["schemas"]
            and r["valid_from"] <= today <= r["valid_until"]
        ):
            found.append((r["taxpayer"], s.record_id, rating))
    if len(found) < 2:
        raise DemoError("the scenario has too few companies with a rating and a consent in force")
    return found


def _today() -> str:
    return datetime.datetime.now(CHINA_TIME).date().isoformat()


def _declined(uscc: str, rating: str, consent: str) -> dict[str, Any]:
    """A declined loan citing the rating and the consent facts (no risk indicator reads a
    declined loan)."""
    return {
        "uscc": uscc,
        "decision": "declined",
        "amount": "0.00",
        "decided_on": _today(),
        "rating": rating,
        "consent": consent,
    }


@dataclass
class ExchangeStory:
    """What the exchanges left: the disclosures made, the bank's decisions on them, and the
    problem planted among those decisions."""

    disclosed: list[tuple[str, str]] = field(default_factory=list)
    decisions: list[Submission] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)


def _abnormal_payee(scene: DemoScenario) -> str:
    """A company on the abnormal-operations list that was paid for an invoice."""
    abnormal = {
        s.record["uscc"]
        for s in scene.submissions
        if s.schema == schemas.REGISTRATION_STATUS and s.record.get("abnormal")
    }
    for s in scene.submissions:
        if s.schema in schemas.PAYMENT_SCHEMAS and s.record["payee"]["tax_id"] in abnormal:
            return str(s.record["payee"]["tax_id"])
    raise DemoError("the scenario has no payment to an abnormal company")


def _ask(gateway: GatewayHandle, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = gateway.client.post(
        "/v1/exchange/queries", json=body, headers={"Authorization": f"Bearer {gateway.api_key}"}
    )
    answer: dict[str, Any] = response.json()
    return response.status_code, answer


def _verified(who: str, status: int, answer: dict[str, Any]) -> dict[str, Any]:
    if status != 200 or not answer["facts"] or answer["failed"]:
        raise DemoError(f"the {who} did not get verified facts: {status} {str(answer)[:400]}")
    return answer


def exchange_story(
    scene: DemoScenario, gateways: dict[str, GatewayHandle], echo: Echo
) -> ExchangeStory:
    """Run the exchanges and submit the bank's decisions (not yet anchored)."""
    story = ExchangeStory()
    tax = gateways["tax-bureau"]
    (uscc, consent_id, _), (other, other_consent_id, other_rating_id), *_ = _consented_ratings(
        scene
    )
    consent = tax.record(consent_id)["commitment"]
    rating = {
        "provider": "tax-bureau",
        "taxpayer": uscc,
        "schemas": [schemas.TAX_RATING],
        "purpose": "credit-assessment",
    }
    answer = _verified("bank", *_ask(gateways["bank"], {**rating, "consent": consent}))
    facts = sorted(answer["facts"], key=lambda f: f["record"]["year"])
    levels = ", ".join(f"{f['record']['year']}: {f['record']['level']}" for f in facts)
    echo(
        f"exchange: the bank read {uscc}'s tax ratings ({levels}) from the tax bureau with its "
        f"consent {consent_id}, every fact verified; disclosure {answer['disclosure_id']}"
    )
    story.disclosed.append(("tax-bureau", str(answer["disclosure_id"])))
    decided = _declined(uscc, facts[-1]["commitment"], consent)
    story.decisions.append(Submission("bank", f"DEC-X-{uscc}", schemas.BANK_DECISION_V2, decided))
    status, refused = _ask(gateways["bank"], rating)
    code = refused.get("error", {}).get("code")
    if (status, code) != (403, "consent_missing"):
        raise DemoError(f"the request without consent was not refused: {status} {refused}")
    echo(f"exchange: the same request without the consent was refused: {status} {code}")
    payee = _abnormal_payee(scene)
    payments = {
        "provider": "bank",
        "taxpayer": payee,
        "schemas": [schemas.PAYMENT_SETTLED, schemas.PAYMENT_SETTLED_V2],
        "purpose": "market-supervision",
    }
    answer = _verified("market regulator", *_ask(gateways["market-regulator"], payments))
    echo(
        f"exchange: the market regulator read the {len(answer['facts'])} payment(s) to the "
        f"abnormal company {payee} from the bank, verified; disclosure {answer['disclosure_id']}"
    )
    story.disclosed.append(("bank", str(answer["disclosure_id"])))
    # A decision citing a genuine rating and consent, without ever asking for the rating.
    unasked = _declined(
        other,
        tax.record(other_rating_id)["commitment"],
        tax.record(other_consent_id)["commitment"],
    )
    story.decisions.append(Submission("bank", f"DEC-X-{other}", schemas.BANK_DECISION_V2, unasked))
    story.planted.append(
        Planted(
            "decision_rating_not_obtained",
            f"{other} {unasked['decided_on']}",
            "a loan decision on a rating the bank never obtained through the exchange",
        )
    )
    gateways["bank"].submit(story.decisions, lambda _: None)
    echo(f"the bank decided on {uscc} with the rating it obtained, and on {other} without")
    return story
