"""Customer search: the search contract, backends, analyzers and the indexer.

May import: ``c360.platform``.
"""
