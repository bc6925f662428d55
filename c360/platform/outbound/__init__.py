"""Outbound webhooks: endpoints and their subscriptions (:mod:`.models`,
:mod:`.endpoints`), fan-out of business events into durable deliveries and
their signed, retried sending (:mod:`.delivery`), refusal of private and
loopback targets (:mod:`.ssrf`).

Ground floor: it reads :mod:`c360.platform.business_events` and knows nothing of
roles; what a subscriber may see of an event is decided by the ``screen`` its
caller passes (``c360.ops`` applies the policy table)."""
