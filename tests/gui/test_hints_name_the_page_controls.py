"""The page shows the hints of refused operations in its own words: it has no --force (and
never overrides a pre-flight check), no -t and no --address options, so a hint must name the
page's fields or be neutral; advice only the command line can follow says so."""

from __future__ import annotations

import re
from pathlib import Path

from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.gui.hints import page_hint
from support.gui import events, request, running_server, upload

SIM = {"path": "1-1", "serial": None}
CLI_OPTION = re.compile(r"(?:^|[\s(`])--?[A-Za-z][\w-]*")


def test_a_refused_upgrade_does_not_offer_force(tmp_path: Path) -> None:
    wrong = tmp_path / "linked-for-0x08000000.hex"  # the classic mistake: refused by ops.flash
    save_image(build_demo_app(link_address=0x08000000, load_address=0x08003000), wrong)
    with running_server() as server:
        file_id = upload(server, wrong)["id"]
        answer = request(server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id})
        job = answer.json()["job"]
        failed = events(server, job)[-1]
    assert failed["type"] == "failed", failed
    hint = failed["hint"]
    assert hint == "nothing was written; fix the image; the page does not override this check"
    assert not CLI_OPTION.search(hint)


def test_a_bin_without_an_address_names_the_address_field(tmp_path: Path) -> None:
    raw = tmp_path / "app.bin"
    image = build_demo_app()
    raw.write_bytes(image.read(image.start, image.end - image.start))
    with running_server() as server:
        file_id = upload(server, raw)["id"]
        answer = request(server, "POST", "api/device/check", {"device": SIM, "file": file_id})
    assert answer.status == 422
    assert answer.json()["hint"].startswith("give its load address in the Address field;")


def test_two_names_for_one_alternate_name_the_target_fields(tmp_path: Path) -> None:
    app, other = tmp_path / "a.hex", tmp_path / "b.hex"
    save_image(build_demo_app(), app)
    save_image(build_demo_app(link_address=0x08010000), other)
    with running_server() as server:
        ids = [upload(server, path)["id"] for path in (app, other)]
        spec = {
            "targets": [
                {"alt": 0, "name": "x", "files": [{"id": ids[0]}]},
                {"alt": 0, "name": "y", "files": [{"id": ids[1]}]},
            ]
        }
        answer = request(server, "POST", "api/pack", spec)
    assert answer.status >= 400, answer.body
    hint = answer.json()["hint"]
    assert "Target name" in hint and "Alternate setting" in hint
    assert not CLI_OPTION.search(hint)


def test_command_line_only_advice_says_it_is_for_the_command_line() -> None:
    hint = "at most 12 bytes from 0x08000000 (--length 0xc), or --all for the whole memory"
    assert page_hint(hint) == f"on the command line: {hint}"
    # a hint naming the dfuse command itself is already plain about it
    assert page_hint("start dfuse gui with a larger --max-upload") == (
        "start dfuse gui with a larger --max-upload"
    )
    assert page_hint(None) is None
