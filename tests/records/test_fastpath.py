"""The validation fast path and the batch commit API agree with the reference code.

``validate`` first asks a per-schema "certainly valid?" predicate and only runs the full,
error-collecting checks when it says no. These tests hold the predicate to its contract on
generated records and on mutated ones: it never accepts a record the full checks refuse, it
accepts (nearly) every valid sample, and ``validate``/``problems`` give exactly what the full
checks give. They also check the batch commit API against the single-record one.
"""

from __future__ import annotations

import copy
import datetime
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_node import _fastpaths
from ledger_node.canonical import record_hash
from ledger_node.commitment import (
    CommittedRecord,
    commit_record,
    commit_records,
    commitment,
    leaf,
    validated_record_hash,
)
from ledger_node.errors import LedgerValueError, RecordValidationError
from ledger_node.records import amounts, clock, fields, identifiers, invoice, problems, validate
from ledger_node.records.fields import Problem
from ledger_node.records.identifiers import (
    USCC_ALPHABET,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    uscc_check_char,
)
from ledger_node.records.samples import generate
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import ValidatedRecord

from .conftest import _VALID

SCHEMA_NAMES = tuple(SCHEMAS)


class Text(str):
    """A str subclass: JSON never produces one, and the schema refuses it (``wrong_type``)."""


MOMENT = clock.now()


def fast(schema_name: str, record: object) -> bool:
    """The schema's fast predicate at :data:`MOMENT`."""
    return SCHEMAS[schema_name].fast(record, MOMENT)


def full_problems(schema_name: str, record: object) -> tuple[Problem, ...]:
    """What the reference (error-collecting) validator says, without the fast path."""
    out: list[Problem] = []
    SCHEMAS[schema_name].check(record, out, MOMENT)
    return tuple(out)


def assert_agrees(schema_name: str, record: Any) -> bool:
    """Check the fast path against the full checks for ``record``; return its validity."""
    expected = full_problems(schema_name, record)
    if fast(schema_name, record):
        assert expected == (), f"fast path accepted an invalid record: {expected}"
    assert problems(schema_name, record, MOMENT) == expected
    if expected:
        with pytest.raises(RecordValidationError) as caught:
            validate(schema_name, record, MOMENT)
        assert caught.value.problems == expected
    else:
        validated = validate(schema_name, record, MOMENT)
        assert validated.record is record and validated.schema is SCHEMAS[schema_name]
    return not expected


def _base_records() -> list[tuple[str, dict[str, Any]]]:
    records = [(key.split("#")[0], record) for key, record in _VALID.items()]
    for name in SCHEMA_NAMES:
        records += [(name, record) for record in generate(name, 60, seed=7)]
    return records


BASE = _base_records()


@pytest.mark.parametrize("schema_name", SCHEMA_NAMES)
def test_fast_path_accepts_valid_samples(schema_name: str) -> None:
    records = generate(schema_name, 400, seed=3)
    accepted = sum(fast(schema_name, record) for record in records)
    for record in records:
        assert full_problems(schema_name, record) == ()
    # Only rare shapes may take the slow path (a rating of level M with a score).
    assert accepted >= 0.98 * len(records)


#: Asset records the fast predicates leave to the full checks: a pre-digital blue invoice.
SLOW_ASSETS = {"invoice.issued/v2#red"}


def test_fast_path_accepts_the_asset_records() -> None:
    for key, record in _VALID.items():
        assert fast(key.split("#")[0], record) == (key not in SLOW_ASSETS), key
        assert full_problems(key.split("#")[0], record) == (), key


def _rule_cases() -> list[tuple[str, Any, str]]:
    from .test_rules_v2 import CASES as RULES_V2
    from .test_validation import CASES as RULES

    return [(key, mutation, rule) for key, mutation, _, rule in (*RULES, *RULES_V2)]


RULE_CASES = _rule_cases()


@pytest.mark.parametrize(
    ("key", "mutation", "rule"), RULE_CASES, ids=[f"{k}-{r}" for k, _, r in RULE_CASES]
)
def test_fast_path_refuses_every_rule_case(key: str, mutation: Any, rule: str) -> None:
    # Each record of the rule tests breaks one rule of its schema: the predicate must say no
    # and validate() give the full checks' problems.
    record = copy.deepcopy(_VALID[key])
    mutation(record)
    assert not fast(key.split("#")[0], record), rule
    assert not assert_agrees(key.split("#")[0], record)


# --- mutations -----------------------------------------------------------------------------

