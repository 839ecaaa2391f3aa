"""The application as production runs it (ProductionConfig), on BENCH_DATABASE_URL.

Production settings need SECRET_KEY and DATABASE_URL; the benchmark sets them, uses an
in-memory rate-limit store (no Redis here) and plain-HTTP cookies (no TLS in front).
"""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use")
os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
os.environ.setdefault("RATELIMIT_STORAGE_URI", "memory://")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ["EQUIPSHARE_ENV"] = "production"

from equipshare import create_app  # noqa: E402

app = create_app()
