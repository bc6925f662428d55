"""The fixed catalogue of purposes a read of personal data may declare, and the
PIPL (art. 13) legal bases a processing may rest on.

A purpose is a code from :data:`PURPOSES`; anything else is refused with the
list (:func:`check_purpose`). Each purpose says which legal bases can cover it:
``standing`` bases hold for every customer without a per-customer record (the
contract with the customer for ``service`` and ``complaint_handling``, the
statute for ``legal_obligation``), the others need a recorded, unexpired,
unrevoked consent or legal basis for that customer and purpose
(:mod:`c360.platform.privacy.consent`).
"""

from __future__ import annotations

from dataclasses import dataclass

LEGAL_BASES: dict[str, str] = {
    "consent": "the person's consent (PIPL art. 13(1), arts. 14-17)",
    "contract": "necessary to conclude or perform a contract with the person (art. 13(2))",
    "legal_obligation": "necessary for a statutory duty or obligation (art. 13(3))",
    "public_interest": "public health emergency or news reporting in the public interest (13(4-5))",
    "public_record": "information the person made public or lawfully disclosed (art. 13(6))",
}
"""PIPL art. 13 grounds, by the code the ``legal_basis`` table stores."""


@dataclass(frozen=True, slots=True)
class Purpose:
    """One catalogue entry: what it is for and which bases may cover it."""

    code: str
    label: str
    bases: tuple[str, ...]
    standing: tuple[str, ...] = ()
    """Bases that hold for every customer (no per-customer record needed)."""


PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in (
        Purpose(
            "service",
            "serving the customer under their contract",
            ("contract", "consent"),
            standing=("contract",),
        ),
        Purpose(
            "complaint_handling",
            "handling the customer's complaint or request",
            ("contract", "consent", "legal_obligation"),
            standing=("contract",),
        ),
        Purpose(
            "legal_obligation",
            "a statutory duty (AML, regulator, court order)",
            ("legal_obligation",),
            standing=("legal_obligation",),
        ),
        Purpose("marketing", "marketing to the customer", ("consent",)),
        Purpose("credit_assessment", "assessing the customer's credit", ("consent", "contract")),
        Purpose("risk_control", "fraud and risk control", ("consent", "legal_obligation")),
        Purpose(
            "identity_verification",
            "verifying the customer's identity",
            ("consent", "legal_obligation"),
        ),
    )
}
"""The catalogue. Other capabilities' tests declare exactly these codes."""

DEFAULT_PURPOSE = "service"
"""What a read that declares no purpose is judged under (a staff member serving
the customer); fields a role reads only for a declared purpose still need one."""


class UnknownPurpose(ValueError):
    """A purpose that is not in the catalogue; the message lists the catalogue."""


def catalogue_text() -> str:
    return ", ".join(PURPOSES)


def check_purpose(code: str) -> str:
    """``code`` if it is a catalogue purpose, else :class:`UnknownPurpose`."""
    if code not in PURPOSES:
        raise UnknownPurpose(
            f"{code!r} is not a catalogue purpose: declare one of {catalogue_text()}"
        )
    return code


def standing_basis(purpose: str) -> str | None:
    """The basis that covers ``purpose`` for every customer, if there is one."""
    entry = PURPOSES.get(purpose)
    return entry.standing[0] if entry and entry.standing else None


def bases_for(purpose: str) -> tuple[str, ...]:
    """The legal bases a per-customer record may give to cover ``purpose``."""
    entry = PURPOSES.get(purpose)
    return entry.bases if entry else ()
