"""The moment a record is accepted, and the time rules that depend on it.

No fact may be dated after the moment it is accepted: a record's date-times, dates and the
birth date inside a resident ID number are compared with :class:`Moment`, the acceptance
time plus :data:`CLOCK_SKEW` (an agency's clock may run a little ahead of the gateway's).
Dates are calendar days in China Standard Time (UTC+8), where every agency of the ledger
keeps its books.

A tax credit rating for year Y exists only from its publication: the tax authorities
determine the previous year's ratings every April (纳税信用管理办法（试行）, 国家税务总局公告
2014年第40号, art. 23), so a rating for Y is citable from 1 April of Y+1.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Final

#: How far ahead of the acceptance time a fact may be dated (clock skew between systems).
CLOCK_SKEW: Final = datetime.timedelta(minutes=5)
#: China Standard Time, in which dates are calendar days.
CHINA_TIME: Final = datetime.timezone(datetime.timedelta(hours=8))
#: Month (of the following year) in which a year's tax credit ratings are published.
RATING_PUBLICATION_MONTH: Final = 4


@dataclass(frozen=True, slots=True)
class Moment:
    """The latest instant a fact accepted now may carry, in the forms the checks compare.

    ``seconds``: POSIX seconds of acceptance + skew; ``date``: that instant's calendar date in
    China Standard Time; ``rating_year``: the latest year whose tax ratings are published.
    """

    seconds: int
    date: datetime.date
    rating_year: int

    @property
    def date_text(self) -> str:
        """:attr:`date` as ``YYYY-MM-DD``, comparable with record dates as strings."""
        return self.date.isoformat()


def rating_published_on(year: int) -> datetime.date:
    """The first day a tax credit rating for ``year`` may be cited: 1 April of ``year + 1``."""
    return datetime.date(year + 1, RATING_PUBLICATION_MONTH, 1)


def moment_at(accepted: datetime.datetime) -> Moment:
    """The :class:`Moment` of a record accepted at ``accepted`` (a timezone-aware time)."""
    if accepted.tzinfo is None:
        raise ValueError("the acceptance time must carry a timezone")
    latest = accepted + CLOCK_SKEW
    day = latest.astimezone(CHINA_TIME).date()
    published = day.year - 1 if day >= rating_published_on(day.year - 1) else day.year - 2
    return Moment(int(latest.timestamp()), day, published)


_cached: tuple[int, Moment] = (-1, moment_at(datetime.datetime.now(datetime.UTC)))


def now() -> Moment:
    """The :class:`Moment` of a record accepted now.

    Computed once a minute from the start of the minute: at most a minute stricter than the
    exact instant, well within :data:`CLOCK_SKEW`, and cheap on the hot path.
    """
    global _cached
    minute = int(time.time()) // 60
    if _cached[0] != minute:
        start = datetime.datetime.fromtimestamp(minute * 60, datetime.UTC)
        _cached = (minute, moment_at(start))
    return _cached[1]
