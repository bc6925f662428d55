"""Operations assembly: what subscribers may hear (the policy applied to
business events, :mod:`.outbound`) and the delivery worker as ``c360 serve`` and
``c360 webhooks deliver`` run it. Imported only by ``c360.app`` and ``c360.cli``."""