_TRICKY: tuple[object, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2025,
    datetime.date.today().year,
    datetime.date.today().year + 1,
    datetime.date.today().year + 2,
    2013,
    2014,
    12.5,
    1234.5,
    float("nan"),
    [],
    {},
    [1],
    {"x": 1},
    "",
    " ",
    "0",
    "-0",
    "-0.0",
    "-0.00",
    "0.00",
    "0.01",
    "-0.01",
    "1.00",
    "100",
    "1e3",
    "1_000.00",
    " 12.00",
    "12.00 ",
    "+12.00",
    "012.00",
    "12.0",
    "12.000",
    "１２.００",
    "١٢.٠٠",
    "0.13",
    "0.09",
    "0.06",
    "0",
    "exempt",
    "not_taxable",
    "0.5",
    "special",
    "ordinary",
    "uscc",
    "resident_id",
    "legacy",
    "active",
    "approved",
    "declined",
    "A",
    "M",
    "D",
    "CNY",
    "USD",
    "no_annual_report",
    "*软件*应用软件",
    "软件",
    "**",
    "*软件* ",
    "名称 ",
    " 名称",
    "名\x00称",
    "名\x85称",
    "名\u3000",
    "\ud800",
    "x" * 201,
    "*a*" + "b" * 198,
    "2026-02-29",
    "2024-02-29",
    "2026-13-01",
    "2026-01-01T10:00:00+08:00",
    "2026-01-01T24:00:00+08:00",
    "2026-01-01T10:00:00",
    "2026-01-01T10:00:00.5Z",
    "2026-01-01T10:00:00+24:00",
    "20260101",
    "2026-01-01T10:00:00.123456+23:59",
    "2026-01-01T10:00:00.1234567Z",
    "2026-01-01T10:00:00.Z",
    "2026-01-01T10:00:60Z",
    "2026-01-01T10:60:00Z",
    "2026-01-01T10:00:00+08:60",
    "2026-01-01T10:00:00-00:00",
    "2026-01-01 10:00:00+08:00",
    "0000-01-01T00:00:00Z",
    "2024-02-29T23:59:59Z",
    "2100-02-29T00:00:00Z",
    "2026-01-01t10:00:00z",
    "1234567890123456.1234567890123",
    "12345678901234567.5",
    "9999999999999999.99",
    "-9999999999999999.99",
    "99999999999999999.99",
    "0.0000000000001",
    "-0.000",
    "*a**b",
    "*a*",
    "*　a*b",
    "*a*　b",
    "*a* b",
    "*a *b ",
    " 名称",
    "名称 ",
    "A1:b_c.d-e",
    "P" * 64,
    "P" * 65,
    "*软件*",
    "_payment",
    "91310110666007217T",
    "91310110666007217t",
    "913101106660072170",
    "110105199001011234",
    "11010519900101123X",
    "110105199002301237",
    "123456789012345",
    "12345678901234567890",
    "1234567890123456789",
    "12345678901234567890123",
    Text("0.13"),
    Text("special"),
    Text("1.00"),
    # v2 and the new rules
    "none",
    "passport",
    "hkmo_permit",
    "general",
    "small_scale",
    "seller",
    "tax_bureau",
    "0.16",
    "0.17",
    "0.10",
    "0.11",
    "USD",
    "JPY",
    "2018-09-14",
    "2019-04-01",
    "2021-11-30",
    "2099-01-01",
    "2099-01-01T00:00:00+08:00",
    "2021-11-30T23:59:59+08:00",
    "2021-11-30T16:00:00Z",
    "44031800000000000123",
    "4403182130",
    "01234567",
    "26990000000000012345",
    "25310000000000012345",
    "9531011066600721XX",
    "913101106660072180",
    "990105194912310020",
    "110105189912310027",
    "0x" + "ab" * 32,
    {"number": "26310000000000012345", "issued_on": "2026-03-05"},
    {"code": "4403182130", "number": "01234567", "issued_on": "2018-09-14"},
    {"name": "顾客", "id_type": "none"},
    [{"invoice_number": "26310000000000012345", "amount": "1.00"}],
    # the low-volume schemas: periods, statuses, vouchers, purposes, schema lists, agencies
    "2026-03",
    "2026-Q1",
    "2019-03",
    "2019-04",
    "2019-Q1",
    "2026-Q5",
    "2026-00",
    "0000-01",
    "9999-12",
    "9999-Q4",
    "normal",
    "abnormal",
    "absconded",
    "deregistered",
    "credit-assessment",
    "tax-bureau",
    "bank",
    "2015-09-30",
    "2014-12-31T23:59:59+08:00",
    "2014-12-31T16:00:00Z",
    ["credit.tax-rating/v1"],
    ["credit.tax-rating/v1", "credit.tax-rating/v1"],
    ["credit.tax-rating/v1", "tax.status/v1"],
    ["credit.tax-rating/v9"],
    [Text("credit.tax-rating/v1")],
    [{"number": "26310000000000012345"}],
    [{"number": "26310000000000012345"}, {"number": "26310000000000012345"}],
    [{"code": "4403182130", "number": "01234567"}],
    [{"code": "4403182130", "number": "01234567"}, {"number": "01234567"}],
    {"rate": "0.13", "amount": "100.00", "tax": "13.00"},
    {"rate": "0", "amount": "100.00", "tax": "0.00"},
)
_ALPHABET = "0123456789-.XAIOZa *软\x00\u3000\ud800_"


