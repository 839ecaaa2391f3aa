"""flask commands: create-admin, demo-data (and, later, scheduler and run-job)."""

from __future__ import annotations

import getpass

import click
from flask import Flask

from equipshare.extensions import db


def register_cli(app: Flask) -> None:
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
