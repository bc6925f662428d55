"""The background-check report (背调报告) for a demo person and a demo company:
the demo's file sources synced, the bureau stand-in answering one person's and
one company's lookups; the report served over HTTP and by ``c360 report`` in
HTML and PDF (rendered to PNG and read back), masked exactly as the role's
policy says, refused where it says so, and audited as a clear read with its
purpose."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from c360.auth.masking import mask_value
from c360.auth.principal import READ_SCOPE, Principal
from c360.cli.sync import sync_sources
from c360.connectors.credit.enrich import enrich_customer
from c360.connectors.credit.legal_bases import record_legal_basis
from c360.connectors.offline.roots import allow_import_root
from c360.demo.generate import generate_demo_data
from c360.demo.standins import start_standins
from c360.platform.models import AuditLog
from c360.platform.sources import save_source
from c360.platform.verification.judgment import refresh_all
from c360.schema.report_http import produce_report
from tests.api_helpers import Api, Server
from tests.cli_helpers import InProcessCli

PURPOSE = "legal_obligation"


@dataclass
class DemoWorld:
    engine: Engine
    person: int
    company: int
    person_values: dict[str, str]
    company_values: dict[str, str]


def _golden(engine: Engine, customer_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT attributes FROM golden_profile WHERE customer_id = :c"), {"c": customer_id}
        ).scalar_one()
    if isinstance(stored, str):
        stored = json.loads(stored)
    return {name: item["value"] for name, item in stored.items()}


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    dataset = generate_demo_data(tmp_path_factory.mktemp("demo"), 30, 3, seed=360)
    allow_import_root(dataset.directory)
    for src in dataset.sources:
        save_source(module_engine, src.name, src.connector, src.config, trust=src.trust)
    sync_sources(module_engine, [src.name for src in dataset.sources])
    with module_engine.connect() as conn:
        people = (
            conn.execute(
                text(
                    "SELECT c.id FROM customer c JOIN golden_profile g ON g.customer_id = c.id "
                    "WHERE c.kind = 'person' AND c.merged_into IS NULL ORDER BY c.id"
                )
            )
            .scalars()
            .all()
        )
    person = next(
        cid
        for cid in people
        if {"id_number", "phone", "city"} <= _golden(module_engine, cid).keys()
    )
    with module_engine.connect() as conn:
        company = conn.execute(
            text("SELECT min(id) FROM customer WHERE kind = 'organization' AND merged_into IS NULL")
        ).scalar_one()
    with start_standins(seed=360, people=30, companies=3) as standins:
        [bureau] = [s for s in standins.sources() if s.connector == "credit"]
        save_source(module_engine, bureau.name, bureau.connector, bureau.config, trust=bureau.trust)
        record_legal_basis(
            module_engine,
            person,
            purpose="credit_assessment",
            basis="consent",
            evidence="signed form KYC-1",
            recorded_by="test",
        )
        for cid in (person, company):
            outcome = enrich_customer(module_engine, cid, purpose="credit_assessment", actor="test")
            assert outcome.outcome == "charged"
    refresh_all(module_engine)  # the authenticity judgment, as the indexer would
    yield DemoWorld(
        module_engine,
        person,
        company,
        _golden(module_engine, person),
        _golden(module_engine, company),
    )


@pytest.fixture(scope="module")
def server(module_server: Server, world: DemoWorld) -> Server:
    return module_server


def _get(api: Api, url: str, **params: str) -> httpx.Response:
    return httpx.get(url, params=params, headers=api.headers, timeout=60)


def _principal(role: str, **regions: Any) -> Principal:
    return Principal(
        subject=f"test-{role}",
        roles=frozenset({role}),
        scopes=frozenset({READ_SCOPE}),
        regions=frozenset(regions.get("regions", ())),
    )


def pdf_text_and_ink(body: bytes) -> tuple[str, float]:
    """Every page's text, and the share of non-white pixels of page 1 rendered to PNG."""
    assert body.startswith(b"%PDF-")
    document = pdfium.PdfDocument(body)
    try:
        pages = [document[i] for i in range(len(document))]
        text_ = "\n".join(page.get_textpage().get_text_range() for page in pages)
        png = io.BytesIO()
        pages[0].render(scale=1).to_pil().save(png, format="PNG")
    finally:
        document.close()
    image = Image.open(io.BytesIO(png.getvalue())).convert("L")
    histogram = image.histogram()
    ink = sum(histogram[:200]) / (image.width * image.height)
    return text_, ink


def test_a_demo_persons_report_in_html_and_pdf(world: DemoWorld) -> None:
    values = world.person_values
    html = produce_report(
        world.engine, _principal("compliance"), world.person, purpose=PURPOSE, fmt="html"
    ).body.decode()
    for heading in (
        "身份与证件核验",
        "核验状态",
        "一致性",
        "真实性评分",
        "征信结果",
        "涉诉与失信",
        "关联客户",
        "数据来源",
    ):
        assert heading in html
    assert values["id_number"] in html and values["name"] in html  # compliance, with a purpose
    assert "demo-bureau" in html and "credit_assessment" in html
    assert "工商登记" not in html  # a person has no registration section
    # The verification package's judgment, as stored: checks, score, band.
    assert "核验 Checks" in html and "check_character" in html
    assert "评分 score" in html and "评分构成 Contributions" in html
    assert "not verified yet" not in html
    if world.engine.dialect.name != "sqlite":
        return  # the PDF is the same document: rendered once, on SQLite
    produced = produce_report(
        world.engine, _principal("compliance"), world.person, purpose=PURPOSE, fmt="pdf"
    )
    assert produced.media_type == "application/pdf"
    text_, ink = pdf_text_and_ink(produced.body)
    assert "背调报告" in text_ and "征信结果" in text_
    assert values["name"] in text_ and values["id_number"] in text_
    assert 0.01 < ink < 0.6, ink  # text on a white page, not blank, not a black box