def _tricky(data: st.DataObject) -> object:
    # A copy: a later mutation must not change the pool shared by all examples.
    return copy.deepcopy(data.draw(st.sampled_from(_TRICKY)))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node`` (dict keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, item in node.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _paths(item, (*prefix, index))
    return found


def _parent(record: Any, path: tuple[Any, ...]) -> Any:
    node = record
    for key in path[:-1]:
        node = node[key]
    return node


def _mutate(record: dict[str, Any], data: st.DataObject, base: list[Any]) -> None:
    paths = _paths(record)
    path = data.draw(st.sampled_from(paths))
    parent = _parent(record, path)
    last = path[-1]
    kind = data.draw(
        st.sampled_from(
            ["tricky", "char", "delete", "add", "copy", "swap", "negate", "digit", "subclass"]
        )
    )
    value = parent[last]
    if kind == "tricky":
        parent[last] = _tricky(data)
    elif kind == "char" and isinstance(value, str) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        parent[last] = value[:i] + data.draw(st.sampled_from(_ALPHABET)) + value[i + 1 :]
    elif kind == "digit" and isinstance(value, str) and any(c.isdigit() for c in value):
        digits = [i for i, c in enumerate(value) if c.isdigit()]
        i = data.draw(st.sampled_from(digits))
        parent[last] = (
            value[:i] + str((int(value[i]) + data.draw(st.integers(1, 9))) % 10) + (value[i + 1 :])
        )
    elif kind == "delete":
        del parent[last]
    elif kind == "add" and isinstance(parent, dict):
        key = data.draw(
            st.sampled_from(
                [
                    *("remarks", "red_of", "discount", "quantity", "unit_price", "score"),
                    *("extra", "abnormal_reason", "id_type", 1, "amount_cny"),
                    *("confirmation_number", "tax_id", "taxpayer_type", "code"),
                ]
            )
        )
        parent[key] = _tricky(data)
    elif kind == "add" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(data.draw(st.sampled_from(parent))))
    elif kind == "copy":
        # A value taken from elsewhere: plausible but possibly inconsistent.
        other = data.draw(st.sampled_from(base))
        other_paths = [p for p in _paths(other) if p[-1] == last] or _paths(other)
        source = data.draw(st.sampled_from(other_paths))
        parent[last] = copy.deepcopy(_parent(other, source)[source[-1]])
    elif kind == "swap" and isinstance(parent, list) and len(parent) > 1:
        j = data.draw(st.integers(0, len(parent) - 1))
        parent[last], parent[j] = parent[j], parent[last]
    elif kind == "negate" and isinstance(value, str) and value[:1].isdigit():
        parent[last] = "-" + value
    elif kind == "negate" and isinstance(value, str) and value.startswith("-"):
        parent[last] = value[1:]
    elif kind == "subclass" and isinstance(value, str):
        parent[last] = Text(value)
    elif kind == "subclass" and isinstance(value, dict):
        parent[last] = {Text(k): item for k, item in value.items()}
    else:
        parent[last] = _tricky(data)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_path_never_accepts_what_the_full_checks_refuse(data: st.DataObject) -> None:
    schema_name, original = data.draw(st.sampled_from(BASE))
    record = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        if not _paths(record):
            break
        _mutate(record, data, [r for n, r in BASE if n == schema_name])
    assert_agrees(schema_name, record)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SCHEMA_NAMES), st.integers(0, 2**32), st.integers(1, 20))
def test_generated_records_agree(schema_name: str, seed: int, count: int) -> None:
    for record in generate(schema_name, count, seed):
        assert assert_agrees(schema_name, record)


@pytest.mark.parametrize("schema_name", SCHEMA_NAMES)
def test_non_objects_agree(schema_name: str) -> None:
    for value in (None, [], "x", 1, Text("x"), [{}], {}):
        assert_agrees(schema_name, value)


def test_str_subclass_is_refused_with_the_full_error() -> None:
    record = copy.deepcopy(_VALID["invoice.issued/v1"])
    record["lines"][0]["rate"] = Text(record["lines"][0]["rate"])
    assert not fast("invoice.issued/v1", record)
    with pytest.raises(RecordValidationError) as caught:
        validate("invoice.issued/v1", record)
    assert caught.value.problems[0][:2] == ("lines[0].rate", "wrong_type")


