"""The background-check report's facts (背调报告): everything c360 knows that
says whether a customer is who they say they are, for one customer, with where
each fact came from and when.

Modules, one concern each:

``facts``  :func:`~.facts.gather`: the golden profile with lineage, the source
           records with their dates, values refused at ingest and warnings,
           the verification results and authenticity score where the
           verification package has computed them, credit-bureau answers and
           court listings, the registration and shareholders of an
           organization, the internal credit grade, related customers.

Facts are returned as stored (clear): serving them to a person is the schema's
job (:mod:`c360.schema.background`), through the policy table and its masks.

May import: ``c360.platform`` only (it is part of the ground floor).
"""
