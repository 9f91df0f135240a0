"""The page in a real headless Chromium (Debian's ``chromium``, driven by Playwright): build a
3-target .dfu in the File panel, flash it to the virtual board with a visible progress bar and
see "verified", see an application linked for the wrong address blocked with its message,
use only the keyboard, and read the page at 200 % zoom. Screenshots land in
``test-screenshots/`` (or ``$PYDFUSE_SCREENSHOTS``) for review.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pydfuse.formats import DfuseFile, PackInput, build_dfuse, load_image
from pydfuse.gui.server import GuiServer
from support.firmware import elf_path
from support.gui import APP_ADDRESS, NOR_ADDRESS, demo_inputs, running_server, sim_board

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (make test installs it with apt-get when run as root)",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in .[dev]")

# As the machine's notes advise: no sandbox (root), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("PYDFUSE_SCREENSHOTS", Path(__file__).parents[2] / "test-screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        # launch() gives every run a fresh temporary profile (user-data-dir).
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server() -> Iterator[GuiServer]:
    with running_server() as started:
        yield started


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return demo_inputs(tmp_path_factory.mktemp("inputs"))


def _page(browser: Any, server: GuiServer, **context: Any) -> Any:
    page = browser.new_page(accept_downloads=True, **context)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]")
    return page


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _build_three_targets(page: Any, inputs: dict[str, Path]) -> None:
    """Fill the File panel as a user would: three targets, one file each, BIN address typed."""
    target = "#targets fieldset:nth-of-type({}) "
    page.set_input_files(target.format(1) + "input[type=file]", str(inputs["app"]))
    page.click("#add-target")
    page.set_input_files(target.format(2) + "input[type=file]", str(inputs["spi"]))
    page.fill(target.format(2) + "input.address", "0x0")
    page.click("#add-target")
    page.set_input_files(target.format(3) + "input[type=file]", str(inputs["nor"]))
    expect = playwright.expect
    expect(page.locator("#pack-status")).to_contain_text("safe to flash")
    expect(page.locator("#pack-preview figure.memmap")).to_have_count(3)


def test_build_a_three_target_dfu_and_flash_it_with_progress(
    browser: Any, server: GuiServer, inputs: dict[str, Path]
) -> None:
    expect = playwright.expect
    page = _page(browser, server, viewport={"width": 1100, "height": 900})
    _build_three_targets(page, inputs)
    names = page.locator("#targets input[id$=-name]").evaluate_all("els => els.map(e => e.value)")
    assert names == [
        "Internal Flash",
        "SPI Flash",
        "NOR Flash",
    ]
    page.click("#make-dfu")
    with page.expect_download() as download:
        page.click("#download-made")
    made = Path(download.value.path()).read_bytes()
    expected = build_dfuse(
        [
            PackInput(0, inputs["app"], "Internal Flash"),
            PackInput(1, inputs["spi"], "SPI Flash", 0),
            PackInput(2, inputs["nor"], "NOR Flash"),
        ]
    )
    assert made == expected.to_bytes()
    assert len(DfuseFile.from_bytes(made).targets) == 3
    _shot(page, "files-panel.png")

    page.click("text=Use it on the device")
    expect(page.locator("#tab-device")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#check")).to_contain_text("safe to write")
    expect(page.locator("#upgrade")).to_be_enabled()
    page.click("#upgrade")
    expect(page.locator("#upgrade-result")).to_contain_text("Upgrade complete", timeout=30_000)
    expect(page.locator("#upgrade-result")).to_contain_text("verified")
    progress = page.locator("#progress")
    expect(progress).to_be_visible()
    assert int(progress.get_attribute("data-events")) >= 3  # erase, program, verify at least
    assert progress.evaluate("p => p.value === p.max && p.max > 0")
    for phase in ("erase", "program", "verify"):
        expect(page.locator(f"#phases li.complete[data-phase={phase}]")).to_have_count(1)
    expect(page.locator(".target-result")).to_have_count(3)
    expect(page.locator(".target-result").nth(2)).to_contain_text("verified")
    board = sim_board(server)
    nor = load_image(inputs["nor"])
    assert board.memory(2).read(NOR_ADDRESS, nor.size) == nor.segments[0].data
    expect(page.locator("#check")).to_contain_text("safe to write")  # checked again after
    _shot(page, "device-panel.png")
    assert page.errors == []


def test_an_application_linked_for_the_wrong_address_is_blocked(
    browser: Any, server: GuiServer, inputs: dict[str, Path]
) -> None:
    expect = playwright.expect
    page = _page(browser, server, viewport={"width": 1100, "height": 900})
    page.click("#tab-device")
    expect(page.locator("#devices section.device")).to_have_count(1)
    page.set_input_files("#device-file-input", str(inputs["bad"]))
    blocked = page.locator("#check .blocked")
    expect(blocked).to_contain_text("Upgrade blocked")
    expect(blocked).to_contain_text("0x08000000")  # what it was linked for, said in words
    expect(page.locator("#upgrade")).to_be_disabled()
    marker = page.locator("#check figure.memmap[data-alt='0'] .marker.error")
    expect(marker).to_have_count(1)
    assert "0x0800" in marker.get_attribute("title")
    before = sim_board(server).memory(0).read(APP_ADDRESS, 256)
    page.locator("#upgrade").click(force=True)  # a disabled button does nothing
    page.wait_for_timeout(200)
    assert sim_board(server).memory(0).read(APP_ADDRESS, 256) == before
    expect(page.locator("#upgrade-result")).to_be_empty()
    _shot(page, "device-blocked.png")
    assert page.errors == []


def test_the_started_applications_run_is_shown_with_its_fix(
    browser: Any, server: GuiServer
) -> None:
    expect = playwright.expect
    page = _page(browser, server, viewport={"width": 1100, "height": 900})
    page.click("#tab-device")
    expect(page.locator("#devices section.device")).to_have_count(1)
    page.set_input_files("#device-file-input", str(elf_path("app-hal-default")))
    expect(page.locator("#upgrade")).to_be_enabled()
    page.check("#leave-after")
    page.click("#upgrade")
    result = page.locator("#upgrade-result")
    expect(result).to_contain_text("verified", timeout=30_000)
    error = result.locator(".note.error")
    expect(error).to_contain_text("still selects the bootloader's vector table")
    expect(error).to_contain_text("USER_VECT_TAB_ADDRESS")
    _shot(page, "device-run-error.png")
    assert page.errors == []


def test_the_page_works_with_the_keyboard_alone(
    browser: Any, server: GuiServer, inputs: dict[str, Path]
) -> None:
    expect = playwright.expect
    page = _page(browser, server, viewport={"width": 1100, "height": 900})
    app_id = page.evaluate(
        """async (text) => {
             const r = await fetch("api/files?name=app.hex", {method: "POST", body: text});
             return (await r.json()).id;
           }""",
        inputs["app"].read_text(),
    )
    page.focus("#tab-files")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-device")).to_be_focused()
    expect(page.locator("#panel-device")).to_be_visible()
    expect(page.locator("#panel-files")).to_be_hidden()
    expect(page.locator("#devices section.device")).to_have_count(1)
    page.evaluate(
        "(id) => window.pydfuse.devicePanel.setFile({id, name: 'app.hex', size: 1})", app_id
    )
    expect(page.locator("#upgrade")).to_be_enabled()
    # Tab from the "Leave afterwards" box reaches Upgrade; Space ticks, Enter presses.
    page.focus("#leave-after")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.locator("#upgrade")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#upgrade-result")).to_contain_text("verified", timeout=30_000)
    expect(page.locator("#upgrade-result")).to_contain_text("running application from 0x08003000")
    page.focus("#tab-device")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#panel-files")).to_be_visible()
    assert page.errors == []


def test_readable_at_200_percent_zoom_without_horizontal_scrolling(
    browser: Any, server: GuiServer, inputs: dict[str, Path]
) -> None:
    """200 % zoom of a 1280 px window: a 640 px wide viewport at device scale 2."""
    expect = playwright.expect
    page = _page(browser, server, viewport={"width": 640, "height": 900}, device_scale_factor=2)
    _build_three_targets(page, inputs)
    page.click("#make-dfu")
    expect(page.locator("#download-made")).to_be_visible()
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    _shot(page, "files-panel-640px.png")
    page.click("text=Use it on the device")
    expect(page.locator("#check")).to_contain_text("safe to write")
    assert page.evaluate(overflow) <= 0
    font = page.evaluate("() => getComputedStyle(document.body).fontSize")
    assert float(font.removesuffix("px")) >= 16
    _shot(page, "device-panel-640px.png")
    assert page.errors == []


def test_screenshots_are_kept_for_review() -> None:
    names = {p.name for p in SHOTS.glob("*.png")} if SHOTS.exists() else set()
    if not {"files-panel.png", "device-panel.png"} <= names:
        pytest.skip("run with the other browser tests (they take the screenshots)")
    for name in ("files-panel.png", "device-panel.png"):
        data = (SHOTS / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
