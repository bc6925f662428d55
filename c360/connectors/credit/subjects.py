"""How credit lookups know their subject: a keyed digest (:func:`subject_hash`)
for the cache and the ledger, and masked text (:func:`masked`) for people to
read; the clear identifier is never stored."""

from __future__ import annotations

import hashlib
import hmac

from c360.platform.privacy.masking import mask_id_number
from c360.platform.secret_keys import SUBJECT_KEY, load_key


def subject_hash(kind: str, subject_id: str, *, key: bytes | None = None) -> str:
    """The digest the cache and the ledger know a subject by: HMAC-SHA256 under the
    credit subject key (``C360_SUBJECT_KEY``, else ``<data dir>/keys/credit-subject-key``),
    so a digest read from the database cannot be reversed by trying the id numbers
    a known structure allows. Migration ``0006`` re-keyed the plain SHA-256
    digests of earlier versions."""
    message = f"c360-credit-subject:{kind}:{subject_id}".encode()
    return hmac.new(key or load_key(SUBJECT_KEY), message, hashlib.sha256).hexdigest()


def masked(kind: str, subject_id: str) -> str:
    """A USCC as is (it is public); a resident id with the one id-number mask
    (``1101**********123X``)."""
    if kind == "organization":
        return subject_id
    return mask_id_number(subject_id)
