"""The risk dashboard: one self-contained HTML page, its charts drawn as inline SVG.

Nothing is fetched: no script, font, image or stylesheet from elsewhere (a Content Security
Policy forbids it), so the page opens offline and tells no network what it shows. Text is
Chinese first with English beside it; CJK text uses the reader's fonts (Noto Sans CJK, PingFang,
Microsoft YaHei, ...). Every SVG string here is built from escaped text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING, Any, Final

import jinja2

from ledger_node.risk.config import TIER_NAMES, TIERS
from ledger_node.risk.indicators import BY_CODE, GROUPS

if TYPE_CHECKING:
    from ledger_node.risk.report import RiskReport

TIER_COLOURS: Final = {
    "none": "#8c959f",
    "reminder": "#0969da",
    "review": "#bf8700",
    "inspection": "#cf222e",
}
#: How the dashboard names the agencies of the standard consortium.
AGENCY_NAMES: Final = {
    "tax-bureau": "税务局 tax bureau",
    "bank": "银行 bank",
    "market-regulator": "市场监管 market regulator",
    "auditor": "审计 auditor",
}
_AGENCY_COLOURS: Final = ("#1f6feb", "#2da44e", "#bf3989", "#8250df", "#fb8500")
_FONT: Final = (
    "'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei',system-ui,sans-serif"
)


def render(report: RiskReport) -> str:
    """The dashboard of ``report``."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("ledger_node.risk", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["yuan"] = lambda amount: yuan(_cents(amount))
    doc = report.to_json()
    hits = {h["id"]: h for h in doc["hits"]}
    facts = {f["id"]: f for f in doc["facts"]}
    points = {i["code"]: i["points"] for i in doc["indicators"]}
    pages = []
    for entry in doc["ranking"][: report.max_pages]:
        mine = sorted(
            (hits[i] for i in entry["hits"]),
            key=lambda h: (-points[h["indicator"]], -_cents(h["amount"]), h["id"]),
        )
        pages.append(
            {
                **entry,
                "evidence": [{**h, "fact_rows": [facts[f] for f in h["facts"]]} for h in mine],
                "graph": flow_graph(entry, report.flows.get(entry["taxpayer"], [])),
            }
        )
    groups = [
        {
            "code": code,
            "name_zh": zh,
            "name": en,
            "indicators": [i for i in doc["indicators"] if i["group"] == code],
        }
        for code, zh, en in GROUPS
    ]
    return environment.get_template("risk.html.j2").render(
        report=doc,
        pages=pages,
        groups=groups,
        catalogue=BY_CODE,
        tier_names=TIER_NAMES,
        tier_colours=TIER_COLOURS,
        tier_chart=tier_chart(doc["summary"]["tiers"]),
        month_chart=agency_month_chart(report.by_agency_month),
        indicator_chart=indicator_chart(doc["indicators"]),
    )


