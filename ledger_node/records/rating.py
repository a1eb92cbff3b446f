"""``credit.tax-rating/v1``: the tax bureau attests a taxpayer's tax credit rating for a year.

Levels and score bands: A ≥ 90, B 70–89, M (new or no-revenue enterprises, no band),
C 40–69, D < 40 (纳税信用管理办法（试行）, 国家税务总局公告2014年第40号, and 公告2018年第8号
for M). A rating for year Y exists only from its publication in April of Y+1.
"""

from __future__ import annotations

import operator
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records.clock import Moment, rating_published_on

V1: Final = "credit.tax-rating/v1"

#: First year of tax credit ratings in their current form (the 2014 rating measures).
FIRST_RATING_YEAR: Final = 2014
LEVELS: Final = ("A", "B", "M", "C", "D")
#: Score band of each level, inclusive; M has none.
SCORE_BANDS: Final = {"A": (90, 100), "B": (70, 89), "C": (40, 69), "D": (0, 39)}
_REQUIRED = frozenset({"uscc", "year", "level"})
_OPTIONAL = frozenset({"score"})


def rating_year(
    obj: dict[str, Any], prefix: str, key: str, out: f.Out, moment: Moment
) -> int | None:
    """A rating year from :data:`FIRST_RATING_YEAR` to the latest published one."""
    year = f.integer(obj, prefix, key, out)
    if year is None:
        return None
    if year < FIRST_RATING_YEAR:
        out.append((f.at(prefix, key), "year_range", f"{year} is before {FIRST_RATING_YEAR}"))
        return None
    if year > moment.rating_year:
        out.append(
            (
                f.at(prefix, key),
                "rating_not_published",
                f"the {year} ratings are published in April {year + 1} "
                f"({rating_published_on(year).isoformat()}); the latest published year is "
                f"{moment.rating_year}",
            )
        )
        return None
    return year


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``credit.tax-rating/v1`` record."""
    if not f.fields(record, "", _REQUIRED, _OPTIONAL, out):
        return
    assert type(record) is dict
    f.uscc(record, "", "uscc", out)
    rating_year(record, "", "year", out, moment)
    level = f.choice(record, "", "level", LEVELS, out)
    if "score" not in record:
        return
    score = f.integer(record, "", "score", out)
    if score is None:
        return
    if not 0 <= score <= 100:
        out.append(("score", "score_range", f"must be 0..100, got {score}"))
    elif level in SCORE_BANDS:
        low, high = SCORE_BANDS[level]
        if not low <= score <= high:
            out.append(
                (
                    "score",
                    "score_band",
                    f"level {level} needs a score in {low}..{high}, got {score}",
                )
            )


_LEVELS: Final = frozenset(LEVELS)
_GET = operator.itemgetter("uscc", "year", "level")
_uscc_ok = _fastpaths.uscc


def fast_v1(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    if type(r) is not dict:
        return False
    try:
        uscc, year, level = _GET(r)
    except KeyError:
        return False
    has_score = "score" in r
    if len(r) != 3 + has_score:
        return False
    if (
        type(year) is not int
        or type(level) is not str
        or not FIRST_RATING_YEAR <= year <= moment.rating_year
        or level not in _LEVELS
        or not _uscc_ok(uscc)
    ):
        return False
    if has_score:
        score = r["score"]
        if type(score) is not int or level == "M":
            return False
        low, high = SCORE_BANDS[level]
        if not low <= score <= high:
            return False
    return True
