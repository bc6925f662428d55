"""The bearer tokens a staff session's requests go on to the API with: short-lived
c360 tokens minted for a password session and reused until a minute before they
end, and which sessions were opened with a password (the others, at the OpenID
Connect provider, carry the provider's own token)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, select

from c360.auth.issuing import TokenIssuer
from c360.auth.principal import SCOPES
from c360.auth.staff import SessionInfo
from c360.platform.staff_tables import staff_session

TOKEN_TTL = 300
"""Seconds a minted token lives (re-minted a minute before it ends)."""


def session_key(session: SessionInfo) -> tuple[int, str]:
    """What the caches here know a session by: its id *and* its CSRF token (a
    random value of that session alone), since a database may hand a deleted
    session's id to the next one (SQLite reuses the highest rowid), which must
    not inherit the earlier session's token."""
    return session.id, session.csrf_token


class SessionTokens:
    """Short-lived c360 tokens for sessions, minted once and reused until a
    minute before they end."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self._lock = threading.Lock()
        self._tokens: dict[tuple[int, str], tuple[float, str]] = {}

    def for_session(self, session: SessionInfo) -> str:
        now = time.time()
        with self._lock:
            found = self._tokens.get(session_key(session))
            if found is not None and found[0] - 60 > now:
                return found[1]
            token = self.issuer.issue(
                subject=session.subject,
                roles=session.roles,
                scopes=SCOPES,
                region=list(session.regions) if session.regions else None,
                ttl=TOKEN_TTL,
            )
            if len(self._tokens) > 10_000:
                self._tokens = {k: v for k, v in self._tokens.items() if v[0] > now}
            self._tokens[session_key(session)] = (now + TOKEN_TTL, token)
            return token

    def forget(self, session: SessionInfo) -> None:
        with self._lock:
            self._tokens.pop(session_key(session), None)


class SessionKinds:
    """Whether a session was opened with a staff account's password (it has an
    account) or at the OpenID Connect provider; asked once per session (it
    never changes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._known: dict[tuple[int, str], bool] = {}

    def by_password(self, session: SessionInfo) -> bool:
        session_id = session.id
        known = self._known.get(session_key(session))
        if known is None:
            with self.engine.connect() as conn:
                account = conn.execute(
                    select(staff_session.c.account_id).where(staff_session.c.id == session_id)
                ).scalar()
            known = account is not None
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[session_key(session)] = known
        return known
