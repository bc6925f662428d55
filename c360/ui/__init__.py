"""The staff workspace: a web UI shipped inside the package (plain HTML, CSS and
ES modules under ``static/``: no build step, no Node toolchain), and the routes
that serve it, sign staff in and out, and carry the page's GraphQL requests to
``/graphql`` as the signed-in person (:mod:`c360.ui.routes`; the pages' security
headers and origin checks in :mod:`c360.ui.page_security`, the sessions' bearer
tokens in :mod:`c360.ui.session_tokens`, passing requests on in
:mod:`c360.ui.forwarding`).

It talks to the API through the same gate and policy as every other client:
the browser holds only an HttpOnly session cookie; the server turns each
same-origin, CSRF-checked request into a short-lived c360 token for the staff
principal. Imports ``c360.auth`` (sessions, accounts) and ``c360.platform``."""
