"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL.

The PostgreSQL leg runs against ``C360_TEST_POSTGRES_URL`` (default: the local
server at 127.0.0.1:5432, database ``test``). When PostgreSQL is unreachable the
leg skips locally but *fails* under ``CI=true``.

Migrating takes about a second a database, and most tests want a fresh one, so
each test process migrates once per backend and every test gets a copy: of the
SQLite file, or a PostgreSQL database created from a migrated template database
(``CREATE DATABASE … TEMPLATE``, tens of milliseconds). Tests about migrating
itself use :func:`postgres_engine_in_fresh_schema` or an empty SQLite file.

The fixtures several test modules share live here too (a served app and its
administrator client, the seeded API and policy worlds, the webhook app, the
CLI environment, the search backends); the builders they use live in the
``tests/*_helpers.py`` modules, so no test module imports another.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette

from c360.connectors.web.webhook import (
    webhook_routes,
)
from c360.platform.db import make_engine, migrate
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from c360.search.contract import SearchBackend
from tests.api_helpers import PURPOSE, Api, Server, make_settings, serve
from tests.api_world import World, seed
from tests.cli_helpers import InProcessCli
from tests.policy_helpers import (
    Matrix,
    seed_matrix,
)
from tests.search_helpers import BACKENDS, make_backend
from tests.webhook_helpers import HookServer, source_config

# A developer's own C360_* settings (a search backend, an OIDC issuer, a database)
# would leak into the tests and into the `c360` processes they start, which copy
# the environment: the tests run on c360's defaults and the settings they give.
# C360_TEST_* variables are the tests' own (the PostgreSQL and OpenSearch legs).
for _name in [name for name in os.environ if name.startswith("C360_")]:
    if not _name.startswith("C360_TEST_"):
        del os.environ[_name]

# The audit chain and the credit subject digests are keyed (c360.platform.secret_keys):
# one random key each for the test session, in the environment so that in-process
# writers and the `c360` subprocesses they start share it (rather than each data
# dir growing a key of its own). tests/test_audit_keyed.py unsets them to test the
# key files.
os.environ.setdefault("C360_AUDIT_KEY", secrets.token_hex(32))
os.environ.setdefault("C360_SUBJECT_KEY", secrets.token_hex(32))

# Offline sources may only read files under import roots (c360.connectors.offline.roots):
# the tests keep theirs in pytest's temporary directories, so that is their root
# (inherited by the `c360` subprocesses they start). tests/test_offline_confinement.py
# sets its own.
os.environ.setdefault("C360_IMPORT_ROOTS", tempfile.gettempdir())

POSTGRES_URL = os.environ.get(
    "C360_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@functools.cache
def _postgres_available() -> str | None:
    """Why PostgreSQL cannot be reached (None when it can), asked once a process."""
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip/fail message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _require_postgres() -> None:
    """Skip the PostgreSQL leg when the server is unreachable, or fail under CI."""
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} unreachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL leg must run)")
        pytest.skip(message)


def postgres_engine_in_fresh_schema() -> tuple[Engine, str]:
    """An engine whose connections use a brand-new schema (caller drops it)."""
    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


def drop_postgres_schema(schema: str) -> None:
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _postgres_admin() -> Engine:
    _require_postgres()
    return make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _database_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file for this test process, copied by each test."""
    path = tmp_path_factory.mktemp("template") / "c360.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


_SCHEMA_FINGERPRINT = text(
    "SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public')"
    " || '/' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')"
    " || '/' || (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n"
    " ON n.oid = c.connamespace WHERE n.nspname = 'public')"
)


class PostgresCopies:
    """This test process's migrated template and the databases copied from it.

    A copy costs about 0.4 s to create (the server writes the whole catalogue),
    and the suite uses some seven hundred; so a copy a test is done with is
    emptied and handed to the next one instead of dropped. Emptying ends every
    other session on it (as DROP ... WITH (FORCE) would), deletes every row
    but the migration's own (the seed rows are put back), restarts every
    sequence, and checks the schema is still the template's: a copy whose
    schema a test changed, or that cannot be emptied, is dropped."""

    def __init__(self, admin: Engine, template: str) -> None:
        self.admin = admin
        self.template = template
        self.free: list[str] = []
        self.made: list[str] = []
        engine = make_engine(_database_url(template))
        with engine.connect() as conn:
            self.fingerprint = conn.execute(_SCHEMA_FINGERPRINT).scalar_one()
            self.tables = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version' ORDER BY tablename"
                    )
                )
            ]
            self.sequences = [
                r[0]
                for r in conn.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                )
            ]
            self.seed: dict[str, str] = {}
            for table in self.tables:
                rows = conn.execute(
                    text(f"SELECT coalesce(json_agg(t), '[]') FROM \"{table}\" t")
                ).scalar_one()
                if rows:
                    self.seed[table] = json.dumps(rows)
        engine.dispose()

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.made.append(name)
        return name

    def give_back(self, name: str) -> None:
        if self._emptied(name):
            self.free.append(name)
            return
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.made.remove(name)

    def _emptied(self, name: str) -> bool:
        engine = make_engine(_database_url(name), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                conn.commit()
                if conn.execute(_SCHEMA_FINGERPRINT).scalar_one() != self.fingerprint:
                    return False
                # Foreign keys are not checked while the rows go (any order will do).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in self.tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))
                for table, rows in self.seed.items():
                    conn.execute(
                        text(
                            f'INSERT INTO "{table}" SELECT * FROM '
                            f'json_populate_recordset(NULL::"{table}", CAST(:rows AS json))'
                        ),
                        {"rows": rows},
                    )
                for sequence in self.sequences:
                    conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
                conn.commit()
            return True
        except Exception:  # any failure: the copy is dropped instead
            return False
        finally:
            engine.dispose()

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in [*self.made, self.template]:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresCopies]:
    """A migrated PostgreSQL database for this test process, the template of
    each test's database (nobody connects to it after the migration), and the
    copies made from it."""
    admin = _postgres_admin()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"c360_template_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_database_url(name))
    migrate(engine)
    engine.dispose()
    copies = PostgresCopies(admin, name)
    yield copies
    copies.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with the schema migrated to head, on each backend: a copy
    of the process's template, so subprocesses (``c360 sync``) given the URL
    land in the same database."""
    yield from _copy_of_template(request, tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on SQLite and on PostgreSQL (the test runs twice)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _copy_of_template(request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """A migrated database on ``request.param``'s backend, dropped afterwards."""
    if request.param == "sqlite":
        path = directory / "c360.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    copies: PostgresCopies = request.getfixturevalue("postgres_template")
    name = copies.take()
    try:
        yield _database_url(name)
    finally:
        copies.give_back(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated database per test module and backend, for tests that only
    read what the module seeded into it (audit rows of their reads pile up,
    which no such test counts). Under xdist each worker gets its own."""
    for url in _copy_of_template(request, tmp_path_factory.mktemp("module-db")):
        eng = make_engine(url)
        yield eng
        eng.dispose()


@pytest.fixture(scope="module")
def module_server(
    module_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The app served over :func:`module_engine`, once per module and backend."""
    yield from serve(module_engine, make_settings(tmp_path_factory.mktemp("module-server")))


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite engine, for tests about SQLite-only behaviour."""
    shutil.copyfile(sqlite_template, tmp_path / "c360.db")
    eng = make_engine(f"sqlite:///{tmp_path / 'c360.db'}")
    yield eng
    eng.dispose()


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    """The app served over ``engine`` with default settings."""
    yield from serve(engine, make_settings(tmp_path))


@pytest.fixture
def api(server: Server) -> Api:
    """An administrator declaring a purpose: reads everything in clear."""
    return server.api("admin", purpose=PURPOSE)


@pytest.fixture
def world(engine: Engine) -> World:
    """The API tests' seeded world (search tests override it with theirs)."""
    return seed(engine)


@pytest.fixture
def matrix(engine: Engine) -> Matrix:
    """The role × field matrix's customers."""
    return seed_matrix(engine)


@pytest.fixture
def hooks(engine: Engine) -> Iterator[str]:
    """The URL of the webhook routes for the ``shop`` source (not drained)."""
    save_source(engine, "shop", "web", source_config())
    with HookServer(Starlette(routes=webhook_routes(engine, drain=False))) as server:
        yield server.url


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``c360`` subprocess on this test's database."""
    env = dict(os.environ)
    env.update(
        {
            "C360_DATABASE_URL": db_url,
            "C360_DATA_DIR": str(tmp_path / "data"),
            "C360_BATCH_SIZE": "200",
        }
    )
    return env


@pytest.fixture
def cli(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InProcessCli]:
    """``c360`` in this process on a migrated SQLite copy: for argument and
    config errors, which do not depend on the backend or on a process."""
    shutil.copyfile(sqlite_template, tmp_path / "c360.db")
    monkeypatch.setenv("C360_DATABASE_URL", f"sqlite:///{tmp_path / 'c360.db'}")
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path / "data"))
    yield InProcessCli()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def osmem_instance() -> Iterator[Any]:
    """One osmem-server for the session (each test gets its own clone)."""
    try:
        from osmem_server import OsmemServer

        server = OsmemServer.start(japanese=False)
    except Exception as exc:  # the reason is shown in the skip/fail message
        message = f"osmem-server unavailable: {type(exc).__name__}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the OpenSearch leg must run)")
        pytest.skip(message)
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> SearchBackend:
    """Each search backend in turn (the test runs once per backend)."""
    return make_backend(request, request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated to 0005 (before migration 0006 keyed the audit chain and
    the credit digests), on each backend: for the tests of that migration."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        migrate(engine, "0005")
        yield engine
        engine.dispose()
        return
    engine, schema = postgres_engine_in_fresh_schema()
    migrate(engine, "0005")
    yield engine
    engine.dispose()
    drop_postgres_schema(schema)


@pytest.fixture
def field_encryption_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Field encryption on for one test, under fresh master and index keys."""
    monkeypatch.setenv("C360_FIELD_ENCRYPTION", "on")
    monkeypatch.setenv("C360_MASTER_KEY", secrets.token_hex(32))
    monkeypatch.setenv("C360_INDEX_KEY", secrets.token_hex(32))