def yuan(cents: int) -> str:
    """An amount as a tax official reads it: ``1,234,567.89``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{frac:02d}"


def _yuan_short(cents: int) -> str:
    """An amount for a small label, in 万 (10^4 yuan) or 亿 (10^8) as a Chinese reader
    counts."""
    amount = cents / 100
    if amount >= 1e8:
        return f"{amount / 1e8:.2f}亿"
    if amount >= 1e4:
        return f"{amount / 1e4:.1f}万"
    return f"{amount:,.0f}"


def _cents(amount: str) -> int:
    return int(amount.replace(".", ""))


def _text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" '
        f'style="font-family:{_FONT};font-size:13px">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def tier_chart(tiers: dict[str, int]) -> str:
    """Taxpayers by supervision tier: one bar each, strongest action on top."""
    width, row = 420, 44
    order = list(reversed(TIERS))
    top = max([*tiers.values(), 1])
    body = []
    for k, tier in enumerate(order):
        y = 8 + k * row
        zh, en = TIER_NAMES[tier]
        n = tiers.get(tier, 0)
        length = 200 * n / top
        body.append(_text(0, y + 16, zh, fill="#1f2328", font_size="15px", font_weight="600"))
        body.append(_text(0, y + 32, en, fill="#57606a", font_size="11px"))
        body.append(
            f'<rect x="140" y="{y + 6}" width="{max(length, 1.5):.1f}" height="26" rx="4" '
            f'fill="{TIER_COLOURS[tier]}"/>'
        )
        body.append(
            _text(
                148 + length, y + 25, f"{n:,}", fill="#1f2328", font_size="15px", font_weight="600"
            )
        )
    return _svg(width, 16 + row * len(order), "纳税人监管分级 taxpayers by tier", body)


def agency_month_chart(rows: list[dict[str, Any]]) -> str:
    """Indicator hits by month, stacked by the kind of agency whose facts they rest on."""
    months = sorted({r["month"] for r in rows})
    agencies = sorted({r["agency"] for r in rows})
    if not months:
        return _svg(560, 40, "按机构和月份的风险命中", [_text(0, 25, "无命中 no hits")])
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        counts[(r["month"], r["agency"])] += r["hits"]
    tallest = max(sum(counts[(m, a)] for a in agencies) for m in months)
    step = max(24, min(48, 700 // len(months)))
    width, height, base = 70 + step * len(months), 260, 190
    body = [f'<line x1="50" y1="{base}" x2="{width}" y2="{base}" stroke="#d0d7de"/>']
    for tick in _ticks(tallest):
        y = base - 160 * tick / tallest
        body.append(f'<line x1="50" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#eaeef2"/>')
        body.append(_text(44, y + 4, str(tick), fill="#57606a", text_anchor="end"))
    for k, month in enumerate(months):
        x, y = 56 + k * step, float(base)
        for j, agency in enumerate(agencies):
            n = counts[(month, agency)]
            if not n:
                continue
            h = 160 * n / tallest
            y -= h
            body.append(
                f'<rect x="{x}" y="{y:.1f}" width="{step - 8}" height="{h:.1f}" '
                f'fill="{_AGENCY_COLOURS[j % len(_AGENCY_COLOURS)]}">'
                f"<title>{escape(f'{month} {agency}: {n}')}</title></rect>"
            )
        middle = x + (step - 8) / 2
        body.append(
            _text(
                middle,
                base + 14,
                month[2:],
                fill="#57606a",
                text_anchor="end",
                transform=f"rotate(-45 {middle:.1f} {base + 14})",
                font_size="11px",
            )
        )
    for j, agency in enumerate(agencies):
        x = 56 + j * 200
        body.append(
            f'<rect x="{x}" y="{height - 19}" width="13" height="13" rx="2" '
            f'fill="{_AGENCY_COLOURS[j % len(_AGENCY_COLOURS)]}"/>'
        )
        body.append(_text(x + 18, height - 8, AGENCY_NAMES.get(agency, agency), fill="#1f2328"))
    return _svg(width, height, "按机构和月份的风险命中 hits by agency and month", body)


def _ticks(top: int) -> list[int]:
    step = max(1, 10 ** int(math.log10(max(top, 1))))
    if top / step < 3:
        step = max(1, step // 2)
    return list(range(step, top + 1, step))


def indicator_chart(indicators: list[dict[str, Any]]) -> str:
    """Hits by indicator (those with hits), Chinese names, in two columns."""
    shown = [i for i in indicators if i["hits"]]
    if not shown:
        return _svg(560, 40, "各指标命中", [_text(0, 25, "无命中 no hits")])
    row, top, half = 26, max(i["hits"] for i in shown), (len(shown) + 1) // 2
    body = []
    for k, i in enumerate(shown):
        x, y = (k // half) * 480, 6 + (k % half) * row
        length = 160 * i["hits"] / top
        body.append(_text(x, y + 15, i["name_zh"], fill="#1f2328"))
        body.append(
            f'<rect x="{x + 250}" y="{y + 3}" width="{max(length, 1.5):.1f}" height="16" '
            f'rx="2" fill="#6e40c9"><title>{escape(i["code"])}</title></rect>'
        )
        body.append(_text(x + 256 + length, y + 16, str(i["hits"]), fill="#1f2328"))
    return _svg(960, 12 + row * half, "各指标命中次数 hits by indicator", body)


def flow_graph(entry: dict[str, Any], flows: list[dict[str, Any]]) -> str:
    """The invoice flows around one taxpayer: its suppliers on the left, its customers on
    the right, the taxpayer in the middle; a line's width grows with the amount invoiced,
    red where the counterparty shares a hit with it, and each node has its tier's colour."""
    width, height = 760, 340
    cx, cy = width / 2, height / 2
    sides = {
        "in": [f for f in flows if f["direction"] == "in"],
        "out": [f for f in flows if f["direction"] == "out"],
    }
    biggest = max([f["total_cents"] for f in flows] + [1])
    body = [
        "<defs>"
        + "".join(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="11" markerHeight="11" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0,0L10,5L0,10z" fill="{colour}"/></marker>'
            for name, colour in (("hit", "#cf222e"), ("plain", "#8c959f"))
        )
        + "</defs>"
    ]
    nodes = []
    for side, items in sides.items():
        x = 110.0 if side == "in" else width - 110.0
        for k, f in enumerate(items):
            y = cy if len(items) == 1 else 46 + (height - 76) * k / (len(items) - 1)
            kind = "hit" if f["shares_hit"] else "plain"
            weight = 1 + 6 * math.sqrt(f["total_cents"] / biggest)
            # Invoices go from seller to buyer: into the taxpayer from the left, out of it
            # to the right.
            if side == "in":
                (x1, y1), (x2, y2) = (x + 64, y), (cx - 72, cy)
            else:
                (x1, y1), (x2, y2) = (cx + 72, cy), (x - 64, y)
            body.append(
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                f'stroke="{"#cf222e" if kind == "hit" else "#8c959f"}" '
                f'stroke-width="{weight:.1f}" stroke-opacity="0.75" '
                f'marker-end="url(#arrow-{kind})"><title>{escape(_flow_title(f))}</title></line>'
            )
            nodes.append(_node(x, y, f))
    body.extend(nodes)
    tier = entry["tier"]
    body.append(
        f'<rect x="{cx - 72:.1f}" y="{cy - 27:.1f}" width="144" height="54" rx="8" '
        f'fill="{TIER_COLOURS[tier]}"/>'
    )
    body.append(
        _text(
            cx,
            cy - 6,
            _short(entry["name"] or entry["taxpayer"], 9),
            fill="#ffffff",
            text_anchor="middle",
            font_weight="600",
        )
    )
    body.append(
        _text(
            cx, cy + 14, entry["taxpayer"], fill="#ffffff", text_anchor="middle", font_size="11px"
        )
    )
    body.append(_text(10, 14, "进项 purchases →", fill="#57606a", font_size="12px"))
    body.append(
        _text(width - 10, 14, "→ 销项 sales", fill="#57606a", text_anchor="end", font_size="12px")
    )
    for side, x, anchor in (("in", 110.0, "middle"), ("out", width - 110.0, "middle")):
        if not sides[side]:
            label = "无进项发票 no purchases" if side == "in" else "无销项发票 no sales"
            body.append(_text(x, cy + 4, label, fill="#8c959f", text_anchor=anchor))
    return _svg(width, height, f"发票流向 invoice flows around {entry['taxpayer']}", body)


