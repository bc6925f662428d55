"""Staff accounts and sessions without a browser: Argon2 hashes, the lockout,
administrator locks, sessions that expire, ``c360 users`` (a password shown
once), and the bad-input answers."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, select, update

from c360.auth.issuing import TokenIssuer
from c360.auth.keys import SigningKeys
from c360.auth.staff import (
    MAX_FAILURES,
    SESSION_IDLE,
    AccountError,
    SignInRefused,
    authenticate,
    close_session,
    create_account,
    list_accounts,
    open_session,
    session_of,
    set_locked,
)
from c360.platform.models import utcnow
from c360.platform.staff_tables import staff_account, staff_session
from c360.ui.session_tokens import SessionTokens
from tests.api_helpers import shared_signing_key
from tests.cli_helpers import InProcessCli

PASSWORD = "a long enough password"


def test_passwords_are_argon2_hashes_and_never_stored_in_clear(sqlite_engine: Engine) -> None:
    user, password = create_account(sqlite_engine, "wang", "agent", ["上海"])
    assert user.regions == ("上海",) and len(password) >= 16
    with sqlite_engine.connect() as conn:
        stored = conn.execute(select(staff_account.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored
    assert authenticate(sqlite_engine, "wang", password).name == "wang"


def test_lockout_after_repeated_failures_and_unlock(sqlite_engine: Engine) -> None:
    create_account(sqlite_engine, "li", "risk", password=PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(SignInRefused, match="wrong name or password"):
            authenticate(sqlite_engine, "li", "guess")
    with pytest.raises(SignInRefused, match="locked"):
        authenticate(sqlite_engine, "li", "guess")
    with pytest.raises(SignInRefused, match="locked"):  # even the right password now
        authenticate(sqlite_engine, "li", PASSWORD)
    set_locked(sqlite_engine, "li", False)
    assert authenticate(sqlite_engine, "li", PASSWORD).failed_attempts == 0
    # An unknown name is refused in the same words as a wrong password.
    with pytest.raises(SignInRefused, match=r"^wrong name or password$"):
        authenticate(sqlite_engine, "nobody", PASSWORD)


def test_an_administrator_lock_ends_sessions(sqlite_engine: Engine) -> None:
    user, _ = create_account(sqlite_engine, "zhao", "admin", password=PASSWORD)
    secret, _ = open_session(sqlite_engine, user.subject, [user.role], (), user.id)
    assert session_of(sqlite_engine, secret) is not None
    set_locked(sqlite_engine, "zhao", True)
    assert session_of(sqlite_engine, secret) is None
    with pytest.raises(SignInRefused, match="locked"):
        authenticate(sqlite_engine, "zhao", PASSWORD)


def test_sessions_expire_when_idle_or_old_and_end_on_sign_out(sqlite_engine: Engine) -> None:
    secret, info = open_session(sqlite_engine, "staff:x", ["agent"], ["北京"])
    assert session_of(sqlite_engine, secret) == info
    assert session_of(sqlite_engine, secret + "x") is None
    with sqlite_engine.begin() as conn:
        conn.execute(
            update(staff_session).values(last_seen=utcnow() - SESSION_IDLE - timedelta(seconds=1))
        )
    assert session_of(sqlite_engine, secret) is None  # idle too long: gone
    secret, _ = open_session(sqlite_engine, "staff:x", ["agent"], ["北京"])
    with sqlite_engine.begin() as conn:
        conn.execute(update(staff_session).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert session_of(sqlite_engine, secret) is None
    secret, _ = open_session(sqlite_engine, "staff:x", ["agent"], ["北京"])
    close_session(sqlite_engine, secret)
    assert session_of(sqlite_engine, secret) is None
    with sqlite_engine.connect() as conn:  # the cookie's secret is never stored
        hashes = conn.execute(select(staff_session.c.secret_hash)).scalars().all()
    assert secret not in hashes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "agent", ["上海"]), "name is empty"),
        (("a b", "agent", ["上海"]), "name contains spaces"),
        (("x", "boss", []), "role 'boss' is not one of"),
        (("x", "agent", []), "region is required for role 'agent'"),
        (("x", "agent", ["*"]), "region"),
    ],
)
def test_bad_account_input_names_the_field(
    sqlite_engine: Engine, args: tuple[str, str, list[str]], message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        create_account(sqlite_engine, *args)
    assert list_accounts(sqlite_engine) == []


def test_short_password_and_taken_name(sqlite_engine: Engine) -> None:
    with pytest.raises(AccountError, match="password is shorter than 12"):
        create_account(sqlite_engine, "x", "risk", password="short")
    create_account(sqlite_engine, "x", "risk")
    with pytest.raises(AccountError, match="name 'x' is taken"):
        create_account(sqlite_engine, "x", "admin")


def test_users_cli_prints_the_password_once(cli: InProcessCli) -> None:
    made = cli(["users", "create", "chen", "--role", "agent", "--region", "上海"])
    assert made.exit_code == 0, made.output
    password = made.output.split("password (shown once): ")[1].split()[0]
    engine = create_engine(os.environ["C360_DATABASE_URL"])
    assert authenticate(engine, "chen", password).regions == ("上海",)
    listed = cli(["users", "list"])
    assert "chen" in listed.output and "上海" in listed.output and password not in listed.output
    assert cli(["users", "lock", "chen"]).exit_code == 0
    assert "yes" in cli(["users", "list"]).output
    with pytest.raises(SignInRefused):
        authenticate(engine, "chen", password)
    assert cli(["users", "unlock", "chen"]).exit_code == 0
    assert authenticate(engine, "chen", password).name == "chen"
    bad = cli(["users", "create", "zhou", "--role", "agent"])
    assert bad.exit_code == 2 and "region is required" in bad.output
    assert cli(["users", "lock", "nobody"]).exit_code == 2
    engine.dispose()


def test_a_reused_session_id_does_not_inherit_the_earlier_sessions_token(
    sqlite_engine: Engine,
) -> None:
    """SQLite hands the highest deleted rowid to the next row: a session opened
    after a locked account's session was deleted may get its id, and must not
    get the locked person's cached token."""
    keys = SigningKeys(shared_signing_key(), keep_retired_for=600)
    tokens = SessionTokens(TokenIssuer(keys, issuer="urn:c360", audience="c360-api", ttl=300))
    user, _ = create_account(sqlite_engine, "qian", "admin", password=PASSWORD)
    _, first = open_session(sqlite_engine, user.subject, [user.role], (), user.id)
    minted = tokens.for_session(first)
    assert tokens.for_session(first) == minted  # reused while it lives
    set_locked(sqlite_engine, "qian", True)  # its sessions end
    other, _ = create_account(sqlite_engine, "sun", "agent", ["上海"], PASSWORD)
    _, second = open_session(sqlite_engine, other.subject, [other.role], other.regions, other.id)
    assert second.id == first.id  # the id came back
    assert tokens.for_session(second) != minted
