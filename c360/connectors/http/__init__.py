"""HTTP machinery for connectors that speak to remote JSON APIs (``web``,
``social``, ``credit`` and third-party ones), on ``httpx``, in the parts
Airbyte's CDK has:

``auth``           the auth config models, secrets from ``env:NAME``, authlib's
                   OAuth2 client credentials, :class:`RemoteApiError`
``client``         :class:`ApiClient`: timeouts, retries (tenacity), rate limit
``pagination``     cursor, page number and ``next``-link paging
``pull``           one stream out of a paged listing: mapping, ``updated_at``
                   cursor, checkpoints
``api_connector``  :class:`ApiConnector`, the base whose ``check()`` and ``read()``
                   an API connector inherits, and :class:`ApiConfig`

Everything public is importable from here: ``from c360.connectors.http import
ApiConnector, ApiConfig, StreamSpec``.

May import: ``c360.connectors.base``, the built-in header table of
``c360.connectors.offline`` (``headers``, and the id marker of ``config``) and
``c360.platform``.
"""

from __future__ import annotations

from c360.connectors.http.api_connector import CHECK_OPTIONS, ApiConfig, ApiConnector
from c360.connectors.http.auth import (
    ApiKeyAuth,
    AuthConfig,
    BearerAuth,
    ClientCredentialsAuth,
    NoAuth,
    OAuth2ClientCredentials,
    RemoteApiError,
    build_auth,
    resolve_secret,
)
from c360.connectors.http.client import (
    BODY_KEEP,
    USER_AGENT,
    ApiClient,
    Fetched,
    HttpOptions,
    Throttle,
    retry_after_seconds,
)
from c360.connectors.http.pagination import Page, Pagination, get_path, page_key, pages
from c360.connectors.http.pull import RecordMapper, Refine, StreamSpec, read_pull_stream

__all__ = [
    "BODY_KEEP",
    "CHECK_OPTIONS",
    "USER_AGENT",
    "ApiClient",
    "ApiConfig",
    "ApiConnector",
    "ApiKeyAuth",
    "AuthConfig",
    "BearerAuth",
    "ClientCredentialsAuth",
    "Fetched",
    "HttpOptions",
    "NoAuth",
    "OAuth2ClientCredentials",
    "Page",
    "Pagination",
    "RecordMapper",
    "Refine",
    "RemoteApiError",
    "StreamSpec",
    "Throttle",
    "build_auth",
    "get_path",
    "page_key",
    "pages",
    "read_pull_stream",
    "resolve_secret",
    "retry_after_seconds",
]