# --- the fast identifier checks ------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(
    st.text(USCC_ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=10, max_size=10),
)
def test_uscc_checksum_by_integer_parsing(head: str, region: str, tail: str) -> None:
    body = head + region + tail[:9]
    for check in USCC_ALPHABET:
        code = body + check
        assert _fastpaths.uscc(code) == is_valid_uscc(code)


@settings(max_examples=1000, deadline=None)
@given(st.text(USCC_ALPHABET, min_size=17, max_size=17))
def test_compiled_uscc_check_with_right_check_characters(body: str) -> None:
    # Letters in the region code (positions 3-8) with a matching check character.
    code = body + uscc_check_char(body)
    assert _fastpaths.uscc(code) == is_valid_uscc(code)


@settings(max_examples=1000, deadline=None)
@given(st.text(USCC_ALPHABET + "IOSVZa软 -\x00", max_size=20))
def test_compiled_uscc_check_on_any_text(code: str) -> None:
    assert _fastpaths.uscc(code) == is_valid_uscc(code)
    assert not _fastpaths.uscc(Text(code))


@settings(max_examples=1000, deadline=None)
@given(
    st.dates(datetime.date(1900, 1, 1), datetime.date(2030, 12, 31)),
    st.integers(0, 999),
    st.text("0123456789X", min_size=0, max_size=20),
    st.booleans(),
)
def test_resident_id_by_integer_parsing(
    birth: datetime.date, sequence: int, noise: str, valid: bool
) -> None:
    code = make_resident_id("110105", birth, sequence) if valid else noise
    for candidate in (code, code[:17] + ("X" if code[-1:] != "X" else "0"), code[:-1]):
        assert _fastpaths.resident_id(candidate, MOMENT.seconds) == is_valid_resident_id(
            candidate, MOMENT.date
        )


@pytest.mark.parametrize(
    "code",
    [
        "110105000001011231",  # year 0
        "110105199002291234",  # not a leap year
        "110105200002291234",  # a leap year
        "110105190002291234",  # 1900: not a leap year
        "11010519900101123x",
        "010105199001011234",
        "１１0105199001011234",
        "",
    ],
)
def test_compiled_resident_id_edges(code: str) -> None:
    for candidate in [code, *(code[:17] + c for c in "0123456789X")] if code else [code]:
        assert _fastpaths.resident_id(candidate, MOMENT.seconds) == is_valid_resident_id(
            candidate, MOMENT.date
        ), candidate


def test_compiled_checks_restate_the_python_constants() -> None:
    assert {
        rate: (
            per_mille,
            rate in amounts.GENERAL_RATES,
            rate in amounts.SMALL_SCALE_RATES,
            rate not in amounts.NOT_ON_SPECIAL_INVOICES,
            tuple(
                (None if a is None else a.isoformat(), None if b is None else b.isoformat())
                for a, b in amounts.RATES_IN_FORCE.get(rate, ())
            ),
        )
        for rate, per_mille in amounts.RATE_PER_MILLE.items()
    } == _fastpaths.RATE_TABLE
    categories, provinces = _fastpaths.IDENTIFIER_TABLES
    assert categories == identifiers.USCC_CATEGORIES
    assert set(provinces) == identifiers.MAINLAND_PROVINCES == identifiers.INVOICE_REGIONS
    assert _fastpaths.MAX_LINES == invoice.MAX_LINES
    assert _fastpaths.MAX_NAME_LENGTH == fields.MAX_NAME_LENGTH
    assert _fastpaths.MAX_REMARKS_LENGTH == fields.MAX_REMARKS_LENGTH
    assert _fastpaths.USCC_ALPHABET == USCC_ALPHABET


def test_compiled_checks_take_anything() -> None:
    for value in (None, 1, b"91310110666007217T", ["x"], {"x": 1}, float("nan")):
        assert not _fastpaths.uscc(value)
        assert not _fastpaths.resident_id(value, MOMENT.seconds)
        for predicate in (_fastpaths.invoice_v1, _fastpaths.invoice_v2, _fastpaths.payment_v1):
            assert not predicate(value, MOMENT.seconds)
        assert not _fastpaths.payment_v2(value, MOMENT.seconds, frozenset({"USD"}))


# --- batch commits -------------------------------------------------------------------------


def _validated(count: int) -> list[ValidatedRecord]:
    rng = random.Random(5)
    records = [(name, r) for name in SCHEMA_NAMES for r in generate(name, count, seed=11)]
    rng.shuffle(records)
    return [validate(name, record) for name, record in records]


def _assert_consistent(committed: CommittedRecord) -> None:
    schema_id = committed.validated.schema.schema_id
    assert committed.record_hash == record_hash(committed.validated.record)
    assert committed.record_hash == validated_record_hash(committed.validated)
    assert committed.commitment == commitment(schema_id, committed.salt, committed.record_hash)
    assert committed.leaf == leaf(schema_id, committed.commitment)


