"""Match model versions in the database: the newest active one is in force."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from c360.platform.matching.model import MatchModel
from c360.platform.matching.settings import default_settings
from c360.platform.matching.tables import match_model
from c360.platform.models import utcnow


def active_version(conn: Connection) -> int | None:
    """The id of the model version in force (None: the built-in defaults)."""
    return conn.execute(
        select(match_model.c.id)
        .where(match_model.c.active.is_(True))
        .order_by(match_model.c.id.desc())
        .limit(1)
    ).scalar()


def load_model(conn: Connection, version: int | None = None) -> MatchModel:
    """A stored model version (default: the one in force), or the untrained
    default model when none was ever stored."""
    version = active_version(conn) if version is None else version
    if version is None:
        return MatchModel(default_settings())
    row = conn.execute(
        select(match_model.c.settings, match_model.c.parameters).where(match_model.c.id == version)
    ).one()
    return MatchModel.from_json(row.settings, row.parameters, version=version)


def save_model(conn: Connection, model: MatchModel, *, created_by: str = "c360") -> int:
    """Store ``model`` as the new version in force; returns its id."""
    conn.execute(update(match_model).values(active=False))
    records = sum(model.population_by_kind.values()) if model.training else 0
    version = conn.execute(
        match_model.insert()
        .values(
            name=model.settings.name,
            settings=model.settings.model_dump(mode="json"),
            parameters=model.parameters_json(),
            trained_records=records,
            active=True,
            created_by=created_by,
            created_at=utcnow(),
        )
        .returning(match_model.c.id)
    ).scalar_one()
    model.version = int(version)
    return int(version)


__all__ = ["active_version", "load_model", "match_model", "save_model"]
