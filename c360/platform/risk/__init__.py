"""Credit and risk (信用评估与风险控制): the business's own scorecard, grades,
limits and measures, alerts and population stability.

Modules, one concern each:

``models``       the tables (models, scores, decisions, alerts, watch state)
``outcomes``     repayment behaviour read from events (invoice, payment, overdue, default)
``features``     the scorecard's inputs per customer: profile, bureau, behaviour
``scorecard``    training (optbinning WoE binning + logistic regression), scaling,
                 scoring a batch, reason codes
``model_store``  models as versioned data: store, activate, never replace silently
``decisions``    the policy table (data) turning a grade into a limit, terms, measures;
                 staff overrides
``alerts``       the changes that matter, raised once, listed, acknowledged
``stability``    population stability (PSI) of the score and of each feature
``judgment``     the refresher the indexer calls when customers change

May import: ``c360.platform`` only (it is part of the ground floor).
"""
