"""Tokens, principals, roles and scopes, the field/row policy and masking.

* :mod:`c360.auth.policy` — THE policy table (roles × fields, rows, mutations,
  purposes) and the questions everything else asks it (``decide``,
  ``may_search``, ``row_scope``, ``may_run``);
* :mod:`c360.auth.masking` — the masks themselves;
* :mod:`c360.auth.principal` — who is asking;
* :mod:`c360.auth.tokens` — issuing and verifying JWTs (joserfc), the OIDC
  provider's keys; :mod:`c360.auth.keys` — c360's signing key on disk;
* :mod:`c360.auth.oauth` — ``POST /oauth/token`` (authlib, client credentials);
* :mod:`c360.auth.gate` — bearer token → principal, rate limit, or 401/403/429;
* :mod:`c360.cli.auth` — ``c360 clients``, ``c360 token``, ``c360 audit``,
  ``c360 policy``;
* :mod:`c360.auth.config` — the ``C360_*`` settings of all the above.

May import: ``c360.platform``.
"""
