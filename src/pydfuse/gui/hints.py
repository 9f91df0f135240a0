"""Error hints as the page shows them (layer: gui; standard library only).

The hints of ops, formats and plan errors are written for the command line ("use --force if you
are sure", "on every -t for that alt", "or with --address"). The page has other controls and
never overrides a refusal, so :func:`page_hint` says the same thing with the page's own words:
forcing is left out (and the page says it does not override the check), options the page has a
field for are named by that field, and advice that only the command line can follow is said to
be for the command line.
"""

from __future__ import annotations

import re

_FORCE = re.compile(
    r"(?:,|;)? ?(?:or )?(?:use |add )?--force(?: only)? if you are sure(?: of the address)?"
)
NO_OVERRIDE = "the page does not override this check"

# (pattern, what the page calls it), in order; each pattern is a CLI phrasing.
_PAGE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"give it as FILE@ADDR \(e\.g\. [^)]*\) or with --address"),
        "give its load address in the Address field",
    ),
    (re.compile(r"drop the address \(@ADDR, --address or -s\)"), "clear its Address field"),
    (
        re.compile(r"the same name on every -t for that alt\b"),
        "the same Target name on every target with that Alternate setting",
    ),
    (re.compile(r"choose one with -S SERIAL or -p PATH"), "choose one device in the list"),
)
# An option word left over: "-a 1", "--length 0x100", not "e.g." or "read-only".
_OPTION = re.compile(r"(?:^|[\s(`])--?[A-Za-z][\w-]*")


def page_hint(hint: str | None) -> str | None:
    """``hint`` in the page's words (None stays None)."""
    if not hint:
        return hint
    text, forced = _FORCE.subn("", hint)
    for pattern, words in _PAGE_WORDS:
        text = pattern.sub(words, text)
    text = text.strip(" ;,")
    if forced:
        text = f"{text}; {NO_OVERRIDE}" if text else NO_OVERRIDE
    if _OPTION.search(text) and "dfuse " not in text:
        text = f"on the command line: {text}"
    return text
