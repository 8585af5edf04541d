"""The `baton service` commands: settings checked first, then chat_adapters.service."""

from __future__ import annotations

from pathlib import Path

import typer

from chat_adapters.service import ServiceError, ServicePlan, plan_for, render
from chat_adapters.service import install as install_service
from chat_adapters.service import status as service_status
from chat_adapters.service import uninstall as uninstall_service
from chat_adapters.settings import SettingsError, load_settings


def _plan() -> ServicePlan:
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"baton: bad setting: {exc}", err=True)
        raise typer.Exit(2) from None
    if not settings.configured_apps():
        typer.echo(
            "baton: warning: no app configured here (TELEGRAM_BOT_TOKEN / DISCORD_BOT_TOKEN); "
            "the service would stop at once. `baton setup` writes them to .env",
            err=True,
        )
    workdir = Path.cwd()
    if not (workdir / ".env").is_file():
        typer.echo(
            f"baton: warning: no .env in {workdir}: the service reads its settings from there",
            err=True,
        )
    return plan_for(workdir=workdir, search_path=settings.search_path, home=Path.home())


def install(*, dry_run: bool) -> int:
    plan = _plan()
    if dry_run:
        typer.echo(f"# {plan.file}")
        typer.echo(render(plan), nl=False)
        return 0
    try:
        said = install_service(plan)
    except ServiceError as exc:
        typer.echo(f"baton: {exc}", err=True)
        return 1
    for line in said:
        typer.echo(line)
    return 0


def status() -> int:
    plan = plan_for(workdir=Path.cwd(), search_path="", home=Path.home())
    try:
        code, text = service_status(plan)
    except ServiceError as exc:
        typer.echo(f"baton: {exc}", err=True)
        return 1
    typer.echo(text)
    return code


def uninstall() -> int:
    plan = plan_for(workdir=Path.cwd(), search_path="", home=Path.home())
    try:
        said = uninstall_service(plan)
    except ServiceError as exc:
        typer.echo(f"baton: {exc}", err=True)
        return 1
    for line in said:
        typer.echo(line)
    return 0
