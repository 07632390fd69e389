"""Section 4: report.html as a file: self-contained, CSP-locked, escaped, with the settings, the parity
hash and a halted bot's banner (the browser test opens it; these check the page's own text)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from okxbot.backtest import report_html
from okxbot.backtest.report import write_report
from tests.backtest.factory import four_days, synthetic_grid


def test_the_page_is_self_contained_and_its_csp_allows_only_its_own_blocks(tmp_path: Path) -> None:
    page = write_report(synthetic_grid(), tmp_path).html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from anywhere
    assert "<link" not in page and "@import" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "default-src &#x27;none&#x27;" in csp
    script = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    style = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert len(script) == 1 and len(style) == 1
    digest = lambda text: base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()  # noqa: E731
    assert f"sha256-{digest(script[0])}" in csp and f"sha256-{digest(style[0])}" in csp
    assert "window.uPlot = uPlot" in script[0]  # the vendored library, inline


def test_markup_from_the_result_is_escaped_everywhere(tmp_path: Path) -> None:
    result = four_days()
    result.bot = '<img src=x onerror="alert(1)">'
    result.params["x"] = "</script><script>alert(2)</script>"
    result.settings["fill"] = "<b>bold</b>"
    result.symbol = "BTC/<i>USDT</i>"  # also goes into the page's JSON (the chart legend)
    page = write_report(result, tmp_path).html.read_text()
    assert "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.count("</script>") == 2  # the data block's and the script's own, none from the result
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, flags=re.S)
    assert data is not None and "<" not in data.group(1) and "BTC/\\u003ci\\u003eUSDT" in data.group(1)


def test_settings_parity_hash_and_halted_banner_are_shown(tmp_path: Path) -> None:
    result = four_days()
    result.halted = "daily_loss_limit"
    page = write_report(result, tmp_path).html.read_text()
    assert result.parity_hash() in page
    assert "trade-through" in page and "latency_ms" in page  # the settings that shaped the fills
    assert "The risk guard halted the bot: daily_loss_limit" in page
    assert 'data-metric="sharpe"' in page and "19.79 %" in page


def test_a_tampered_vendored_chart_library_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    vendor = tmp_path / "static" / "vendor"
    real = Path(report_html.__file__).parents[1] / "serve" / "static" / "vendor"
    for path in real.rglob("*"):
        if path.is_file():
            target = vendor / path.relative_to(real)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    next(vendor.rglob("uPlot.esm.js")).write_text("window.evil = 1;")

    class Files:
        def __truediv__(self, part: str) -> Path:
            return tmp_path / part

    monkeypatch.setattr(
        report_html.resources, "files", lambda pkg: Files() if pkg == "okxbot.serve" else real
    )
    report_html._uplot.cache_clear()
    try:
        with pytest.raises(report_html.VendorError, match=r"differs from serve/static/vendor/MANIFEST\.json"):
            report_html._uplot()
    finally:
        report_html._uplot.cache_clear()
