"""SQLAlchemy Core handles on the resolution tables (bulk paths)."""

from __future__ import annotations

from c360.platform.matching import models
from c360.platform.tables import table_of

match_model = table_of(models.MatchModelVersion)
match_key = table_of(models.MatchKey)
match_key_count = table_of(models.MatchKeyCount)
constraint = table_of(models.ResolutionConstraint)
decision = table_of(models.CurationDecision)
flag = table_of(models.ResolutionFlag)
edge = table_of(models.CustomerEdge)
