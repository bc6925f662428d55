"""The GraphQL schema (strawberry): types, queries, dataloaders and limits.

May import: ``c360.auth``, ``c360.search``, ``c360.platform``.
"""
