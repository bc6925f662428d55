"""Tokens, principals, roles and scopes, the field/row policy and masking.

May import: ``c360.platform``.
"""
