"""The ground floor: settings, the database and its migrations, records and
normalization, ingest and the resolution backlog, identity resolution, customers
(ids, golden profiles, relationships), stewardship, audit, clients and sources.

May import: nothing else in ``c360``. Everything above (connectors, auth, search,
schema, and the assembly in ``c360/app.py``, ``c360/cli`` and ``c360/demo``)
imports it; ``tests/test_layering.py`` holds the rule.
"""
