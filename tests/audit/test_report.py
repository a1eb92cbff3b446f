"""The reports: the JSON document's structure, and the HTML page as a person sees it in
headless Chromium, offline."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from .conftest import Planted

CHROMIUM = Path("/usr/bin/chromium")


def test_json_report_structure(planted: Planted) -> None:
    doc = planted.report.to_json()
    assert list(doc) == [
        "format", "generated_at", "ledger", "sync", "summary", "agencies", "verification",
        "findings", "invoices",
    ]  # fmt: skip
    assert doc["format"] == "taxledger.audit/v1"
    assert [a["name"] for a in doc["agencies"]] == [
        "tax-bureau",
        "bank",
        "market-regulator",
        "auditor",
    ]
    finding = next(f for f in doc["findings"] if f["code"] == "payment_missing")
    assert set(finding) == {"code", "severity", "subject", "message", "facts"}
    assert set(finding["facts"][0]) >= {
        "schema",
        "kind",
        "agency",
        "block_number",
        "tx_hash",
        "ref",
    }
    invoice = doc["invoices"][0]
    assert set(invoice["timeline"][0]) == {
        "block_number", "timestamp", "event", "schema", "agency", "signer", "summary", "verdict",
        "fact",
    }  # fmt: skip


def test_html_report_shows_summary_findings_and_timelines(planted: Planted, tmp_path: Path) -> None:
    # Debian's chromium, which ./scripts/setup installs: a machine without it fails here.
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing; ./scripts/setup --dev installs it"
    page_file = tmp_path / "report.html"
    page_file.write_text(planted.report.to_html(), encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            summary = planted.report.summary
            assert page.text_content("#count-findings") == str(summary["findings"])
            assert page.text_content("#count-invoices") == f"1 / {summary['invoices']}"
            row = page.locator("tr.finding[data-code='payment_missing']")
            assert row.count() == 1
            assert planted.numbers["payment_missing"] in row.inner_text()
            assert "no bank attested a payment" in row.inner_text()
            # The consistent invoices wait behind a summary: open it.
            page.locator("#consistent-invoices > summary").click()
            timeline = page.locator(f"#invoice-{planted.numbers['consistent']} ol.timeline li")
            assert timeline.count() == 3
            texts = timeline.all_inner_texts()
            assert "tax-bureau (agency 1)" in texts[0] and "invoice.issued" not in texts[0]
            assert "payment ICBC-" in texts[1] and "bank (agency 2)" in texts[1]
            assert "registration of" in texts[2]
            assert page.locator("#invoices .invoice.bad").count() == summary["invoices"] - 1
        finally:
            browser.close()
    assert requests == [page_file.as_uri()]


def test_html_report_puts_problems_first_and_collapses_long_lists(
    planted: Planted, tmp_path: Path
) -> None:
    # No skip: setup --dev installs Chromium and the CJK font this test is about.
    html = planted.report.to_html()
    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")
    # Paths break at their separators only.
    assert "/</span><wbr>" in html
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.goto(page_file.as_uri())
            order = page.eval_on_selector_all("section", "sections => sections.map(s => s.id)")
            assert order[:4] == ["summary", "findings", "invoices", "verification"]
            severities = page.locator("tr.finding td:first-child").all_inner_texts()
            assert severities == sorted(severities)  # errors, then warnings
            # Inconsistent invoices are shown; consistent ones wait behind a summary.
            assert page.locator("#invoices > article.bad").first.is_visible()
            consistent = page.locator("#consistent-invoices")
            assert consistent.get_attribute("open") is None
            assert not page.locator("#consistent-invoices article").first.is_visible()
            # The records that failed come first, the verified ones collapsed.
            assert page.locator("#failed-records").is_visible()
            assert not page.locator("#verified-records table").is_visible()
            # No path cell is broken letter by letter: each line holds more than a few
            # characters.
            page.locator("#verified-records > summary").click()
            cell = page.locator("#verified-records td.path").first
            box = cell.bounding_box()
            assert box is not None
            lines = round(box["height"] / 16)
            assert len(cell.inner_text()) / max(lines, 1) > 10
            # Chinese headings are drawn in a CJK font.
            assert page.get_by_text("三流一致").first.is_visible()
            widths = page.evaluate(
                "() => { const c = document.createElement('canvas').getContext('2d');"
                " c.font = '20px \"Noto Sans CJK SC\"';"
                " return [c.measureText('流').width, c.measureText('a').width]; }"
            )
            assert widths[0] > 1.5 * widths[1]
            page.screenshot(path=str(tmp_path / "audit.png"), full_page=False)
            # On a laptop's screen every column of the findings fits: a hash quoted in a
            # message wraps instead of pushing the facts off the page.
            page.set_viewport_size({"width": 1280, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        finally:
            browser.close()
