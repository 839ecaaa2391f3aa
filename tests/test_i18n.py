"""Both catalogues are complete and in step with the source; pages render in both languages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "equipshare" / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_0-9]*\}")


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        return {_key(m.id) for m in read_po(fh) if m.id}


def _key(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def test_chinese_catalogue_translates_every_string(source_ids):
    catalog = _catalog("zh")
    entries = {_key(m.id): m for m in catalog if m.id}
    missing = sorted(source_ids - entries.keys())
    assert not missing, f"{len(missing)} strings missing from zh (run `make translations`): {missing[:10]}"
    untranslated = [k for k in source_ids if not entries[k].string or entries[k].fuzzy
                    or (not isinstance(entries[k].string, str) and not all(entries[k].string))]
    assert not untranslated, f"{len(untranslated)} zh strings untranslated or fuzzy: {untranslated[:10]}"


def test_chinese_translations_keep_placeholders():
    for m in _catalog("zh"):
        if not m.id:
            continue
        source = _key(m.id)
        target = m.string if isinstance(m.string, str) else m.string[0]
        if isinstance(m.id, str):
            assert sorted(PLACEHOLDER.findall(target)) == sorted(PLACEHOLDER.findall(source)), source
        else:  # plural: Chinese has one form, which may use the plural's placeholders
            assert set(PLACEHOLDER.findall(target)) <= set(PLACEHOLDER.findall(m.id[1])) | set(
                PLACEHOLDER.findall(source)), source


def test_english_catalogue_lists_every_string(source_ids):
    """English is the source language: an empty msgstr means 'as written'."""
    entries = {_key(m.id) for m in _catalog("en") if m.id}
    missing = sorted(source_ids - entries)
    assert not missing, f"{len(missing)} strings missing from en (run `make translations`): {missing[:10]}"


def test_pages_render_in_chinese_by_default_and_english_on_request(app):
    from equipshare import create_app
    from tests.conftest import EquipShareClient

    product = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    assert product.config["BABEL_DEFAULT_LOCALE"] == "zh"
    product.test_client_class = EquipShareClient
    client = product.test_client()
    zh = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "仪器" in zh
    client.get("/lang/en")
    en = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in en and "Instruments" in en and "仪器" not in en.split("<main")[0]
