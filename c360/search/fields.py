"""The physical index fields both backends build from a
:class:`~c360.search.documents.CustomerDocument`, and how each is analyzed.

Both backends declare these same fields with equivalent analyzers (tantivy
tokenizers registered in code, OpenSearch analyzers in the index template), so a
query plan compiles to the same terms on either:

- ``keyword``: the whole value, lowercase (exact match, fuzzy match);
- ``edge``: every prefix of the value, 1 to :data:`EDGE_MAX` characters (prefix match);
- ``ngram``: every 1- to 4-character substring (substrings of names);
- ``bigram``: every 2-character substring (company names: substrings and overlap
  with a misspelt name);
- ``raw``: the value as is (filters and facets).

Suffixes (phone tails, the end of an id number) are computed here in Python: no
engine has a "suffix" analyzer, and both must agree. With field encryption on,
the terms of phones, e-mails and id numbers are blind indexes
(:mod:`c360.search.blinding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from c360.platform.field_encryption import enabled
from c360.search.blinding import BLINDED_FIELDS, UNINDEXED_FIELDS, index_terms
from c360.search.contract import FACET_FIELDS

if TYPE_CHECKING:
    from c360.search.documents import CustomerDocument

EDGE_MAX = 64
NGRAM_MIN, NGRAM_MAX = 1, 4


class Analysis(StrEnum):
    KEYWORD = "keyword"
    EDGE = "edge"
    NGRAM = "ngram"
    BIGRAM = "bigram"
    RAW = "raw"


@dataclass(frozen=True, slots=True)
class IndexField:
    name: str
    source: str
    """The document attribute (or ``phone_suffixes`` / ``id_suffixes`` /
    ``name_skeletons``, computed) it is built from."""
    analysis: Analysis


_K, _E, _N, _B, _R = (
    Analysis.KEYWORD,
    Analysis.EDGE,
    Analysis.NGRAM,
    Analysis.BIGRAM,
    Analysis.RAW,
)

TEXT_FIELDS: tuple[IndexField, ...] = (
    IndexField("name_exact", "names", _K),
    IndexField("name_prefix", "names", _E),
    IndexField("name_ngram", "names", _N),
    IndexField("name_skeleton", "name_skeletons", _K),
    IndexField("name_pinyin", "name_readings", _K),
    IndexField("name_pinyin_prefix", "name_readings", _E),
    IndexField("name_initials", "name_initials", _K),
    IndexField("name_initials_prefix", "name_initials", _E),
    IndexField("phone", "phones", _K),
    IndexField("phone_suffix", "phone_suffixes", _K),
    IndexField("email", "emails", _K),
    IndexField("email_prefix", "emails", _E),
    IndexField("email_local", "email_locals", _K),
    IndexField("id_number", "id_numbers", _K),
    IndexField("id_suffix", "id_suffixes", _K),
    IndexField("uscc", "usccs", _K),
    IndexField("member_no", "member_nos", _K),
    IndexField("wechat_id", "wechat_ids", _K),
    IndexField("company_exact", "companies", _K),
    IndexField("company_prefix", "company_cores", _E),
    IndexField("company_ngram", "company_cores", _B),
    IndexField("company_pinyin", "company_readings", _K),
    IndexField("employer_exact", "employers", _K),
    IndexField("employer_prefix", "employer_cores", _E),
    IndexField("employer_ngram", "employer_cores", _B),
    IndexField("employer_pinyin", "employer_readings", _K),
    IndexField("region", "regions", _K),
)
"""Free-text fields."""

FILTER_FIELDS: tuple[IndexField, ...] = tuple(IndexField(f, f, _R) for f in FACET_FIELDS)
"""Filter and facet fields (values as they are)."""

FIELDS_BY_NAME = {f.name: f for f in (*TEXT_FIELDS, *FILTER_FIELDS)}


_COMPUTED = ("phone_suffixes", "id_suffixes", "name_skeletons")
_BY_SOURCE: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (source, tuple(f.name for f in TEXT_FIELDS if f.source == source))
    for source in dict.fromkeys(f.source for f in TEXT_FIELDS)
    if source not in _COMPUTED
)
"""Document attributes and the fields built from each (computed lists apart)."""


def text_values(doc: CustomerDocument) -> dict[str, list[str]]:
    """Each free-text field's values for ``doc`` (before analysis); called once per
    document on every index write, so kept lean."""
    values: dict[str, list[str]] = {}
    for source, names in _BY_SOURCE:
        found = getattr(doc, source)
        if found:
            for name in names:
                values[name] = found
    if doc.phones:
        values["phone_suffix"] = doc.phone_suffixes()
    if doc.id_numbers:
        values["id_suffix"] = doc.id_suffixes()
    if doc.names:
        skeletons = doc.name_skeletons()
        if skeletons:
            values["name_skeleton"] = skeletons
    if enabled():
        for name in BLINDED_FIELDS.intersection(values):
            values[name] = index_terms(name, values[name])
        for name in UNINDEXED_FIELDS:
            values.pop(name, None)
    return values


def grams(text: str, size: int) -> list[str]:
    """The ``size``-character substrings of ``text`` in order (``text`` itself if shorter)."""
    if len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(len(text) - size + 1)]
