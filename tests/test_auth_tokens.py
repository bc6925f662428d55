"""Tokens over real HTTP: every way a token can be wrong is a 401 that says what
is wrong and serves nothing; c360's own token endpoint (client credentials) and
JWKS; an external OIDC provider played by a real HTTP server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from c360.auth.config import AuthSettings
from c360.auth.keys import SigningKeys, load_or_create_signing_key
from c360.auth.oidc import OidcProvider
from c360.platform.clients import create_client, revoke_client
from c360.platform.models import AuditLog
from tests.api_helpers import Api, Provider, Server, make_settings, serve
from tests.api_world import CLEAR_VALUES, World, seed

QUERY = """
query($id: ID!) { customer(id: $id) { displayName phone: attribute(name: "phone") { value } } }
"""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def read_entries(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(AuditLog)).one()


def assert_refused(response: httpx.Response, fragment: str, status: int = 401) -> None:
    """Refused with ``status``, a message containing ``fragment``, and nothing served."""
    assert response.status_code == status, response.text
    body = response.json()
    assert fragment in body["error_description"], body
    assert body["errors"][0]["message"] == body["error_description"]
    assert "data" not in body
    for clear in CLEAR_VALUES:
        assert clear not in response.text
    if status == 401:
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="c360"')
        assert 'error="invalid_token"' in challenge


# The refusal tests only read: they share one served app and one seeded world
# per backend for the module. The tests that write (clients, the audit of
# issued tokens) get their own (own_*).


@pytest.fixture(scope="module")
def server(module_server: Server) -> Server:
    return module_server


@pytest.fixture(scope="module")
def world(module_engine: Engine) -> World:
    return seed(module_engine)


@pytest.fixture
def own_server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    yield from serve(engine, make_settings(tmp_path))


@pytest.fixture
def own_world(engine: Engine) -> World:
    return seed(engine)


# --- the token failures ---------------------------------------------------------------


def test_a_valid_token_is_served(server: Server, world: World) -> None:
    data = server.api("agent", region="北京").query(QUERY, {"id": str(world.zhang)})
    assert data["customer"]["phone"]["value"] == "+8613800138000"


def test_missing_or_malformed_authorization_is_401(server: Server, world: World) -> None:
    before = read_entries_safe(server)
    anonymous = server.anonymous
    assert_refused(anonymous.raw(QUERY, {"id": str(world.zhang)}), "no bearer token")
    assert_refused(
        anonymous.raw(QUERY, {"id": str(world.zhang)}, Authorization="Basic dXNlcjpwYXNz"),
        "must be 'Bearer <token>'",
    )
    assert_refused(
        anonymous.raw(QUERY, {"id": str(world.zhang)}, Authorization="Bearer not-a-jwt"),
        "not a JWT",
    )
    assert_refused(
        anonymous.raw(QUERY, {"id": str(world.zhang)}, Authorization="Bearer a.b.c"),
        "not a well-formed JWT",
    )
    # GET queries are guarded the same way.
    get = httpx.get(f"{server.url}/graphql", params={"query": "{ customers { totalCount } }"})
    assert_refused(get, "no bearer token")
    assert read_entries_safe(server) == before


def read_entries_safe(server: Server) -> int:
    return read_entries(server.app.state.engine)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_expired_token_is_401(server: Server, world: World) -> None:
    claims = server.issuer.claims(subject="late", roles=["admin"])
    claims.update(iat=claims["iat"] - 7200, nbf=claims["nbf"] - 7200, exp=claims["iat"] - 3600)
    response = server.anonymous.raw(
        QUERY, {"id": str(world.zhang)}, **_bearer(server.issuer.sign(claims))
    )
    assert_refused(response, "the token expired at")


def test_token_not_yet_valid_is_401(server: Server, world: World) -> None:
    claims = server.issuer.claims(subject="early", roles=["admin"])
    claims["nbf"] = claims["iat"] + 3600
    response = server.anonymous.raw(
        QUERY, {"id": str(world.zhang)}, **_bearer(server.issuer.sign(claims))
    )
    assert_refused(response, "not valid before")


def test_wrong_audience_is_401(server: Server, world: World) -> None:
    claims = server.issuer.claims(subject="elsewhere", roles=["admin"])
    claims["aud"] = "billing-api"
    response = server.anonymous.raw(
        QUERY, {"id": str(world.zhang)}, **_bearer(server.issuer.sign(claims))
    )
    assert_refused(response, "not meant for this API: its audience is 'billing-api'")


def test_wrong_issuer_is_401(server: Server, world: World) -> None:
    claims = server.issuer.claims(subject="forger", roles=["admin"])
    claims["iss"] = "https://evil.example"
    response = server.anonymous.raw(
        QUERY, {"id": str(world.zhang)}, **_bearer(server.issuer.sign(claims))
    )
    assert_refused(response, "issuer 'https://evil.example' is not trusted")


def test_missing_subject_is_401(server: Server, world: World) -> None:
    claims = server.issuer.claims(subject="x", roles=["admin"])
    del claims["sub"]
    response = server.anonymous.raw(
        QUERY, {"id": str(world.zhang)}, **_bearer(server.issuer.sign(claims))
    )
    assert_refused(response, "lacks the claim(s) sub")


def test_bad_signature_is_401(server: Server, world: World) -> None:
    """Signed by another key under c360's key id: the signature does not verify."""
    impostor = RSAKey.generate_key(2048, private=True)
    own_kid = server.app.state.auth.keys.key.kid
    claims = server.issuer.claims(subject="impostor", roles=["admin"])
    token = jwt.encode({"alg": "RS256", "kid": own_kid}, claims, impostor)
    response = server.anonymous.raw(QUERY, {"id": str(world.zhang)}, **_bearer(token))
    assert_refused(response, "signature does not verify")
    # A tampered payload under the real signature fails the same way.
    good = server.token("marketing").split(".")
    forged = server.issuer.claims(subject="test-marketing", roles=["admin"])
    tampered = f"{good[0]}.{segment(forged)}.{good[2]}"
    response = server.anonymous.raw(QUERY, {"id": str(world.zhang)}, **_bearer(tampered))
    assert_refused(response, "signature does not verify")


