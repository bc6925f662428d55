"""The ``c360`` command: one Typer app, assembled from the command modules of
this package (sources, sync, serve, demo, resolution, auth, search, connectors)
and from the commands plugins register (``c360_register_commands``). ``c360/cli``
and ``c360/app.py`` are where the subpackages meet, so they may import all of
them."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from c360.cli import (
    auth,
    connectors,
    credit_model,
    demo,
    resolution,
    search,
    serve,
    sources,
    sync,
    users,
)
from c360.cli import cases as cases_cli
from c360.cli import privacy as privacy_cli
from c360.cli import quality as quality_cli
from c360.cli import report as report_cli
from c360.cli import value as value_cli
from c360.cli import verification as verification_cli
from c360.cli import webhooks as webhooks_cli
from c360.cli.support import err_console
from c360.connectors.registry import register_plugin_commands
from c360.platform.settings import get_settings

app = typer.Typer(
    help="c360 — customer-360: connectors, golden profiles, GraphQL.", no_args_is_help=True
)
sources.register(app)
sync.register(app)
serve.register(app)
demo.register(app)
connectors.register(app)
register_plugin_commands(app)  # enrich, consents and third-party plugins' commands
app.add_typer(resolution.resolution_app)  # resolve, explain, merge, split at the top level
auth.register(app)
search.register(app)
webhooks_cli.register(app)
users.register(app)
cases_cli.register(app)
privacy_cli.register(app)
credit_model.register(app)
quality_cli.register(app)
report_cli.register(app)
value_cli.register(app)
verification_cli.register(app)


def main() -> None:
    """Console entry point. Bad ``C360_*`` settings end with the variable named."""
    try:
        get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "C360_" + "_".join(str(p) for p in err["loc"]).upper()
            err_console.print(f"[red]error:[/red] {name}: {err['msg']}", highlight=False)
        raise SystemExit(2) from None
    app()
