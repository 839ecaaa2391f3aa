"""The README's configuration table names every setting and environment variable of config.py."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_configuration_table_is_in_step_with_config_py():
    source = (ROOT / "config.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `") or line.startswith("| —"))
    settings = set(re.findall(r"^    ([A-Z][A-Z0-9_]+)\s*(?::[^=]+)?=", source, flags=re.MULTILINE))
    variables = set(re.findall(r"_env(?:_int|_bool)?\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    assert len(settings) > 20 and "SECRET_KEY" in variables  # the patterns still match config.py
    missing = sorted(name for name in settings | variables if f"`{name}`" not in table)
    assert not missing, f"add these to the configuration table in README.md: {missing}"
