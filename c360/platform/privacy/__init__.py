"""Privacy: what personal data looks like to a reader who may not see it in
clear (:mod:`~c360.platform.privacy.masking`, one mask per kind of value).

May import: ``c360.platform``. Which reader gets a mask is the policy's
(``c360.auth``); this package only knows how to mask.
"""
