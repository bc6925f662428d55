"""The masks the policy applies, as ``c360.auth`` offers them to the schema and
the CLI: the one set lives in :mod:`c360.platform.privacy.masking`, where the
platform's own writers (the resolver's flags) use it too."""

from __future__ import annotations

from c360.platform.privacy.masking import (
    CLEAR_ATTRIBUTES,
    MASKS,
    ORGANIZATION_CLEAR,
    STARS,
    mask_address,
    mask_birth_date,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_value,
    mask_wechat_id,
)

__all__ = [
    "CLEAR_ATTRIBUTES",
    "MASKS",
    "ORGANIZATION_CLEAR",
    "STARS",
    "mask_address",
    "mask_birth_date",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_value",
    "mask_wechat_id",
]