def test_alg_none_is_401(server: Server, world: World) -> None:
    claims = server.issuer.claims(subject="none", roles=["admin"])
    for alg in ("none", "None", "NONE"):
        token = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims)}."
        response = server.anonymous.raw(QUERY, {"id": str(world.zhang)}, **_bearer(token))
        assert_refused(response, f"algorithm '{alg}' is not accepted")


def test_hs256_signed_with_the_public_key_is_401(server: Server, world: World) -> None:
    """The HS/RS confusion: an HMAC keyed with c360's public key (the attacker has
    it from the JWKS) must not pass for an RSA signature."""
    key = server.app.state.auth.keys.key
    public_pem = key.as_pem(private=False)
    claims = server.issuer.claims(subject="confused", roles=["admin"])
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{segment(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    response = server.anonymous.raw(QUERY, {"id": str(world.zhang)}, **_bearer(token))
    assert_refused(response, "algorithm 'HS256' is not accepted")


def test_unknown_key_id_is_401_after_one_reload(server: Server, world: World) -> None:
    other = RSAKey.generate_key(2048, private=True)
    claims = server.issuer.claims(subject="rotated", roles=["admin"])
    token = jwt.encode({"alg": "RS256", "kid": "retired-key"}, claims, other)
    response = server.anonymous.raw(QUERY, {"id": str(world.zhang)}, **_bearer(token))
    assert_refused(response, "no signing key of c360 has key id 'retired-key'")


def test_a_token_without_a_c360_role_is_403(server: Server, world: World) -> None:
    response = server.api().raw(QUERY, {"id": str(world.zhang)})
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "insufficient_scope"
    assert "no c360 role" in body["error_description"]
    # Roles c360 does not know are ignored, not guessed at.
    response = server.api("superuser").raw(QUERY, {"id": str(world.zhang)})
    assert response.status_code == 403


def test_healthz_needs_no_token(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").status_code == 200


# --- c360's own tokens ----------------------------------------------------------------


def test_signing_key_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "token-signing-key.json"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_or_create_signing_key(path)
    assert again.kid == first.kid
    keys = SigningKeys(path)
    assert str(path) in repr(keys)
    assert first.as_dict(private=True)["d"] not in repr(keys)
    public = keys.public_jwks()["keys"]
    assert len(public) == 1 and "d" not in public[0] and public[0]["kid"] == first.kid
    # A key file others can read is tightened, not trusted as is.
    os.chmod(path, 0o644)
    load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_material_never_reaches_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    key = load_or_create_signing_key(tmp_path / "k.json")
    secret_parts = [v for k, v in key.as_dict(private=True).items() if k in ("d", "p", "q")]
    for part in secret_parts:
        assert part not in caplog.text


def test_client_credentials_grant_issues_a_working_token(
    own_server: Server, engine: Engine, own_world: World
) -> None:
    info, secret = create_client(
        engine,
        "crm-app",
        role="agent",
        scopes=["customers:read", "customers:write"],
        region="北京",
    )
    response = httpx.post(
        f"{own_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(info.client_id, secret),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] == own_server.issuer.ttl
    assert token["scope"] == "customers:read customers:write"
    api = Api(own_server.url, {"Authorization": f"Bearer {token['access_token']}"})
    data = api.query(QUERY, {"id": str(own_world.zhang)})
    assert data["customer"]["displayName"] == "张伟东"  # agents read names in clear

    # The token verifies against the published JWKS, with the advertised claims.
    jwks = httpx.get(f"{own_server.url}/.well-known/jwks.json").json()
    decoded = jwt.decode(token["access_token"], KeySet.import_key_set(jwks))
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["roles"] == ["agent"]
    assert decoded.claims["client_id"] == "crm-app"
    assert decoded.claims["aud"] == "c360-api"
    metadata = httpx.get(f"{own_server.url}/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"].endswith("/oauth/token")
    assert metadata["grant_types_supported"] == ["client_credentials"]

    # client_secret_post works too, and a narrower scope can be asked for.
    narrow = httpx.post(
        f"{own_server.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "crm-app",
            "client_secret": secret,
            "scope": "customers:read",
        },
    ).json()
    assert narrow["scope"] == "customers:read"


def test_token_endpoint_refusals(own_server: Server, engine: Engine) -> None:
    info, secret = create_client(engine, "batch-job", role="marketing", scopes=["customers:read"])
    url = f"{own_server.url}/oauth/token"
    wrong = httpx.post(url, data={"grant_type": "client_credentials"}, auth=("batch-job", "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = httpx.post(url, data={"grant_type": "client_credentials"}, auth=("ghost", secret))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    grant = httpx.post(url, data={"grant_type": "password"}, auth=("batch-job", secret))
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = httpx.post(
        url,
        data={"grant_type": "client_credentials", "scope": "everything"},
        auth=("batch-job", secret),
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    json_body = httpx.post(
        url, json={"grant_type": "client_credentials"}, auth=(info.client_id, secret)
    )
    assert json_body.status_code == 400
    assert "x-www-form-urlencoded" in json_body.json()["error_description"]
    revoke_client(engine, "batch-job")
    revoked = httpx.post(url, data={"grant_type": "client_credentials"}, auth=("batch-job", secret))
    assert revoked.status_code == 401 and revoked.json()["error"] == "invalid_client"


def test_token_issuance_is_audited(own_server: Server, engine: Engine) -> None:
    _, secret = create_client(engine, "audited-app", role="risk", scopes=["customers:read"])
    response = httpx.post(
        f"{own_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("audited-app", secret),
    )
    assert response.status_code == 200
    with Session(engine) as session:
        rows = session.exec(select(AuditLog).where(AuditLog.action == "token.issue")).all()
    assert [(r.principal, r.client) for r in rows] == [("audited-app", "audited-app")]
    assert secret not in json.dumps([r.detail for r in rows])
    assert response.json()["access_token"] not in json.dumps([r.detail for r in rows])


def test_self_issued_tokens_can_be_turned_off(
    engine: Engine, tmp_path: Path, own_world: World
) -> None:
    settings = make_settings(tmp_path, self_issued_tokens=False)
    for served in serve(engine, settings):
        token = served.token("admin")
        response = served.anonymous.raw(QUERY, {"id": str(own_world.zhang)}, **_bearer(token))
        assert_refused(response, "issuer 'urn:c360' is not trusted")
        assert httpx.post(f"{served.url}/oauth/token").status_code == 404


# --- an external OIDC provider --------------------------------------------------------


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.stop()


@pytest.fixture
def oidc_server(engine: Engine, tmp_path: Path, provider: Provider) -> Iterator[Server]:
    settings = make_settings(
        tmp_path,
        oidc_issuer=provider.issuer,
        oidc_roles_claim="realm_access.roles",
        region_claim="office",
        jwks_refresh_interval=0,
    )
    yield from serve(engine, settings)


def test_oidc_tokens_are_verified_through_the_providers_jwks(
    oidc_server: Server, provider: Provider, own_world: World, engine: Engine
) -> None:
    api = Api(oidc_server.url, _bearer(provider.token()))
    data = api.query(QUERY, {"id": str(own_world.zhang)})
    assert data["customer"]["phone"]["value"] == "+8613800138000"
    assert provider.jwks_fetches == 1
    api.query(QUERY, {"id": str(own_world.zhang)})
    assert provider.jwks_fetches == 1  # cached
    # The claims became the principal: roles from realm_access, region from office,
    # the client from azp; the audit log says so.
    with Session(engine) as session:
        row = session.exec(select(AuditLog).where(AuditLog.action == "read")).first()
    assert row is not None
    assert (row.principal, row.client) == ("staff-0042", "staff-portal")
    assert row.detail["roles"] == "agent"


def test_oidc_key_rotation_refreshes_once_then_refuses_unknown_keys(
    oidc_server: Server, provider: Provider, own_world: World
) -> None:
    assert Api(oidc_server.url, _bearer(provider.token())).post(QUERY, {"id": str(own_world.zhang)})
    assert provider.jwks_fetches == 1
    provider.keys = [ECKey.generate_key("P-256", private=True, auto_kid=True)]
    rotated = Api(oidc_server.url, _bearer(provider.token()))
    rotated.query(QUERY, {"id": str(own_world.zhang)})
    assert provider.jwks_fetches == 2  # one refresh for the new key id
    stranger = ECKey.generate_key("P-256", private=True)
    response = oidc_server.anonymous.raw(
        QUERY,
        {"id": str(own_world.zhang)},
        **_bearer(provider.token(stranger, kid="not-published")),
    )
    assert_refused(response, "no signing key of the identity provider has key id 'not-published'")
    assert provider.jwks_fetches == 3  # refreshed once more, then refused


def test_oidc_token_checks(oidc_server: Server, provider: Provider, own_world: World) -> None:
    variables = {"id": str(own_world.zhang)}
    wrong_aud = provider.token(aud="someone-else")
    assert_refused(
        oidc_server.anonymous.raw(QUERY, variables, **_bearer(wrong_aud)), "not meant for this API"
    )
    expired = provider.token(exp=int(time.time()) - 600, iat=int(time.time()) - 900)
    assert_refused(oidc_server.anonymous.raw(QUERY, variables, **_bearer(expired)), "expired")
    # Signed by a stranger under the provider's key id.
    forged = provider.token(ECKey.generate_key("P-256", private=True), kid=provider.keys[0].kid)
    assert_refused(
        oidc_server.anonymous.raw(QUERY, variables, **_bearer(forged)), "signature does not verify"
    )
    # c360's own tokens are still accepted beside the provider's.
    oidc_server.api("admin", purpose="service").query(QUERY, variables)


def test_oidc_provider_down_is_503_and_serves_nothing(
    oidc_server: Server, provider: Provider, own_world: World
) -> None:
    token = provider.token()
    provider.stop()
    response = oidc_server.anonymous.raw(QUERY, {"id": str(own_world.zhang)}, **_bearer(token))
    assert response.status_code == 503
    assert "identity provider" in response.json()["error_description"]
    assert "data" not in response.json()


def test_oidc_issuer_must_be_https_off_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        OidcProvider("http://idp.example.com/realms/c360")
    OidcProvider("https://idp.example.com/realms/c360")


def test_auth_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_OIDC_ISSUER", "https://idp.example.com")
    monkeypatch.setenv("C360_TOKEN_AUDIENCE", "crm")
    settings = AuthSettings()
    assert settings.oidc_issuer == "https://idp.example.com"
    assert settings.accepted_oidc_audience == "crm"


def test_token_endpoint_attempts_are_rate_limited(engine: Engine, tmp_path: Path) -> None:
    # One token a minute: each 401 checks a dummy scrypt hash, and three of them may
    # take over a second on a loaded machine; the burst must not refill meanwhile.
    settings = make_settings(tmp_path, rate_limit_per_minute=1, rate_limit_burst=2)
    for served in serve(engine, settings):
        url = f"{served.url}/oauth/token"
        attempts = [
            httpx.post(url, data={"grant_type": "client_credentials"}, auth=("ghost", "guess"))
            for _ in range(3)
        ]
        assert [a.status_code for a in attempts] == [401, 401, 429]
        assert attempts[2].json()["error"] == "slow_down"
        assert int(attempts[2].headers["retry-after"]) >= 1