def test_commit_records_equals_commit_record_with_the_same_salts() -> None:
    validated = _validated(20)
    salts = [random.Random(i).randbytes(32) for i in range(len(validated))]
    batch = commit_records(validated, salts)
    assert batch == [commit_record(item, salt) for item, salt in zip(validated, salts, strict=True)]
    for committed in batch:
        _assert_consistent(committed)


def test_commit_records_draws_fresh_salts() -> None:
    validated = _validated(20)
    batch = commit_records(validated)
    assert [c.validated for c in batch] == validated
    assert len({c.salt for c in batch}) == len(batch)
    for committed in batch:
        assert type(committed.salt) is bytes and len(committed.salt) == 32
        _assert_consistent(committed)
        assert commit_record(committed.validated, committed.salt) == committed
    assert commit_records([]) == []


def test_commit_records_checks_salts() -> None:
    validated = _validated(1)
    with pytest.raises(LedgerValueError):
        commit_records(validated, [bytes(32)])
    with pytest.raises(LedgerValueError):
        commit_records(validated[:1], [bytes(31)])


def test_commit_record_is_unchanged() -> None:
    validated = _validated(2)[0]
    salt = bytes(range(32))
    committed = commit_record(validated, salt)
    _assert_consistent(committed)
    assert committed == CommittedRecord(
        validated,
        salt,
        committed.record_hash,
        commitment(validated.schema.schema_id, salt, committed.record_hash),
        committed.leaf,
    )
    assert commit_record(validated, bytearray(salt)).commitment == committed.commitment
    with pytest.raises(LedgerValueError):
        commit_record(validated, bytes(31))
    _assert_consistent(commit_record(validated))


# --- systematic mutations ------------------------------------------------------------------
#
# Random mutations seldom break exactly one rule while keeping the rest consistent, which is
# where a lax fast path would hide. These apply every mutation of a family to every field of
# a set of varied records, and for amounts also "repair" the record afterwards (line tax and
# totals recomputed) so that only the rule under test can fail.


def _varied_records() -> list[tuple[str, dict[str, Any]]]:
    picks: list[tuple[str, dict[str, Any]]] = [
        (key.split("#")[0], record) for key, record in _VALID.items()
    ]
    wanted = {
        "invoice.issued/v1": [
            lambda r: any("discount" in line for line in r["lines"]),
            lambda r: "red_of" in r,
            lambda r: "red_of" in r and any("discount" in line for line in r["lines"]),
            lambda r: r["buyer"]["id_type"] == "resident_id",
            lambda r: r["buyer"]["id_type"] == "legacy",
            lambda r: "remarks" in r,
            lambda r: any(line["rate"] in ("0", "exempt") for line in r["lines"]),
            lambda r: any("." in line.get("quantity", "") for line in r["lines"]),
        ],
        "invoice.issued/v2": [
            lambda r: "red_of" in r,
            lambda r: r["seller"]["taxpayer_type"] == "small_scale",
            lambda r: r["buyer"]["id_type"] == "none",
            lambda r: r["issued_by"] == "tax_bureau",
            lambda r: any("discount" in line for line in r["lines"]),
        ],
        "payment.settled/v1": [lambda r: r["payer"]["id_type"] != "uscc", lambda r: True],
        "payment.settled/v2": [
            lambda r: len(r["settles"]) > 1,
            lambda r: r["currency"] != "CNY",
            lambda r: True,
        ],
        "credit.bank-decision/v2": [lambda r: r["decision"] == "approved"],
        "registration.status/v1": [lambda r: r["abnormal"], lambda r: not r["abnormal"]],
        "credit.tax-rating/v1": [lambda r: "score" in r, lambda r: r["level"] == "M"],
        "credit.bank-decision/v1": [
            lambda r: r["decision"] == "declined",
            lambda r: r["decision"] == "approved",
        ],
        "tax.status/v1": [
            lambda r: "abnormal_vouchers" not in r,
            lambda r: len(r.get("abnormal_vouchers", ())) > 1,
        ],
        "tax.declaration/v1": [
            lambda r: r["taxpayer_type"] == "small_scale",
            lambda r: len(r["sales"]) > 2,
            lambda r: r["period"][5] == "Q" and r["taxpayer_type"] == "general",
            lambda r: r["credit_carried_forward"] != "0.00",
        ],
        "consent.granted/v1": [lambda r: len(r["schemas"]) > 1, lambda r: True],
        "disclosure.made/v1": [lambda r: "consent" in r, lambda r: "consent" not in r],
    }
    for name, predicates in wanted.items():
        pool = generate(name, 400, seed=21)
        for predicate in predicates:
            match = next((r for r in pool if predicate(r)), None)
            if match is not None:
                picks.append((name, match))
    # Valid shapes the samples seldom take, made from an asset record.
    unconsented = copy.deepcopy(_VALID["disclosure.made/v1"])
    del unconsented["consent"]
    broad = copy.deepcopy(_VALID["consent.granted/v1"])
    broad["schemas"] = ["credit.tax-rating/v1", "tax.declaration/v1", "tax.status/v1"]
    legacy_voucher = copy.deepcopy(_VALID["tax.status/v1"])
    legacy_voucher["abnormal_vouchers"].append({"code": "4403182130", "number": "01234567"})
    for name, record in (
        ("disclosure.made/v1", unconsented),
        ("consent.granted/v1", broad),
        ("tax.status/v1", legacy_voucher),
    ):
        assert full_problems(name, record) == () and fast(name, record), name
        picks.append((name, record))
    return picks


