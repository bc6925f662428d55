"""c360 — a customer-360 platform.

Subpackages: ``platform`` (runtime and domain), ``connectors`` (plugin contract,
runner, built-in connectors), ``schema`` (GraphQL), ``search`` (search backends),
``auth`` (tokens, roles, policy, masking). See DESIGN.md for the dependency rules.
"""

__version__ = "0.1.0"
