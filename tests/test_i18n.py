"""The translation catalogs: complete, compiled, and used by the pages.

The catalogs live in service/translations. The Chinese catalog's folder is ``zh_Hans_CN``: the app
selects the locale ``zh_CN``, which Babel resolves to ``zh_Hans_CN`` (CLDR likely subtags), and
that is the folder Flask-Babel looks for. Refresh them with the commands in babel.cfg.
"""
from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "service" / "translations"
CATALOGS = {"zh_CN": "zh_Hans_CN", "en": "en"}  # the app's locale -> catalog folder
# msgids whose Chinese text may equal the English one (the product name).
SAME_IN_CHINESE = {"talkcare"}


def _key(message):
    return (message.context, message.id)


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return bool(strings) and all(strings)


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)", text or ""))


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def _po(folder: str):
    return _read(TRANSLATIONS / folder / "LC_MESSAGES" / "messages.po")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Extract the messages afresh from the sources, exactly as the maintainers do."""
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
        "--no-location", "-o", str(out), str(ROOT)])
    catalog = _read(out)
    keys = {_key(m) for m in catalog if m.id}
    assert len(keys) > 50, "extraction found almost nothing: is babel.cfg right?"
    return catalog


def test_extraction_sees_python_and_templates(extracted):
    ids = {m.id for m in extracted if m.id}
    assert "Wrong employee number or password." in ids  # service/auth/web.py (gettext)
    assert "Employee number or email" in ids  # lazy_gettext as _l
    assert "Section chief" in ids  # service/labels.py
    assert "Sent mail" in ids  # templates/*.html
    assert "Your talkcare account" in ids  # templates/mail/*.txt
    assert ("person", "Name") in {_key(m) for m in extracted if m.id}  # pgettext in templates


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_every_extracted_message_is_translated(extracted, locale):
    catalog = _po(CATALOGS[locale])
    missing, empty, fuzzy = [], [], []
    for message in extracted:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None:
            missing.append(_key(message))
        elif not _translated(found):
            empty.append(_key(message))
        elif found.fuzzy:
            fuzzy.append(_key(message))
    assert not missing, f"{locale}: not in the catalog; run pybabel update: {missing}"
    assert not empty, f"{locale}: untranslated: {empty}"
    assert not fuzzy, f"{locale}: fuzzy (needs review): {fuzzy}"
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"


def test_chinese_is_really_chinese():
    catalog = _po(CATALOGS["zh_CN"])
    copied = [m.id for m in catalog if m.id and not m.pluralizable and m.string == m.id
              and m.id not in SAME_IN_CHINESE]
    assert not copied, f"left in English in the Chinese catalog: {copied}"
    assert catalog.get("Section chief").string == "科长"
    assert catalog.get("Deputy head").string == "副主任"
    assert catalog.get("Head").string == "主任"
    assert catalog.get("Outbox").string == "发件箱"
    assert catalog.get("Sent mail").string == "已发送邮件"
    assert catalog.get("Audit log").string == "审计日志"
    assert catalog.get("API tokens").string == "API 令牌"


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_placeholders_are_kept(locale):
    """Every %(name)s of the English text is in the translation, and nothing else is.

    Plural messages are checked against both English forms together: Chinese has one form, which
    carries the number (babel's own checker would compare it with the singular alone).
    """
    catalog = _po(CATALOGS[locale])
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            wanted = _placeholders(message.id[0]) | _placeholders(message.id[1])
            for form in message.string:
                if not _placeholders(form) <= wanted:
                    problems.append((message.id, form))
            if not wanted <= set().union(*(_placeholders(f) for f in message.string)):
                problems.append((message.id, message.string))
        elif _placeholders(message.string) != _placeholders(message.id):
            problems.append((message.id, message.string))
        if _placeholders(message.id[0] if message.pluralizable else message.id):
            assert "python-format" in message.flags, message.id
    assert not problems, problems


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_compiled_catalogs_match_the_po_files(locale):
    folder = TRANSLATIONS / CATALOGS[locale] / "LC_MESSAGES"
    mo = folder / "messages.mo"
    assert mo.exists(), f"{mo} is missing: run pybabel compile -d service/translations"
    with mo.open("rb") as fh:
        compiled = {k: v for k, v in gettext.GNUTranslations(fh)._catalog.items() if k}
    catalog = _po(CATALOGS[locale])
    expected = {}
    for m in catalog:
        if not m.id or m.fuzzy or not _translated(m):
            continue
        prefix = f"{m.context}\x04" if m.context else ""
        if m.pluralizable:
            for index, form in enumerate(m.string):
                expected[(prefix + m.id[0], index)] = form
        else:
            expected[prefix + m.id] = m.string
    assert compiled == expected, f"{mo} is stale: run pybabel compile -d service/translations"


@pytest.mark.parametrize("accept, shown, not_shown", [
    ("zh-CN,zh;q=0.9,en;q=0.5", "登录", "Log in"),
    ("en-US,en;q=0.9", "Log in", "登录"),
])
def test_login_page_follows_accept_language(client, accept, shown, not_shown):
    page = client.get("/login", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert shown in page
    assert not_shown not in page


@pytest.mark.parametrize("language, shown, label", [("zh_CN", "登录", "工号或电子邮箱"),
                                                    ("en", "Log in", "Employee number or email")])
def test_login_page_follows_the_session_language(client, language, shown, label):
    with client.session_transaction() as session:
        session["language"] = language
    # The session's choice wins over the browser's header.
    other = "en" if language == "zh_CN" else "zh-CN"
    page = client.get("/login", headers={"Accept-Language": other}).get_data(as_text=True)
    assert f"<h1>{shown}</h1>" in page
    assert label in page


def test_emails_are_rendered_in_the_recipients_language(ctx):
    from types import SimpleNamespace

    from service.outbox import render_email

    person = SimpleNamespace(name="王芳", employee_no="S900")
    subject, text, _ = render_email("welcome", "zh_CN", recipient=person, link="http://x/set")
    assert subject == "您的 talkcare 账号"
    assert "S900" in text and "王芳" in text
    subject, text, _ = render_email("welcome", "en", recipient=person, link="http://x/set")
    assert subject == "Your talkcare account"