def _node(x: float, y: float, flow: dict[str, Any]) -> str:
    colour = TIER_COLOURS.get(flow["other_tier"], "#8c959f")
    name = flow["name"] or "个人消费者"
    fill = "#ffffff" if flow["other_tier"] == "none" else "#fff4f2"
    return (
        f'<g><rect x="{x - 64:.1f}" y="{y - 18:.1f}" width="128" height="36" rx="6" '
        f'fill="{fill}" stroke="{colour}" stroke-width="2"/>'
        + _text(x, y - 3, _short(name, 8), fill="#1f2328", text_anchor="middle", font_size="12px")
        + _text(
            x,
            y + 12,
            f"{flow['invoices']}张 · ¥{_yuan_short(flow['total_cents'])}",
            fill="#57606a",
            text_anchor="middle",
            font_size="10px",
        )
        + f"<title>{escape(_flow_title(flow))}</title></g>"
    )


def _flow_title(flow: dict[str, Any]) -> str:
    who = flow["name"] or "consumers"
    arrow = "→ this taxpayer" if flow["direction"] == "in" else "this taxpayer →"
    return f"{who} {flow['other'] or ''} {arrow}: {flow['invoices']} invoice(s), {flow['total']}"


def _short(text: str, size: int) -> str:
    """A company name shortened for a node: without its legal form, cut to ``size``."""
    trimmed = text.removesuffix("有限公司").removesuffix("有限责任公司")
    return trimmed if len(trimmed) <= size else trimmed[: size - 1] + "…"
