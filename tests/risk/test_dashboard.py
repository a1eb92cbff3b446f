"""The dashboard, opened in a real headless Chromium: charts drawn, Chinese labels rendered,
a page per flagged taxpayer, nothing fetched from anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from risk_harness import Analysed

from ledger_node.risk.report import Source, build_report

SOURCE = Source("0x" + "ab" * 20, 31337, 9, 100, 99, 1, 0)
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def page_file(analysed: Analysed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = build_report(analysed.engine, SOURCE)
    path = tmp_path_factory.mktemp("dashboard") / "risk.html"
    path.write_text(report.to_html(), encoding="utf-8")
    return path


def test_the_page_is_self_contained(page_file: Path) -> None:
    html = page_file.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert not re.search(
        r"<script|<link|<img|src=|url\((?!#)|https?://(?!www\.w3\.org/2000/svg)", html
    )


def test_chromium_draws_the_charts_and_the_chinese_labels(page_file: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            blocked: list[str] = []
            page.on("request", lambda r: r.url.startswith("file:") or blocked.append(r.url))
            page.goto(page_file.as_uri())
            for chart in ("#chart-tiers svg", "#chart-months svg", "#chart-indicators svg"):
                box = page.locator(chart).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 100, chart
            assert page.locator("#chart-months svg rect").count() > 10
            for label in ("税务风险监管看板", "纳税人监管分级", "稽查", "风险排名", "循环开票"):
                assert page.get_by_text(label).first.is_visible(), label
            # The Chinese text is drawn in a CJK font, not as boxes: each character has the
            # width of a full-width glyph.
            widths = page.evaluate(
                "() => { const c = document.createElement('canvas').getContext('2d');"
                " c.font = '20px \"Noto Sans CJK SC\"';"
                " return [c.measureText('税').width, c.measureText('a').width]; }"
            )
            assert widths[0] > 1.5 * widths[1]
            ranked = page.locator("tr.ranked").count()
            assert page.locator("article.taxpayer").count() == ranked > 20
            first = page.locator("article.taxpayer").first
            assert first.locator("svg line").count() >= 1
            assert first.locator(".evidence").count() >= 1
            # A long list of hits shows the strongest three; the rest wait behind a summary.
            long = page.locator("article.taxpayer:has(details.more-hits)")
            assert long.count() >= 1
            for i in range(long.count()):
                article = long.nth(i)
                total = article.locator(".evidence").count()
                assert total > 3
                assert article.locator(".evidence:visible").count() == 3
                more = article.locator("details.more-hits > summary")
                assert more.inner_text().startswith(f"其余 {total - 3} 项命中")
            long.first.locator("details.more-hits > summary").click()
            assert long.first.locator(".evidence:visible").count() > 3
            page.screenshot(path=str(tmp_path / "overview.png"))
            first.screenshot(path=str(tmp_path / "taxpayer.png"))
            assert (tmp_path / "overview.png").stat().st_size > 50_000
            assert blocked == []
        finally:
            browser.close()
