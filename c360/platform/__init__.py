"""Runtime and domain: settings, database, models, normalization, ingest, identity
resolution, golden profiles, audit, the CLI and ASGI app assembly.

May import: nothing else in ``c360``, except ``app.py`` and ``cli.py``, which
assemble the other subpackages into the running product.
"""
