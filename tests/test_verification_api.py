"""Verification over real HTTP with real tokens, on SQLite and PostgreSQL:
``Customer.authenticity`` walked role by role against the policy table (every
new row: authenticity_score, authenticity_band, authenticity_reasons,
verification_state — with and without a declared purpose), values inside the
matrix withheld from roles that read them masked, ``verifyAttribute`` (who may,
audited, bad input named), ``checkDocument``, ``verificationOverdue`` within the
caller's rows, and the authenticity band and score as search filters and facets
(embedded index)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from stdnum.cn import ric

from c360.auth.policy_table import FIELDS, Access
from c360.auth.principal import ROLES
from c360.platform import tables as t
from c360.platform.judgments import refresh_judgments
from c360.platform.models import utcnow
from c360.platform.sources import save_source
from c360.platform.verification.judgment import scores_and_bands
from c360.platform.verification.models import verification_state
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from tests.api_helpers import Server, make_settings, serve
from tests.resolution_helpers import customer_of, ingest, person

ROWS = ("authenticity_score", "authenticity_band", "authenticity_reasons", "verification_state")
CELLS: dict[str, tuple[str, ...]] = {
    "authenticity_score": ("score", "policyVersion", "computedAt"),
    "authenticity_band": ("band",),
    "authenticity_reasons": ("reasons", "flags", "consistency"),
    "verification_state": ("verifications",),
}
REGION = ["浙江"]
QUERY = """
query($id: ID!, $purpose: String) {
  customer(id: $id, purpose: $purpose) { authenticity {
    score band policyVersion computedAt
    reasons { code weight text attribute }
    flags { flag severity text detail }
    consistency { aspect left right verdict detail }
    verifications { attribute status verifiedBy outcome checks { check outcome reason } }
  } }
}
"""
STATED_BIRTH = "1986-02-01"


def resident_id(region: str, birth: str, seq: str = "123") -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(scope="module")
def world(
    module_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    engine = module_engine
    save_source(engine, "crm", "csv", {}, trust=70)
    ingest(
        engine,
        "crm",
        [
            person(
                "odd",
                name="刘洋",
                id_number=resident_id("110101", "19850615"),  # 北京
                birth_date=STATED_BIRTH,  # not what the id says
                phone="020-87654322",  # 广州
                email="liuyang@mailinator.com",
                address="浙江省杭州市萧山市城厢镇人民路1号",
                province="浙江",
            ),
            person(
                "fine",
                name="陈静",
                id_number=resident_id("330106", "19850615", "124"),
                phone="0571-87654321",
                address="浙江省杭州市西湖区文三路1号",
                province="浙江",
            ),
            person("far", name="马超", phone="020-87654321", province="广东"),
        ],
    )
    ids = {ext: customer_of(engine, "crm", ext) for ext in ("odd", "fine", "far")}
    refresh_judgments(engine, list(ids.values()))
    backend = EmbeddedSearch(tmp_path_factory.mktemp("search") / "index")
    Indexer(engine, backend).drain(wait=True)
    servers = serve(engine, make_settings(tmp_path_factory.mktemp("server")), search=backend)
    server = next(servers)
    yield {"server": server, "ids": ids, "engine": engine}
    for _ in servers:
        pass
    backend.close()


def _api(server: Server, role: str, purpose: str | None = None) -> Any:
    region = {"region": REGION} if role == "agent" else {}
    return server.api(role, purpose=purpose, **region)


def _expected(role: str, row: str, purpose: str | None) -> bool:
    access = FIELDS[row][ROLES.index(role)]
    return access is Access.CLEAR or (access is Access.CLEAR_WITH_PURPOSE and purpose is not None)


@pytest.mark.parametrize("purpose", [None, "legal_obligation"], ids=["no-purpose", "purpose"])
@pytest.mark.parametrize("role", ROLES)
def test_role_field_matrix(world: dict[str, Any], role: str, purpose: str | None) -> None:
    server, cid = world["server"], world["ids"]["odd"]
    body = _api(server, role).post(QUERY, {"id": str(cid), "purpose": purpose}).json()
    errors = {tuple(e["path"]): e for e in body.get("errors", [])}
    served = body["data"]["customer"]["authenticity"]
    for row, names in CELLS.items():
        clear = _expected(role, row, purpose)
        for name in names:
            path = ("customer", "authenticity", name)
            if clear:
                assert path not in errors, (role, row, errors.get(path))
                assert served[name] is not None, (role, name)
            else:
                assert served[name] is None, (role, row, name)
                assert errors[path]["extensions"] == {"code": "FORBIDDEN", "field": row}
    if _expected(role, "authenticity_reasons", purpose):
        flags = {f["flag"] for f in served["flags"]}
        assert {"id_birth_date_mismatch", "region_contradiction", "disposable_email"} <= flags
        birth = next(c for c in served["consistency"] if c["aspect"] == "birth_date")
        assert birth["verdict"] == "contradict"
        reads_birth = FIELDS["birth_date"][ROLES.index(role)]
        if reads_birth is Access.CLEAR or (reads_birth is Access.CLEAR_WITH_PURPOSE and purpose):
            assert STATED_BIRTH in birth["detail"]
        else:  # an agent reads birth dates masked: the matrix does not tell it
            assert birth["detail"] is None
        text = str(served["reasons"]) + str(served["flags"])
        assert STATED_BIRTH not in text and "19850615" not in text
    if _expected(role, "verification_state", purpose):
        by_attr = {v["attribute"]: v for v in served["verifications"]}
        assert by_attr["email"]["status"] == "failed"
        reads_id = FIELDS["id_number"][ROLES.index(role)]
        shown = reads_id is Access.CLEAR or (reads_id is Access.CLEAR_WITH_PURPOSE and purpose)
        assert (by_attr["id_number"]["checks"] is not None) == bool(shown)
    if not _expected(role, "authenticity_score", purpose):
        assert "policyVersion" not in str(served) or served["policyVersion"] is None


VERIFY = """
mutation($id: ID!, $a: String!, $how: VerificationMethod!, $e: String, $failed: Boolean,
         $reason: String) {
  verifyAttribute(customerId: $id, attribute: $a, how: $how, evidence: $e, failed: $failed,
                  reason: $reason) { attribute status verifiedBy method evidence dueAt }
}
"""


def test_agent_verifies_and_it_is_audited(world: dict[str, Any]) -> None:
    server, engine, cid = world["server"], world["engine"], world["ids"]["fine"]
    data = _api(server, "agent").query(
        VERIFY, {"id": str(cid), "a": "phone", "how": "CALLBACK", "e": "call-2026-12-03-17"}
    )
    done = data["verifyAttribute"]
    assert (done["status"], done["method"], done["evidence"]) == (
        "verified_staff",
        "callback",
        "call-2026-12-03-17",
    )
    assert done["verifiedBy"] == "test-agent" and done["dueAt"] is not None
    with engine.connect() as conn:
        detail = conn.execute(
            select(t.audit_log.c.detail).where(
                t.audit_log.c.action == "verify", t.audit_log.c.customer_id == cid
            )
        ).scalar_one()
    assert detail["attribute"] == "phone" and detail["roles"] == "agent"


@pytest.mark.parametrize("role", ["marketing", "risk", "compliance"])
def test_others_may_not_verify(world: dict[str, Any], role: str) -> None:
    errors = _api(world["server"], role).errors(
        VERIFY, {"id": str(world["ids"]["fine"]), "a": "phone", "how": "CALLBACK"}
    )
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"a": "shoe_size"}, "attribute"),
        ({"a": "uscc"}, "attribute"),
        ({"a": "phone", "e": "x" * 600}, "evidence"),
        ({"a": "phone", "failed": True}, "reason"),
    ],
)
def test_bad_verifications_name_the_argument(
    world: dict[str, Any], variables: dict[str, Any], argument: str
) -> None:
    errors = _api(world["server"], "admin").errors(
        VERIFY, {"id": str(world["ids"]["fine"]), "how": "DOCUMENT_SEEN", **variables}
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["argument"] == argument


def test_agent_cannot_verify_outside_its_region(world: dict[str, Any]) -> None:
    errors = _api(world["server"], "agent").errors(
        VERIFY, {"id": str(world["ids"]["far"]), "a": "phone", "how": "CALLBACK"}
    )
    assert errors[0]["extensions"]["argument"] == "customerId"


def test_check_document(world: dict[str, Any]) -> None:
    query = """query($t: String!) {
      checkDocument(text: $t) { kind value outcome facts checks { check outcome } }
    }"""
    api = _api(world["server"], "agent")
    data = api.query(query, {"t": "110101900307123"})["checkDocument"]
    assert (data["kind"], data["outcome"], data["value"]) == (
        "id_number",
        "warn",
        "110101199003071233",
    )
    assert data["facts"]["birth_date"] == "1990-03-07"
    assert (
        _api(world["server"], "marketing").errors(query, {"t": "x"})[0]["extensions"]["code"]
        == "FORBIDDEN"
    )
    bad = api.errors(query, {"t": "9" * 100})[0]
    assert bad["extensions"]["argument"] == "text"


def test_overdue_list_within_rows(world: dict[str, Any]) -> None:
    engine, ids = world["engine"], world["ids"]
    with engine.begin() as conn:  # two verifications long past due: one in 浙江, one in 广东
        conn.execute(
            verification_state.delete().where(
                verification_state.c.customer_id.in_([ids["fine"], ids["far"]]),
                verification_state.c.attribute == "name",
            )
        )
        conn.execute(
            verification_state.insert(),
            [
                {
                    "customer_id": cid,
                    "attribute": "name",
                    "status": "verified_staff",
                    "verified_by": "agent-1",
                    "verified_at": utcnow() - timedelta(days=1200),
                    "method": "document_seen",
                    "due_at": utcnow() - timedelta(days=3),
                    "updated_at": utcnow(),
                }
                for cid in (ids["fine"], ids["far"])
            ],
        )
    query = "{ verificationOverdue(first: 50) { customerId attribute status reason } }"
    seen_by_risk = {
        r["customerId"] for r in _api(world["server"], "risk").query(query)["verificationOverdue"]
    }
    seen_by_agent = {
        r["customerId"] for r in _api(world["server"], "agent").query(query)["verificationOverdue"]
    }
    assert {ids["fine"], ids["far"]} <= seen_by_risk
    assert ids["fine"] in seen_by_agent and ids["far"] not in seen_by_agent
    assert _api(world["server"], "marketing").errors(query)[0]["extensions"]["code"] == "FORBIDDEN"


SEARCH = """
query($f: CustomerFilter) {
  customers(filter: $f, first: 20) {
    totalCount edges { node { customerId } }
    facets(fields: [AUTHENTICITY_BAND, AUTHENTICITY_SCORE]) { field values { value count } }
  }
}
"""


def test_band_and_score_are_search_filters_and_facets(world: dict[str, Any]) -> None:
    ids, api = world["ids"], _api(world["server"], "risk")
    with world["engine"].connect() as conn:
        judged = scores_and_bands(conn, ids.values())
    band_of_odd = judged[ids["odd"]][1]
    data = api.query(SEARCH, {"f": {"authenticityBand": band_of_odd}})["customers"]
    found = {e["node"]["customerId"] for e in data["edges"]}
    assert ids["odd"] in found and ids["fine"] not in found
    facets = {f["field"]: {v["value"]: v["count"] for v in f["values"]} for f in data["facets"]}
    assert facets["authenticity_band"] == {band_of_odd: len(found)}
    top = judged[ids["fine"]][0]
    ranged = api.query(SEARCH, {"f": {"authenticityScoreMin": top, "authenticityScoreMax": 100}})
    assert ids["fine"] in {e["node"]["customerId"] for e in ranged["customers"]["edges"]}
    assert ids["odd"] not in {e["node"]["customerId"] for e in ranged["customers"]["edges"]}
    bad = api.errors(SEARCH, {"f": {"authenticityScoreMin": 101}})[0]
    assert bad["extensions"]["argument"] == "filter.authenticityScoreMin"
    bad = api.errors(SEARCH, {"f": {"authenticityBand": "great"}})[0]
    assert bad["extensions"]["argument"] == "filter.authenticityBand"
    # marketing reads the band, not the score: it may filter by the first only
    market = _api(world["server"], "marketing")
    band_only = SEARCH.replace("AUTHENTICITY_BAND, AUTHENTICITY_SCORE", "AUTHENTICITY_BAND")
    counted = market.query(band_only, {"f": {"authenticityBand": band_of_odd}})["customers"]
    assert counted["totalCount"] >= 1
    refused = market.errors(band_only, {"f": {"authenticityScoreMin": 0}})
    assert refused[0]["extensions"]["code"] == "FORBIDDEN"
