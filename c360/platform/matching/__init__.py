"""Identity resolution beyond exact keys: the match model (settings, Fellegi–Sunter
scoring, unsupervised training), blocking keys kept in the database, the
incremental probabilistic resolver, human constraints, batch rebuild, explanation
and the relationship graph's edges (read back by :mod:`c360.platform.customers.relationships`).

May import: ``c360.platform`` (never the other subpackages).
"""
