"""``c360 demo``: a reproducible world of people and companies (:mod:`.world`,
:mod:`.generate`), the noise real sources add (:mod:`.noise`), what four systems
export about them (:mod:`.exports`, configured by ``sources.json``), the HTTP
stand-ins for the web shop, social platform and credit bureau (:mod:`.standins`),
the outcomes, cases and value histories a demo needs (:mod:`.risk`, :mod:`.cases`,
:mod:`.value`, :mod:`.verification`, :mod:`.staff`), the resolution measured
against the ground truth (:mod:`.evaluation`) and the summary printed at the end
(:mod:`.summary`).

Part of the assembly floor: it may import anything in ``c360``; nothing below
imports it.
"""
