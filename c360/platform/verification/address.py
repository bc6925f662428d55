"""An address checked: parsed into province / city / district / detail
(:func:`c360.platform.normalize.address.parse_address`, python-stdnum's
division table as the gazetteer), former names mapped to current ones (a
warning: the address was written before a 县 → 区 change or a merger, so it may
be old), and graded by how much of it is recognised. Memoised by the text, as
the phone and e-mail checks are: an address recurs across a household's
records and sources."""

from __future__ import annotations

import functools

from c360.platform.normalize.address import parse_address
from c360.platform.normalize.text import fold_text
from c360.platform.verification.checks import Check, CheckedValue


@functools.lru_cache(maxsize=1 << 16)
def check_address(text: str) -> CheckedValue:
    """An address graded: ``parsed`` (pass with province, city and district;
    warn with less; fail when no region is recognised or nothing follows it),
    ``former_name`` (warn for each former name used). ``value`` is the address
    written with current names; facts ``province``, ``city``, ``district``,
    ``detail``, ``former_names``."""
    parsed = parse_address(fold_text(str(text)).strip())
    checks: list[Check] = []
    if parsed.province is None:
        checks.append(Check("parsed", "fail", "no province or city recognised"))
    elif parsed.district is None:
        checks.append(Check("parsed", "warn", "no district recognised"))
    else:
        checks.append(Check("parsed", "pass", f"{parsed.province} {parsed.city} {parsed.district}"))
    if parsed.province is not None and not parsed.detail:
        checks.append(Check("detail", "warn", "nothing below the district (street, number)"))
    for written, current in parsed.former_names:
        checks.append(Check("former_name", "warn", f"{written} is now {current}"))
    facts: dict[str, object] = {
        key: value
        for key in ("province", "city", "district", "detail")
        if (value := getattr(parsed, key))
    }
    if parsed.former_names:
        facts["former_names"] = [list(pair) for pair in parsed.former_names]
    return CheckedValue("address", parsed.canonical or str(text), tuple(checks), facts)
