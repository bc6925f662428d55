"""c360 — a customer-360 platform.

The floors, each importing only those below it (``tests/test_layering.py``
holds the rule, and fails for a package on no floor):

- ``platform``: the ground floor — settings, the database and its migrations,
  records and normalization, ingest and the resolution backlog, identity
  resolution, customers, stewardship, audit, privacy, verification, credit,
  value, cases and outbound events. It imports nothing else in ``c360``.
- ``connectors`` (the plugin contract, runner, scheduler and built-in
  connectors), ``auth`` (tokens, roles, the field and row policy, masking) and
  ``search`` (the search contract, backends and indexer): each imports only
  itself and ``platform``.
- ``schema`` (the GraphQL API) imports ``auth``, ``search`` and ``platform``;
  ``ui`` (the staff workspace) imports ``auth`` and ``platform``.
- The assembly, which may import anything and which nothing below imports:
  ``app`` and ``graphql_app`` (the ASGI application), ``http_limits``, ``cli``
  (the ``c360`` command), ``demo``, ``ops`` and ``observability``.
"""

__version__ = "0.1.0"
