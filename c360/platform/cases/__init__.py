"""Complaints and feedback (投诉处理): cases linked to a customer, their workflow
(a state machine that is data), SLAs counted in Chinese working hours, surveys,
intake and the analysis report.

Owns the ``case*`` tables. Reads customers (following merges with
:func:`c360.platform.customers.ids.survivor_of`) and writes only its own tables,
business events and the audit log. Imports nothing outside ``c360.platform``.
"""
