"""EquipShare: a shared research-instrument booking platform."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type | str | None = None, **overrides) -> Flask:
    """Build the application. No side effects beyond wiring: no migrations, no scheduler."""
    from config import CONFIGS, ProductionConfig, config_from_env

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        instance_path=str(ROOT / "instance"),
    )
    if config is None:
        config = config_from_env()
    elif isinstance(config, str):
        config = CONFIGS[config]
    if config is ProductionConfig:
        ProductionConfig.check()
    app.config.from_object(config)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set")

    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from equipshare.session import SessionInterface

    app.session_interface = SessionInterface()
    _init_extensions(app)
    _register_blueprints(app)

    from equipshare.errors import register_error_handlers
    from equipshare.web import register_web_helpers

    register_error_handlers(app)
    register_web_helpers(app)

    from equipshare.cli import register_cli

    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    # Every feature's models must be imported before the metadata is used (migrate / db check).
    import equipshare.models  # noqa: F401
    from equipshare import ratelimit
    from equipshare.db import configure_sqlite, end_read_only_transaction, ping_idle_connections, track_writes
    from equipshare.extensions import babel, bootstrap, csrf, db, login_manager, migrate
    from equipshare.i18n import select_locale

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        ping_idle_connections(db.engine, app.config.get("DB_PING_IDLE_SECONDS"))

    track_writes()

    @app.teardown_appcontext  # runs before Flask-SQLAlchemy's (teardowns run in reverse order)
    def _end_read_only_transaction(error):
        if error is None and db.session.registry.has():
            end_read_only_transaction(db.session())
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    bootstrap.init_app(app)
    ratelimit.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"

    from equipshare.accounts.auth import load_user

    login_manager.user_loader(load_user)


# Each module exposes ``bp``. A feature with several audiences (public, manager, admin) has one
# blueprint per audience so that url prefixes and access checks stay simple.
BLUEPRINT_MODULES = (
    "equipshare.web",
    "equipshare.accounts.views",
    "equipshare.accounts.admin_views",
    "equipshare.catalogue.views",
    "equipshare.catalogue.manage_views",
    "equipshare.catalogue.admin_views",
    "equipshare.booking.views",
    "equipshare.booking.manage_views",
    "equipshare.calendars.views",
    "equipshare.billing.views",
    "equipshare.billing.manage_views",
    "equipshare.billing.admin_views",
    "equipshare.notifications.views",
    "equipshare.notifications.admin_views",
)


def _register_blueprints(app: Flask) -> None:
    from importlib import import_module

    for name in BLUEPRINT_MODULES:
        app.register_blueprint(import_module(name).bp)
