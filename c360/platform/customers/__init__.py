"""Customers as the rest of c360 reads them: which customer an id means now
(:mod:`~c360.platform.customers.ids`) and how customers relate to each other
(:mod:`~c360.platform.customers.relationships`).

May import: ``c360.platform`` (the identity layer's tables included); never the
capability packages that read customers.
"""