def test_a_demo_companys_report_shows_its_registration_and_shareholders(
    world: DemoWorld,
) -> None:
    values = world.company_values
    html = produce_report(
        world.engine, _principal("risk"), world.company, purpose=PURPOSE, fmt="html"
    ).body.decode()
    assert "工商登记 Business registration" in html
    assert values["name"] in html and values["uscc"] in html
    assert "存续" in html or "注销" in html or "吊销" in html
    assert "shareholder_of" in html  # shareholders as graph edges
    assert "legal_representative_of" in html  # its representative among related customers
    if world.engine.dialect.name != "sqlite":
        return
    body = produce_report(
        world.engine, _principal("risk"), world.company, purpose=PURPOSE, fmt="pdf"
    ).body
    text_, ink = pdf_text_and_ink(body)
    assert values["name"] in text_ and "工商登记" in text_ and "shareholder_of" in text_
    assert ink > 0.01


def _audit_rows(engine: Engine, customer_id: int, principal: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditLog)
                .where(AuditLog.customer_id == customer_id, AuditLog.principal == principal)
                .order_by(AuditLog.id)  # type: ignore[arg-type]
            ).all()
        )


def test_an_agent_gets_the_id_number_masked_in_html_and_pdf_over_http(
    server: Server, world: DemoWorld
) -> None:
    values = world.person_values
    clear_id = values["id_number"]
    masked_id = mask_value("id_number", clear_id)
    api = server.api("agent", region=values["city"], subject="agent-report")
    url = f"{server.url}/reports/background/{world.person}"
    formats = ("html", "pdf") if world.engine.dialect.name == "sqlite" else ("html",)
    for fmt in formats:
        response = _get(api, url, format=fmt, purpose=PURPOSE)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        if fmt == "html":
            shown = response.text
            assert "default-src 'none'" in response.headers["content-security-policy"]
        else:
            assert response.headers["content-type"] == "application/pdf"
            shown, ink = pdf_text_and_ink(response.content)
            assert ink > 0.01
        assert clear_id not in shown and masked_id in shown, fmt
        assert values["phone"] in shown  # an agent reads phones in clear: only what the table masks
    rows = _audit_rows(world.engine, world.person, "agent-report")
    last = [r for r in rows if r.action == "read"][-1]
    refused = [r for r in rows if r.action == "refuse"][-1]
    assert last.purpose == refused.purpose == PURPOSE
    assert "credit_score" in refused.fields  # bureau figures: hidden from agents
    assert {"background_report", "phone"} <= set(last.fields) and "id_number" not in last.fields
    assert last.detail["report"] == "background"


def test_a_report_is_audited_as_a_clear_read_with_its_purpose(world: DemoWorld) -> None:
    principal = Principal(
        subject="auditor-1", roles=frozenset({"compliance"}), scopes=frozenset({READ_SCOPE})
    )
    produce_report(world.engine, principal, world.person, purpose=PURPOSE, fmt="html")
    [row] = [r for r in _audit_rows(world.engine, world.person, "auditor-1") if r.action == "read"]
    assert (row.purpose, row.customer_id) == (PURPOSE, world.person)
    assert {"background_report", "id_number", "name", "phone"} <= set(row.fields)
    assert row.detail["format"] == "html"


def test_refusals_over_http(server: Server, world: DemoWorld) -> None:
    url = f"{server.url}/reports/background/{world.person}"
    marketing = server.api("marketing", subject="marketing-report")
    refused = _get(marketing, url, purpose=PURPOSE)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert world.person_values["name"] not in refused.text
    [row] = _audit_rows(world.engine, world.person, "marketing-report")  # refused: nothing read
    assert row.action == "refuse" and "background_report" in row.fields
    compliance = server.api("compliance")
    no_purpose = _get(compliance, url)
    assert no_purpose.status_code == 403 and "purpose" in no_purpose.json()["errors"][0]["message"]
    bad_purpose = _get(compliance, url, purpose="curiosity")
    assert bad_purpose.status_code == 400 and "purpose" in bad_purpose.text
    bad_format = _get(compliance, url, purpose=PURPOSE, format="docx")
    assert bad_format.status_code == 400 and "format" in bad_format.text
    missing = _get(compliance, f"{server.url}/reports/background/99999999", purpose=PURPOSE)
    assert missing.status_code == 404
    not_a_number = _get(compliance, f"{server.url}/reports/background/x1", purpose=PURPOSE)
    assert not_a_number.status_code == 400
    elsewhere = _get(server.api("agent", region="拉萨"), url, purpose=PURPOSE)
    assert elsewhere.status_code == 404  # outside the agent's rows: as if unknown
    anonymous = _get(server.anonymous, url, purpose=PURPOSE)
    assert anonymous.status_code == 401


def test_cli_report_writes_the_file(world: DemoWorld, tmp_path: Path) -> None:
    url = world.engine.url.render_as_string(hide_password=False)
    cli = InProcessCli()
    out = tmp_path / "report.html"
    args = ["report", str(world.company), "--purpose", PURPOSE, "--format", "html"]
    result = cli([*args, "--out", str(out), "--role", "admin"], C360_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    assert world.company_values["name"] in out.read_text(encoding="utf-8")
    wrong = cli([*args[:-1], "docx"], C360_DATABASE_URL=url)
    assert wrong.exit_code == 2 and "--format" in wrong.output
    refused = cli([*args, "--role", "marketing"], C360_DATABASE_URL=url)
    assert refused.exit_code == 2 and "refused" in refused.output
