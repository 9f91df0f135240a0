"""``pydfuse.ops.flash`` protects as ``dfuse flash`` does, with nothing but the device: the
virtual ST demo board here reports only its layout strings (the environment carries no board
facts), and the classic mistakes are refused before anything is erased or written."""

from __future__ import annotations

import pytest

from pydfuse import ops
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.errors import PlanError
from pydfuse.spec import Request
from support.boards import Rig, make_rig

ANY = ops.DeviceSelector()
CLASSIC_PAIRS = [
    (0x08000000, 0x08003000),
    (0x0800C000, 0x08008000),
    (0x08020000, 0x08040000),
]


def _nothing_written(rig: Rig) -> bool:
    return rig.backend.page_erases() == [] and not any(
        s.is_dnload and s.value >= 2 for s in rig.backend.log
    )


@pytest.mark.parametrize(("link", "load"), CLASSIC_PAIRS)
@pytest.mark.parametrize("profile", ["stm3210e-eval", "stm32f4-rom"])
def test_linked_elsewhere_is_refused_without_profile(profile: str, link: int, load: int) -> None:
    rig = make_rig(profile)
    assert rig.env.facts is None  # only the device's own descriptors
    image = build_demo_app(link_address=link, load_address=load)
    with pytest.raises(PlanError) as refused:
        ops.flash(rig.env, ANY, image, leave=True)
    assert f"linked for 0x{link:08x} but is being loaded at 0x{load:08x}" in str(refused.value)
    assert refused.value.address == load
    assert _nothing_written(rig)
    assert rig.backend.count(Request.DETACH) == 0


@pytest.mark.parametrize(("link", "load"), CLASSIC_PAIRS)
def test_python_api_refuses_like_the_cli(link: int, load: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The README's way in: ``ops.sim_environment`` and a file path."""
    from pydfuse.formats import save_image

    app = tmp_path / "app_linked.hex"
    save_image(build_demo_app(link_address=link, load_address=load), app)
    with ops.sim_environment("stm3210e-eval") as env:
        assert env.facts is not None and env.facts.app_address == 0x08003000
        with pytest.raises(PlanError, match="linked for"):
            ops.flash(env, ANY, str(app))
        assert env.board.memory(0).read(load, 16) == b"\xff" * 16
    with ops.sim_environment("stm3210e-eval", profile_facts=False) as bare:
        assert bare.facts is None
        with pytest.raises(PlanError, match="linked for"):
            ops.flash(bare, ANY, str(app))


def test_correct_images_still_flash_at_every_offset() -> None:
    rig = make_rig("stm3210e-eval")
    for _, load in CLASSIC_PAIRS[1:]:
        result = ops.flash(rig.env, ANY, build_demo_app(link_address=load))
        assert result.verified
    data = build_data_blob(0x08010000, 8192)  # data in internal flash: no vector table, fine
    assert ops.flash(rig.env, ANY, data).verified


def test_leave_into_data_is_refused() -> None:
    rig = make_rig("stm3210e-eval")
    data = build_data_blob(0x08010000, 8192)
    with pytest.raises(PlanError, match="0x08010000"):
        ops.flash(rig.env, ANY, data, leave=True)
    assert _nothing_written(rig)


def test_board_facts_sharpen_the_stack_check() -> None:
    # 0x20020000 is a Cortex-M SRAM address, but beyond the E-EVAL's 64 KB
    big_stack = build_demo_app(stack_top=0x20020000)
    bare = make_rig("stm3210e-eval")
    assert ops.flash(bare.env, ANY, big_stack).verified  # no facts: architectural regions
    facts = make_rig("stm3210e-eval")
    with pytest.raises(PlanError, match=r"outside SRAM 0x20000000\.\.0x2000ffff"):
        ops.flash(facts.env, ANY, big_stack, sram=(0x20000000, 0x20010000))


def test_check_on_the_device_agrees_with_flash() -> None:
    rig = make_rig("stm3210e-eval")
    bad = build_demo_app(link_address=0x08000000, load_address=0x08003000)
    result = ops.check_firmware(rig.env, ANY, bad)
    assert not result.ok and result.plans == (None,)
    assert result.report.findings[0].code == "vector.linked-elsewhere"
    good = ops.check_firmware(rig.env, ANY, build_demo_app())
    assert good.ok and good.plans[0] is not None and good.plans[0].erases
    assert _nothing_written(rig)
