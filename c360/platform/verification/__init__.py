"""Verification and authenticity (背调 · 真实性 · 资质): is this customer real,
and can we prove it?

Modules, one concern each (what the background-check and data-quality reports
build on — each function named here is the API to use):

``checks``         :class:`~.checks.Check` (pass / warn / fail with a reason) and
                   :class:`~.checks.CheckedValue` (one value, its checks, its facts)
``documents``      resident ids (18 and 15 digits, residence permits, division
                   history as warnings) and unified social credit codes (letter
                   registration authorities, the old 15-digit registration number);
                   :func:`~.documents.check_document` guesses which a text is
``organizations``  the registration authority / entity type table (GB 32100) and
                   an organization's kind (enterprise, 机关, 事业单位, 社会组织…)
``phone``          type, province / city (phonenumbers' geocoder, zh), originally
                   allocated carrier, virtual-operator ranges
``email``          syntax, disposable domains (with an allowlist), role accounts
``address``        an address parsed into province / city / district / detail,
                   former names mapped to current (the parser lives in
                   :mod:`c360.platform.normalize.address`)
``policy``         weights, bands, flag thresholds and re-verification intervals
                   as data (``policy.json``, or ``C360_VERIFICATION_POLICY``)
``models``         the tables (migration ``0008``)
``state``          verification state per attribute: unverified / verified by
                   source / verified by staff (who, when, how, evidence) / failed,
                   due dates, the overdue and stale list
``consistency``    the cross-source matrix of what agrees and what contradicts
``flags``          fraud flags (shared identifiers, velocity, contradictions…)
``score``          the authenticity score 0–100 with every contribution and a band
``judgment``       the refresher the indexer calls (:data:`c360.platform.judgments.REFRESHERS`)
                   and the readers other packages use (:func:`~.judgment.authenticity_of`)

May import: ``c360.platform`` only (it is part of the ground floor).
"""
