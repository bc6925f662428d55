"""Search with field encryption on, on every backend: phones, e-mails and id
numbers are found whole, by their tails and by an e-mail's local part through
keyed blind indexes, hits still show and explain them, and the index holds none
of them in clear (the embedded index's files are grepped; OpenSearch's stored
documents are read back as the server keeps them). E-mail prefixes are the one
search given up: every prefix of an address up to its whole is the address."""

from __future__ import annotations

from pathlib import Path

import pytest
import tantivy
from sqlalchemy import Engine

from c360.platform.field_encryption import PREFIX
from c360.search.contract import MatchKind, SearchBackend
from c360.search.embedded import EmbeddedSearch
from c360.search.opensearch import OpenSearchSearch
from c360.search.policy import OPEN_POLICY, FieldPolicy
from tests.search_helpers import LI_NA_ID, World, build_world

PHONE = "13800138000"
EMAIL = "zhangwei@qq.com"


@pytest.fixture
def sealed_world(sqlite_engine: Engine, backend: SearchBackend, field_encryption_on: None) -> World:
    return build_world(sqlite_engine, backend)


def _found(
    world: World, query: str, policy: FieldPolicy | None = None
) -> dict[int, set[tuple[str, MatchKind]]]:
    page = (
        world.backend.search(query)
        if policy is None
        else world.backend.search(query, policy=policy)
    )
    return {h.customer_id: {(m.field, m.kind) for m in h.matches} for h in page.hits}


@pytest.mark.parametrize(
    ("query", "how"),
    [
        ("138 0013 8000", ("phone", MatchKind.EXACT)),
        ("8000", ("phone", MatchKind.SUFFIX)),
        ("138000", ("phone", MatchKind.SUFFIX)),
        ("0138000", ("phone", MatchKind.SUFFIX)),
        ("ZhangWei@QQ.com", ("email", MatchKind.EXACT)),
        ("wei.zhang", ("email_local", MatchKind.EXACT)),
    ],
)
def test_identifiers_are_found_through_blind_indexes(
    sealed_world: World, query: str, how: tuple[str, MatchKind]
) -> None:
    found = _found(sealed_world, query)
    who = sealed_world["weizhang" if query == "wei.zhang" else "zhangwei"]
    assert how in found.get(who, set()), found


def test_id_numbers_whole_and_by_tail(sealed_world: World) -> None:
    lina = sealed_world["lina"]
    whole = _found(sealed_world, LI_NA_ID, OPEN_POLICY)
    assert ("id_number", MatchKind.EXACT) in whole[lina]
    tail = _found(sealed_world, LI_NA_ID[-4:], OPEN_POLICY)
    assert ("id_number", MatchKind.SUFFIX) in tail[lina]


def test_a_tail_finds_only_the_phones_that_end_with_it(sealed_world: World) -> None:
    assert list(_found(sealed_world, "0013 8000")) == [sealed_world["zhangwei"]]
    assert _found(sealed_world, "99998000") == {}


def test_hits_show_the_card_in_clear_to_who_may_see_it(sealed_world: World) -> None:
    (hit,) = sealed_world.backend.search(PHONE).hits
    assert hit.card["phone"] == f"+86{PHONE}"
    assert hit.card["email"] == EMAIL


_CLEAR_TERMS = {
    "phone": [PHONE],
    "phone_suffix": [PHONE[-n:] for n in range(4, 9)],
    "email": [EMAIL],
    "email_local": ["zhangwei", "wei.zhang"],
    "email_prefix": [EMAIL[:n] for n in range(1, len(EMAIL) + 1)],
    "id_number": [LI_NA_ID.lower()],
    "id_suffix": [LI_NA_ID[-4:].lower(), LI_NA_ID[-6:].lower()],
}
"""Every term the index would hold of the identifiers in clear."""


def _embedded_terms_found(root: Path) -> tuple[list[str], bytes]:
    """The clear terms a term query finds in the current embedded index, and
    its stored part of 张伟's document as kept (found by the name, which stays
    in clear: so the index was read)."""
    (current,) = {p.parent for p in root.rglob("meta.json")}
    index = tantivy.Index.open(str(current))
    searcher = index.searcher()
    schema = index.schema
    found = [
        f"{field}:{value}"
        for field, values in _CLEAR_TERMS.items()
        for value in values
        if searcher.search(tantivy.Query.term_query(schema, field, value), 1).count
    ]
    named = tantivy.Query.term_query(schema, "name_exact", "张伟")
    (_, address), *_ = searcher.search(named, 1).hits
    return found, searcher.doc(address).get_first("stored")


def test_the_index_holds_no_identifier_in_clear(
    sealed_world: World, backend: SearchBackend, tmp_path: Path
) -> None:
    if isinstance(backend, EmbeddedSearch):
        found, stored = _embedded_terms_found(tmp_path / "search")
        assert found == []
        assert stored.startswith(PREFIX.encode()) and b"qq.com" not in stored
    else:
        assert isinstance(backend, OpenSearchSearch)
        hits = backend.client.search(
            index=backend.alias, body={"query": {"match_all": {}}, "size": 100}
        )["hits"]["hits"]
        blob = repr([h["_source"] for h in hits])
        assert "张伟" in blob  # the documents were read
        for field, values in _CLEAR_TERMS.items():
            for value in values[-1:]:
                assert value not in blob, (field, value)


def test_an_email_prefix_is_not_searched(sealed_world: World) -> None:
    assert sealed_world["zhangwei"] not in _found(sealed_world, "zhangwei@q")
