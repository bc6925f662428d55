"""Value and lifecycle (价值 · 生命周期): what a customer is worth, where they
stand, and how they are sorted for campaigns.

Modules, one concern each:

``rfm``          recency, frequency, monetary value from order rows; quintile scores
``bgnbd``        the BG/NBD model (Fader, Hardie & Lee 2005): fit, P(alive),
                 expected purchases
``gamma_gamma``  the Gamma-Gamma spend model (Fader & Hardie 2013): fit, expected
                 value per purchase
``rules``        tiers, lifecycle stages, tags and interests as versioned data
                 (``rules.json``), evaluated over arrays
``scoring``      one batch scored: RFM scores, CLV, tier, stage, tags (pure numpy)
``sentiment``    a documented lexicon (``sentiment.json``) scoring comments
``models``       the tables (migration ``0010``)
``inputs``       what a batch reads: orders, feedback, texts, surveys, grade, consent
``model_store``  the CLV model as versioned data; the scheduled refit
``judgment``     the ``value`` refresher: score, store, record transitions
``reading``      reading scores, the value timeline and distributions back
``segments``     dynamic segments: saved filters, membership and its changes
``audience``     who a marketing export may include (consent, suppression,
                 restriction) and its rows

May import: ``c360.platform`` only (it is part of the ground floor).
"""