VARIED = _varied_records()
_MONEY = re.compile(r"(?!-0\.00)-?(?:0|[1-9][0-9]{0,15})\.[0-9]{2}")


def _money_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _cents(text: str) -> int:
    return int(text.replace(".", ""))


def _repair(record: dict[str, Any], taxes: bool = True) -> None:
    """Recompute line taxes (if ``taxes``) and invoice totals from the lines."""
    lines = record.get("lines")
    if not isinstance(lines, list):
        return
    try:
        for line in lines:
            if taxes:
                line["tax"] = _money_text(
                    amounts.tax_cents(_cents(line["amount"]), amounts.RATE_PER_MILLE[line["rate"]])
                )
        amount = sum(_cents(line["amount"]) for line in lines)
        tax = sum(_cents(line["tax"]) for line in lines)
    except (KeyError, TypeError, ValueError, AttributeError):
        return
    record["total_amount"] = _money_text(amount)
    record["total_tax"] = _money_text(tax)
    record["total"] = _money_text(amount + tax)


def _variants(value: object, record: dict[str, Any]) -> list[object]:
    found: list[object] = []
    if isinstance(value, str):
        found += [Text(value), value + " ", value[:-1], "-" + value, value[1:]]
        if _MONEY.fullmatch(value):
            cents = _cents(value)
            found += [_money_text(cents + d) for d in (-100, -2, -1, 1, 2, 100)]
            found += [_money_text(-cents), _money_text(2 * cents), _money_text(cents // 2)]
        if len(value) in (15, 17, 18, 20):
            found += [value[:-1] + c for c in "0159AXY" if c != value[-1]]
        if value[-1:].isdigit():
            found += [value[:-1] + str((int(value[-1]) + d) % 10) for d in (1, 2)]
    # Values taken from the record's other fields: plausible, possibly inconsistent; for
    # amounts also their negations and one cent beyond (a discount exceeding its line).
    others = [item for item in _leaves(record) if item != value]
    found += others[:40]
    if isinstance(value, str) and _MONEY.fullmatch(value):
        for item in others:
            if isinstance(item, str) and _MONEY.fullmatch(item):
                cents = _cents(item)
                found += [_money_text(-cents), _money_text(-cents - 1), _money_text(cents + 1)]
    return found


def _leaves(node: Any) -> list[object]:
    if isinstance(node, dict):
        return [leaf for item in node.values() for leaf in _leaves(item)]
    if isinstance(node, list):
        return [leaf for item in node for leaf in _leaves(item)]
    return [node]


def _systematic(schema_name: str, original: dict[str, Any]) -> int:
    checked = 0
    for path in _paths(original):
        value = _parent(original, path)[path[-1]]
        candidates = [*_TRICKY, *_variants(value, original)]
        for candidate in candidates:
            for repair in ("no", "taxes", "totals") if path[0] == "lines" else ("no",):
                record = copy.deepcopy(original)
                _parent(record, path)[path[-1]] = copy.deepcopy(candidate)
                if repair != "no":
                    _repair(record, taxes=repair == "taxes")
                if fast(schema_name, record):
                    assert full_problems(schema_name, record) == (), (path, candidate, repair)
                checked += 1
        if isinstance(_parent(original, path), dict):
            record = copy.deepcopy(original)
            del _parent(record, path)[path[-1]]
            if fast(schema_name, record):
                assert full_problems(schema_name, record) == (), ("delete", path)
    return checked


@pytest.mark.parametrize("index", range(len(VARIED)))
def test_systematic_mutations(index: int) -> None:
    schema_name, original = VARIED[index]
    assert _systematic(schema_name, original) > 0
    # Structural ones: extra fields, lines removed, duplicated, swapped, made discounts.
    for key in (
        *("remarks", "red_of", "score", "abnormal_reason", "extra", "discount"),
        *("confirmation_number", "amount_cny", "abnormal_vouchers"),
    ):
        for value in (
            *("x", "ZZ", True, "12345678901234567890", 80, "unreachable"),
            *(
                "44031800000000000123",
                "1.00",
                {"number": "26310000000000012345", "issued_on": "2026-01-05"},
            ),
        ):
            record = copy.deepcopy(original)
            record[key] = value
            if fast(schema_name, record):
                assert full_problems(schema_name, record) == (), (key, value)
    # An extra field in every nested object (parties, lines, the basis rating).
    for path in [(), *_paths(original)]:
        record = copy.deepcopy(original)
        node = _parent(record, (*path, None))
        if isinstance(node, dict):
            node["extra"] = "x"
            if fast(schema_name, record):
                assert full_problems(schema_name, record) == (), ("extra", path)
    lines = original.get("lines")
    if isinstance(lines, list):
        for i in range(len(lines)):
            for change in ("drop", "dup", "swap", "discount", "undiscount"):
                record = copy.deepcopy(original)
                line = record["lines"][i]
                if change == "drop":
                    del record["lines"][i]
                elif change == "dup":
                    record["lines"].insert(i, copy.deepcopy(line))
                elif change == "swap" and i:
                    record["lines"][i - 1], record["lines"][i] = line, record["lines"][i - 1]
                elif change == "discount":
                    line["discount"] = True
                elif change == "undiscount":
                    line.pop("discount", None)
                for repair in (False, True):
                    if repair:
                        _repair(record)
                    if fast(schema_name, record):
                        assert full_problems(schema_name, record) == (), (change, i, repair)


@pytest.mark.parametrize("zero", ["-0", "-0.0", "-0.00", "0", "0.0"])
@pytest.mark.parametrize("field", ["quantity", "unit_price"])
def test_negative_zero_decimals(zero: str, field: str) -> None:
    # A zero quantity or price only fits an amount of 0.01 (|q·p − amount| ≤ 0.01): "-0"
    # must still be refused as a decimal, so build exactly that record.
    for key in ("invoice.issued/v1", "invoice.issued/v1#red"):
        record = copy.deepcopy(_VALID[key])
        sign = -1 if "red_of" in record else 1
        line = record["lines"][0]
        record["lines"] = [line]  # no discount line after it
        line[field] = zero
        line["amount"] = _money_text(sign)
        _repair(record)
        assert assert_agrees("invoice.issued/v1", record) == (zero[0] != "-")


@pytest.mark.parametrize("key", ["invoice.issued/v1", "invoice.issued/v1#red"])
@pytest.mark.parametrize("flip", ["quantity", "unit_price"])
def test_line_of_the_wrong_sign_with_a_matching_product(key: str, flip: str) -> None:
    # Quantity × price equals the amount, taxes and totals add up: only the sign rule fails.
    record = copy.deepcopy(_VALID[key])
    line = record["lines"][0]
    record["lines"] = [line]
    line[flip] = line[flip][1:] if line[flip].startswith("-") else "-" + line[flip]
    line["amount"] = _money_text(-_cents(line["amount"]))
    _repair(record)
    assert not assert_agrees("invoice.issued/v1", record)


@pytest.mark.parametrize(
    ("quantity", "unit_price", "amount", "valid"),
    [
        ("01", "1.00", "1.00", False),
        ("1", "01.50", "1.50", False),
        ("10000000000000000", "0.0000000000001", "1000.00", False),
        ("1000000000000000", "0.0000000000001", "100.00", True),
        ("1.00000000000000", "1.00", "1.00", False),
        ("1.0000000000000", "1.00", "1.00", True),
        ("+1", "1.00", "1.00", False),
        ("1.", "1.00", "1.00", False),
        (".5", "2.00", "1.00", False),
        ("2", "0.5", "1.00", True),
        # 43 digits in all: past the compiled check's exact range, decided by the full one.
        ("1234567890123456.1234567890123", "0.0000000000001", "123.46", True),
    ],
)
def test_decimal_spellings_with_a_matching_product(
    quantity: str, unit_price: str, amount: str, valid: bool
) -> None:
    # Quantity × price equals the amount, taxes and totals add up: only the spelling decides.
    record = copy.deepcopy(_VALID["invoice.issued/v1"])
    line = record["lines"][0]
    record["lines"] = [line]
    line.update(quantity=quantity, unit_price=unit_price, amount=amount)
    _repair(record)
    assert assert_agrees("invoice.issued/v1", record) == valid


# --- the compiled declaration check ---------------------------------------------------------
#
# Returns made to sit on the edges of the rules at once: periods around April 2019 and the
# acceptance date, filing on or just after a period's last day, rates of the wrong taxpayer
# type or out of force, repeated rates, taxes on zero-rate sales, balances that add up or miss
# by a cent, payable beside a credit carried forward. The compiled check must say exactly what
# the full checks say: it declines nothing valid of these shapes and accepts nothing invalid.

_SALES_USCC = _VALID["tax.declaration/v1"]["uscc"]


def _seldom(draw: st.DrawFn, usual: Any, *unusual: Any) -> Any:
    """``usual`` seven times in eight, else one of ``unusual``."""
    return usual if draw(st.integers(0, 7)) else draw(st.sampled_from(unusual))


@st.composite
def _edge_declarations(draw: st.DrawFn) -> dict[str, Any]:
    today = MOMENT.date
    year = draw(st.sampled_from([2019, 2020, 2023, today.year - 1, today.year]))
    year = _seldom(draw, year, 2018, today.year + 1)
    if draw(st.booleans()):
        first_month = draw(st.integers(1, 12))
        last_month, period = first_month, f"{year}-{first_month:02d}"
    else:
        quarter = draw(st.integers(1, 4))
        first_month, last_month, period = 3 * quarter - 2, 3 * quarter, f"{year}-Q{quarter}"
    next_month = datetime.date(year + last_month // 12, last_month % 12 + 1, 1)
    last_day = next_month - datetime.timedelta(days=1)
    filed = last_day + datetime.timedelta(days=_seldom(draw, draw(st.integers(1, 45)), -1, 0))
    filed = _seldom(draw, filed, today, today + datetime.timedelta(days=1))
    taxpayer_type = draw(st.sampled_from(["general", "small_scale"]))
    allowed = amounts.GENERAL_RATES if taxpayer_type == "general" else amounts.SMALL_SCALE_RATES
    usual = sorted(
        r for r in allowed if amounts.rate_in_force(r, datetime.date(year, first_month, 1))
    )
    rates = draw(st.lists(st.sampled_from(usual), min_size=1, max_size=4, unique=True))
    rates[0] = _seldom(draw, rates[0], *sorted(amounts.RATE_PER_MILLE))
    sales = []
    for rate in rates:
        amount = draw(st.integers(-(10**6), 10**9))
        tax = amounts.tax_cents(amount, amounts.RATE_PER_MILLE[rate]) + _seldom(draw, 0, 1, -1)
        sales.append({"rate": rate, "amount": _money_text(amount), "tax": _money_text(tax)})
    output = sum(_cents(s["tax"]) for s in sales) + _seldom(draw, 0, 1)
    small = taxpayer_type == "small_scale"
    input_tax = _seldom(draw, 0 if small else draw(st.sampled_from([0, 12345])), 1, -1)
    brought = _seldom(draw, 0 if small else draw(st.sampled_from([0, 500])), 1, -1)
    balance = output - input_tax - brought
    payable, carried = (balance, 0) if balance >= 0 else (0, -balance)
    payable += _seldom(draw, 0, 1, -1)
    carried += _seldom(draw, 0, 1)
    return {
        "uscc": _seldom(draw, _SALES_USCC, _SALES_USCC[:-1] + "0", "91440300MA5"),
        "period": _seldom(draw, period, f"{year}-13", f"{year}-Q5", "0000-01", "2019-3"),
        "taxpayer_type": taxpayer_type,
        "sales": sales,
        "output_tax": _money_text(output),
        "input_tax": _money_text(input_tax),
        "credit_brought_forward": _money_text(brought),
        "tax_payable": _money_text(payable),
        "credit_carried_forward": _money_text(carried),
        "filed_on": filed.isoformat(),
    }


@settings(max_examples=3000, deadline=None)
@given(_edge_declarations())
def test_compiled_declaration_check_equals_the_full_checks(record: dict[str, Any]) -> None:
    valid = full_problems("tax.declaration/v1", record) == ()
    assert _fastpaths.declaration_v1(record, MOMENT.seconds) == valid, full_problems(
        "tax.declaration/v1", record
    )
    assert_agrees("tax.declaration/v1", record)


def test_compiled_declaration_check_takes_anything() -> None:
    for value in (None, 1, "x", [], {}, {"sales": []}, Text("x")):
        assert not _fastpaths.declaration_v1(value, MOMENT.seconds)
    record = copy.deepcopy(_VALID["tax.declaration/v1"])
    assert _fastpaths.declaration_v1(record, MOMENT.seconds)
    for key in list(record):
        shorter = {k: v for k, v in record.items() if k != key}
        assert not _fastpaths.declaration_v1(shorter, MOMENT.seconds), key
        assert not _fastpaths.declaration_v1({**shorter, "extra": record[key]}, MOMENT.seconds)
    with pytest.raises(TypeError):
        _fastpaths.declaration_v1(record, "now")
