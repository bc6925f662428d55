"""What operators see of a running c360: Prometheus metrics (:mod:`.metrics`) and
JSON log lines carrying the request's id, principal, operation and duration
(:mod:`.logs`). Assembly-level: it reads the platform's tables and is imported
only by ``c360.app`` and ``c360.cli``. Nothing here ever logs or labels a
personal value."""
