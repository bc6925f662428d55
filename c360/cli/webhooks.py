"""``c360 webhooks``: outbound endpoints and their subscriptions — add, list,
test, the delivery log, enable after a disablement, and ``deliver`` (the
delivery worker as a process of its own)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from c360.auth.principal import ROLES
from c360.cli.support import console, fail, open_engine, user_errors
from c360.ops.outbound import PolicyScreen, outbound_worker
from c360.platform.outbound.delivery import send_test
from c360.platform.outbound.endpoints import (
    add_endpoint,
    deliveries,
    enable_endpoint,
    get_endpoint,
    list_endpoints,
)

webhooks_app = typer.Typer(help="Outbound webhooks: endpoints, subscriptions, deliveries.")


@webhooks_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="endpoint name (lower case)")],
    url: Annotated[str, typer.Argument(help="http(s) URL receiving the deliveries")],
    role: Annotated[str, typer.Option(help=f"whose view it gets: {', '.join(ROLES)}")],
    event: Annotated[
        list[str], typer.Option("--event", "-e", help="event type or area.* (repeatable)")
    ],
    region: Annotated[
        list[str] | None, typer.Option(help="region of a region-limited role (repeatable)")
    ] = None,
    allow_private: Annotated[
        bool, typer.Option(help="allow private and loopback addresses (refused by default)")
    ] = False,
) -> None:
    """Add an endpoint; prints its signing secret once."""
    engine = open_engine()
    with user_errors():
        endpoint = add_endpoint(
            engine,
            PolicyScreen(),
            name=name,
            url=url,
            role=role,
            event_types=event,
            regions=region or (),
            allow_private=allow_private,
            roles=ROLES,
        )
    console.print(f"endpoint {endpoint.name} added: {', '.join(endpoint.event_types)}")
    console.print(f"signing secret (shown once): {endpoint.secret}", highlight=False)


@webhooks_app.command("list")
def list_() -> None:
    """Endpoints, their subscriptions and state."""
    table = Table("name", "url", "role", "events", "state", "failures")
    for e in list_endpoints(open_engine()):
        state = "enabled" if e.enabled else f"disabled: {e.disabled_reason}"
        table.add_row(e.name, e.url, e.role, ", ".join(e.event_types), state, str(e.failure_streak))
    console.print(table)


@webhooks_app.command("test")
def test(name: Annotated[str, typer.Argument(help="endpoint name")]) -> None:
    """Send one signed webhook.test message now."""
    endpoint = get_endpoint(open_engine(), name)
    if endpoint is None:
        raise fail(f"no endpoint called {name!r}")
    ok, what = send_test(endpoint)
    if not ok:
        raise fail(f"test delivery to {name} failed: {what}")
    console.print(f"test delivery to {name}: {what}")


@webhooks_app.command("deliveries")
def deliveries_(
    name: Annotated[str, typer.Argument(help="endpoint name")],
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """The delivery log of an endpoint, newest first."""
    if status is not None and status not in ("pending", "delivered", "failed"):
        raise fail(f"--status {status!r} must be pending, delivered or failed")
    with user_errors():
        rows = deliveries(open_engine(), name, status=status, limit=limit)
    table = Table("webhook-id", "event", "status", "attempts", "last", "created", "delivered")
    for r in rows:
        table.add_row(
            r.message_id,
            r.event_type,
            r.status,
            str(r.attempts),
            r.last_error or (str(r.last_status) if r.last_status else ""),
            str(r.created_at)[:19],
            str(r.delivered_at)[:19] if r.delivered_at else "",
        )
    console.print(table)


@webhooks_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="endpoint name")]) -> None:
    """Enable an endpoint disabled after failures; its failed deliveries are retried."""
    with user_errors():
        requeued = enable_endpoint(open_engine(), name)
    console.print(f"endpoint {name} enabled; {requeued} failed deliveries queued again")


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option(help="deliver what is due, then exit")] = False,
) -> None:
    """Run the delivery worker (one across processes: it waits for the lease)."""
    from c360.observability.logs import configure_json_logging

    configure_json_logging()
    engine = open_engine()
    worker = outbound_worker(engine)
    if once:
        worker.run_until_idle()
        return
    worker.start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()


def register(app: typer.Typer) -> None:
    """``c360 webhooks``."""
    app.add_typer(webhooks_app, name="webhooks")
