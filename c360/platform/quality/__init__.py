"""Data quality (数据质量): how complete, valid, duplicated, fresh and consistent
the data c360 holds is, per source and per attribute, and the quarantine seen
without SQL.

Modules, one concern each:

``reasons``     a refusal's reason as a pattern with the values taken out, so
                reasons can be counted and shown without personal data
``report``      :func:`quality_report`: completeness, validity, duplicates,
                freshness, quarantine and field-rejection reasons, conflicts
``verification_checks``  the verification package's stored checks as
                validity rows (per attribute and per named check)
``quarantine``  the quarantined records and refused values: list, show, and
                retry (re-validate and land a record under today's rules)

Reads the stored records, links, golden profiles and sync runs; writes nothing
of its own (a retry writes through :mod:`c360.platform.ingest`).

May import: ``c360.platform`` only (it is part of the ground floor).
"""
