"""Value and lifecycle (价值 · 生命周期): what a customer is worth, where they
stand, and how they are sorted for campaigns.

Modules, one concern each:

``rfm``          recency, frequency, monetary value from order rows; quintile scores
``bgnbd``        the BG/NBD model (Fader, Hardie & Lee 2005): fit, P(alive),
                 expected purchases
``gamma_gamma``  the Gamma-Gamma spend model (Fader & Hardie 2013): fit, expected
                 value per purchase

May import: ``c360.platform`` only (it is part of the ground floor).
"""
