"""flask commands: create-admin, demo-data (and, later, scheduler and run-job)."""

from __future__ import annotations

import getpass

import click
from flask import Flask

from equipshare.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-categories")
    def seed_categories() -> None:
        """Add the national classification of research instruments (missing classes only)."""
        from equipshare.catalogue.services import ensure_categories

        added = ensure_categories()
        click.echo(f"Added {added} categories." if added else "The national classification is already complete.")

    @app.cli.command("demo-data")
    @click.option("--force", is_flag=True, help="Load it even with EQUIPSHARE_ENV=production.")
    def demo_data(force: bool) -> None:
        """Load (or refresh) the demo institutions, labs, instruments, firms and logins. Idempotent."""
        import os

        from equipshare.demo import load_demo_data, summary_lines

        if os.environ.get("EQUIPSHARE_ENV") == "production" and not force:
            raise click.ClickException(
                "demo-data is for trying EquipShare: its users share a published password (--force to load anyway)."
            )
        context = load_demo_data()
        for line in summary_lines(context):
            click.echo(line)
        from equipshare.calendars.services import ensure_demo_feed, feed_urls

        https_url, webcal_url = feed_urls(ensure_demo_feed(context.users["manager"])[1])
        click.echo(f"\nCalendar feed of the demo lab manager (subscribe in a calendar app that can reach this host):"
                   f"\n  {https_url}\n  {webcal_url}")

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Platform admin", help="Display name.")
    @click.option("--password", envvar="ADMIN_PASSWORD", help="Password (or ADMIN_PASSWORD; prompted if absent).")
    def create_admin(email: str, name: str, password: str | None) -> None:
        """Create a platform admin (or promote an existing user)."""
        from equipshare.accounts.auth import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, hash_password
        from equipshare.accounts.models import User

        email = email.strip().lower()
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is None:
            if not password:
                password = getpass.getpass("Password: ")
            if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
                raise click.ClickException(
                    f"The password must have {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters."
                )
            user = User(email=email, name=name, password_hash=hash_password(password))
            db.session.add(user)
        user.is_platform_admin = True
        user.active = True
        db.session.commit()
        click.echo(f"{email} is a platform admin.")

    @app.cli.command("scheduler")
    def scheduler() -> None:
        """Run the scheduled jobs (one process per site; a second one stands by). Ctrl-C stops it."""
        import logging

        from equipshare.jobs import Scheduler

        app.logger.setLevel(logging.INFO)  # equipshare.jobs logs through the app's handler
        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: still running" is by design
        Scheduler(app).run_forever()

    @app.cli.command("run-job")
    @click.argument("name", required=False)
    @click.option("--now", "now_text", help="Run as of this time (ISO 8601; no offset = Asia/Shanghai).")
    def run_job(name: str | None, now_text: str | None) -> None:
        """Run one scheduled job once (for cron, tests and catching up by hand). No NAME: list them."""
        from datetime import datetime

        from equipshare.jobs import JOBS, run_job_now
        from equipshare.timeutil import as_utc

        if not name:
            for job in JOBS:
                click.echo(f"{job.name:22} {job.schedule:34} {job.description}")
            return
        try:
            now = as_utc(datetime.fromisoformat(now_text)) if now_text else None
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--now") from exc
        try:
            run = run_job_now(name, now)
        except KeyError:
            raise click.ClickException(f"No job {name!r}. Jobs: {', '.join(job.name for job in JOBS)}") from None
        click.echo(f"{name}: {run.status}" + (f" — {run.result}" if run.result else "") +
                   (f"\n{run.error}" if run.error else ""))
        if run.status != "succeeded":
            raise SystemExit(1)
