"""The report in a real browser: Debian's Chromium, headless, driven by Playwright.

Opens ``report.html`` as a user would and checks what only a browser can: no console errors
or page errors, every image decodes and is drawn, nothing runs off the side of the page (the
fault stories wrap), the flat summary is folded away until opened, and a screenshot is not
blank. The same checks run on a deliberately broken copy of the page, to show they catch
what they look for.

Chromium is a system package (``.ci/install-browser`` installs it on CI). Where it is absent
the test skips with the reason — unless ``TWIN_REQUIRE_BROWSER=1`` (set by ``.ci/run``) says
it must be there, and then the test fails.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import twin
from twin.report.html import MAJOR

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TWIN_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (Debian package `chromium`; "
                       "`.ci/install-browser` installs it)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    return missing


REQUIRED = os.environ.get("TWIN_REQUIRE_BROWSER") == "1"
if _missing() and not REQUIRED:  # one visible reason for the whole module
    pytest.skip("the browser test needs " + " and ".join(_missing()), allow_module_level=True)


@dataclass
class Findings:
    console_errors: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    overflow_px: int = 0
    details_open: list[bool] = field(default_factory=list)
    screenshot: bytes = b""

    @property
    def broken_images(self) -> list[dict[str, Any]]:
        return [i for i in self.images
                if not (i["complete"] and i["naturalWidth"] > 0 and i["width"] > 0)]


def inspect(context: Any, page_path: Path, width: int) -> Findings:
    found = Findings()
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.on("console", lambda m: found.console_errors.append(m.text)
            if m.type == "error" else None)
    page.on("pageerror", lambda e: found.console_errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: found.console_errors.append(f"failed: {r.url[:80]}"))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    found.images = page.eval_on_selector_all("img", """imgs => imgs.map(i => ({
        alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth,
        width: i.getBoundingClientRect().width}))""")
    found.overflow_px = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    found.details_open = page.eval_on_selector_all("details", "ds => ds.map(d => d.open)")
    found.screenshot = page.screenshot(full_page=True)
    page.close()
    return found


def not_blank(png: bytes) -> tuple[float, int]:
    """(share of pixels that are not white, number of distinct colours) of a screenshot."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.thumbnail((600, 3000))
    colours = img.getcolors(img.width * img.height) or []
    inked = sum(n for n, rgb in colours if sum(rgb) < 720) / (img.width * img.height)
    return inked, len(colours)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _missing():
        pytest.fail("the browser test needs " + " and ".join(_missing())
                    + "; TWIN_REQUIRE_BROWSER=1 says it must be there", pytrace=False)
    out = tmp_path_factory.mktemp("browser") / "quickstart"
    run = twin.simulate(REPO / "scenarios" / "quickstart.yaml", out=out,
                        overrides=["duration=3d", "subscribers.count=2000"])
    return run.path / "report.html"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # new and empty
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield context
        context.close()


def test_the_report_in_chromium(report: Path, chromium: Any, tmp_path: Path) -> None:
    run_dir = report.parent
    majors = len(list((run_dir / "figures").glob("fault-*-map.png")))
    assert 1 <= majors <= MAJOR
    for width in (1280, 800):
        found = inspect(chromium, report, width)
        assert found.console_errors == [], found.console_errors
        assert len(found.images) == 3 + 2 * majors  # overview figures, a map and lanes each
        assert found.broken_images == [], found.broken_images
        assert found.overflow_px <= 0, f"the page runs {found.overflow_px} px off at {width}"
        assert found.details_open and not any(found.details_open)  # folded until opened
        inked, colours = not_blank(found.screenshot)
        (tmp_path / f"report-{width}.png").write_bytes(found.screenshot)
        assert inked > 0.05 and colours > 50, (inked, colours)


def test_the_checks_catch_a_broken_page(report: Path, chromium: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    shutil.copy(report, broken)
    page = broken.read_text(encoding="utf-8").replace(
        "</body>", '<img alt="bad" src="data:image/png;base64,AAAA">'
        '<div style="width: 3000px">too wide</div>'
        "<script>console.error('boom')</script></body>")
    broken.write_text(page, encoding="utf-8")
    found = inspect(chromium, broken, 1280)
    assert any("boom" in e for e in found.console_errors)
    assert [i["alt"] for i in found.broken_images] == ["bad"]
    assert found.overflow_px > 0
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>x</title><body></body>", encoding="utf-8")
    inked, colours = not_blank(inspect(chromium, blank, 1280).screenshot)
    assert inked < 0.05 or colours <= 50
