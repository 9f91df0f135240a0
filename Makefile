# pydfuse — every target sets up .venv first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench fuzz clean interop-tools firmware-tools firmware \
	browser-tools gui-screenshots interop-deps interop-guest interop

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's dfu-util (dfu-suffix, dfuse-pack; dfuse-pack -i needs python3-intelhex) for the
# interoperability tests and bench/pack.py; skipped where
# apt-get is not available or not root (the tests then skip with a reason).
interop-tools:
	@if ! command -v dfu-suffix >/dev/null 2>&1 || ! /usr/bin/python3 -c "import intelhex" >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dfu-util python3-intelhex) \
	      >/dev/null 2>&1 || echo "note: could not install dfu-util; interop tests will skip"; \
	  else echo "note: dfu-util not installed and apt-get unavailable; interop tests will skip"; fi; \
	fi

# Debian's gcc-arm-none-eabi rebuilds the test firmware (tests/firmware); the test suite checks
# that a rebuild reproduces the committed ELFs and skips that one test where it cannot install.
firmware-tools:
	@if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends gcc-arm-none-eabi) >/dev/null 2>&1 \
	      || echo "note: could not install gcc-arm-none-eabi; the firmware rebuild test will skip"; \
	  else echo "note: gcc-arm-none-eabi missing and apt-get unavailable; the rebuild test will skip"; fi; \
	fi

# Rebuild tests/firmware/elf/*.elf and MANIFEST.json after changing the firmware's sources.
firmware: firmware-tools
	$(PYTHON) tests/firmware/build.py

# Debian's chromium for the GUI's browser tests (tests/gui/test_browser.py drives it with
# Playwright; no browser download); skipped where apt-get is not available or not root (those
# tests then skip with a reason).
browser-tools:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-liberation) \
	      >/dev/null 2>&1 || echo "note: could not install chromium; browser tests will skip"; \
	  else echo "note: chromium not installed and apt-get unavailable; browser tests will skip"; fi; \
	fi

# The README's screenshots of the GUI, as the browser tests take them.
gui-screenshots: $(STAMP) browser-tools
	PYDFUSE_SCREENSHOTS=test-screenshots $(BIN)/python -m pytest -q tests/gui/test_browser.py
	mkdir -p docs
	cp test-screenshots/files-panel.png docs/gui-files.png
	cp test-screenshots/device-panel.png docs/gui-device.png
	cp test-screenshots/device-blocked.png docs/gui-blocked.png

# The QEMU Linux guest of the USB/IP interop tests (tests/interop): QEMU, debootstrap, a static
# busybox and e2fsprogs from Debian, then the guest itself (built once, cached in
# ~/.cache/pydfuse/guest). Where the machine is not root with apt-get the tests skip and say why.
GUEST_TOOLS := qemu-system-x86_64 debootstrap mke2fs cpio
interop-deps:
	@missing=0; for t in $(GUEST_TOOLS); do command -v $$t >/dev/null 2>&1 || missing=1; done; \
	dpkg-query -W -f='$${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing=1; \
	if [ $$missing = 1 ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	      qemu-system-x86 debootstrap busybox-static e2fsprogs cpio) \
	      >/dev/null 2>&1 || echo "note: could not install the interop guest's tools"; \
	  else echo "note: not root with apt-get: the QEMU interop tests will skip"; fi; \
	fi

interop-guest: interop-deps
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  tests/interop/guest/build >/tmp/pydfuse-guest-build.log 2>&1 \
	    || { echo "guest build failed:"; tail -20 /tmp/pydfuse-guest-build.log; exit 1; }; \
	fi

interop: $(STAMP) interop-guest
	$(BIN)/python -m pytest -q -m interop tests/interop

demo: $(STAMP)
	$(BIN)/python -m pydfuse.demo

test: $(STAMP) interop-tools firmware-tools browser-tools interop-guest
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

fuzz: $(STAMP)
	$(BIN)/python -m pytest -q -m slow --hypothesis-profile=fuzz

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache test-screenshots
