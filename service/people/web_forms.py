"""HR's web forms of the register: a person, a section, a CSV upload.

The forms only carry values: they are turned into the input of the API's marshmallow schemas
(``PersonSchema``, ``SectionSchema``) and validated there, so each rule lives once. The schema's
and the register's messages (English, as the API speaks) are shown next to their fields,
translated here for the page.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, SelectMultipleField, StringField, SubmitField

from service.extensions import db
from service.labels import RELATION_LABELS, ROLE_LABELS
from service.people.models import RELATIONS, ROLES, Person, Section

MAX_RELATIVES = 50
BLANK_RELATIVE_ROWS = 2


class DateInput(StringField):
    """A date typed or picked as YYYY-MM-DD; the schema parses and checks it."""

    def __call__(self, **kwargs):
        kwargs.setdefault("type", "date")
        return super().__call__(**kwargs)


class RelativeForm(Form):
    name = StringField(_l("Relative's name"))
    relation = SelectField(_l("Relation"), validate_choice=False,
                           choices=[("", "—")] + [(r, RELATION_LABELS[r]) for r in RELATIONS])


class _ShowsErrors:
    """Messages that belong to no single field, and whether any field has one."""

    general_errors: list

    @property
    def has_field_errors(self) -> bool:
        def bad(field) -> bool:
            if isinstance(field, FieldList):
                return any(bad(sub) for entry in field for sub in entry.form)
            return bool(field.errors)
        return any(bad(f) for f in self)


class PersonForm(_ShowsErrors, FlaskForm):
    employee_no = StringField(_l("Employee number"))
    name = StringField(_l("Full name"))
    name_en = StringField(_l("English name"))
    email = StringField(_l("Email"))
    section_id = SelectField(_l("Section"), validate_choice=False)
    post = StringField(_l("Post"))
    rank = StringField(_l("Rank"))
    role = SelectField(_l("Role"), validate_choice=False, choices=[(r, ROLE_LABELS[r]) for r in ROLES])
    oversees = SelectMultipleField(_l("Sections overseen (deputies only)"), validate_choice=False)
    effective_from = DateInput(_l("Change of section, post, rank or role takes effect on"))
    work_started_on = DateInput(_l("Started work"))
    joined_on = DateInput(_l("Joined the unit"))
    birthday_calendar = SelectField(_l("Birthday calendar"), validate_choice=False,
                                    choices=[("", _l("No birthday")), ("solar", _l("Solar")), ("lunar", _l("Lunar"))])
    birthday_month = SelectField(_l("Birthday month"), validate_choice=False,
                                 choices=[("", "—")] + [(str(m), str(m)) for m in range(1, 13)])
    birthday_day = SelectField(_l("Birthday day"), validate_choice=False,
                               choices=[("", "—")] + [(str(d), str(d)) for d in range(1, 32)])
    birthday_leap = BooleanField(_l("Leap month (lunar only)"))
    celebrations_opt_out = BooleanField(_l("No birthday celebrations"))
    language = SelectField(_l("Language of emails"), validate_choice=False,
                           choices=[("zh_CN", "中文"), ("en", "English")])
    left_on = DateInput(_l("Left the unit on"))
    rotation_exempt = BooleanField(_l("Exempt from rotation"))
    is_hr_admin = BooleanField(_l("HR administrator"))
    relatives = FieldList(FormField(RelativeForm), max_entries=MAX_RELATIVES)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []
        sections = db.session.scalars(select(Section).order_by(Section.code)).all()
        choices = [(str(s.id), f"{s.code} · {section_name(s)}") for s in sections]
        self.section_id.choices = [("", "—")] + choices
        self.oversees.choices = choices


class SectionForm(_ShowsErrors, FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    name_en = StringField(_l("English name"))
    parent_unit = StringField(_l("Parent unit"))
    min_base_staff = StringField(_l("Minimum base staff"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8)"))
    submit = SubmitField(_l("Import"))


def section_name(section: Section) -> str:
    from service import _select_locale

    return section.name if str(_select_locale()) == "zh_CN" else (section.name_en or section.name)


# --- form values -> schema input -------------------------------------------------------------------

def _text(value) -> str:
    return (value or "").strip() if isinstance(value, str) else ""


def _number(value):
    """A select's or text box's number as an int; anything else as typed (the schema rejects it)."""
    text = _text(value)
    return int(text) if text.isdigit() and len(text) < 12 else text


def person_input(form: PersonForm) -> tuple[dict, list]:
    """The PersonSchema input of the form, and the relative rows it came from (for errors)."""
    data: dict = {}
    for key in ("employee_no", "name"):
        if _text(form[key].data):
            data[key] = _text(form[key].data)  # left out when empty: "required" comes from the schema
    for key in ("name_en", "email", "post", "rank", "work_started_on", "joined_on", "left_on"):
        data[key] = _text(form[key].data) or None
    if _text(form.effective_from.data):
        data["effective_from"] = _text(form.effective_from.data)
    section = _text(form.section_id.data)
    data["section_id"] = _number(section) if section else None
    data["oversees"] = [_number(v) for v in form.oversees.data or [] if _text(v)]
    for key in ("role", "language"):
        if _text(form[key].data):
            data[key] = _text(form[key].data)
    parts = {"calendar": _text(form.birthday_calendar.data), "month": _text(form.birthday_month.data),
             "day": _text(form.birthday_day.data)}
    if any(parts.values()):
        bday = {k: (_number(v) if k != "calendar" else v) for k, v in parts.items() if v}
        bday["leap"] = bool(form.birthday_leap.data)
        data["birthday"] = bday
    else:
        data["birthday"] = None
    for key in ("celebrations_opt_out", "rotation_exempt", "is_hr_admin"):
        data[key] = bool(form[key].data)
    rows = [entry for entry in form.relatives if _text(entry.form.name.data) or _text(entry.form.relation.data)]
    # An empty part is left out, so the schema says "required" rather than "too short".
    data["relatives"] = [{k: _text(e.form[k].data) for k in ("name", "relation") if _text(e.form[k].data)}
                         for e in rows]
    return data, rows


def fill_person_form(form: PersonForm, person: Person, birthday: dict | None) -> None:
    """Put the person's stored values into an empty form (GET of the edit page)."""
    for key in ("employee_no", "name", "name_en", "email", "post", "rank", "role", "language"):
        form[key].data = getattr(person, key) or ""
    for key in ("work_started_on", "joined_on", "left_on"):
        value = getattr(person, key)
        form[key].data = value.isoformat() if value else ""
    for key in ("celebrations_opt_out", "rotation_exempt", "is_hr_admin"):
        form[key].data = bool(getattr(person, key))
    form.section_id.data = str(person.section_id) if person.section_id else ""
    form.oversees.data = [str(o.section_id) for o in person.oversights if o.valid_to is None]
    if birthday:
        form.birthday_calendar.data = birthday["calendar"]
        form.birthday_month.data, form.birthday_day.data = str(birthday["month"]), str(birthday["day"])
        form.birthday_leap.data = birthday["leap"]
    while len(form.relatives):
        form.relatives.pop_entry()
    for relative in person.relatives:
        form.relatives.append_entry({"name": relative.name, "relation": relative.relation})
    add_blank_relatives(form)


def add_blank_relatives(form: PersonForm) -> None:
    for _i in range(BLANK_RELATIVE_ROWS):
        if len(form.relatives) >= MAX_RELATIVES:
            break
        form.relatives.append_entry()


def section_input(form: SectionForm) -> dict:
    data = {}
    for key in ("code", "name"):
        if _text(form[key].data):
            data[key] = _text(form[key].data)
    for key in ("name_en", "parent_unit"):
        data[key] = _text(form[key].data) or None
    if _text(form.min_base_staff.data):
        data["min_base_staff"] = _number(form.min_base_staff.data)
    return data


# --- schema messages -> fields of the form --------------------------------------------------------

def _add(field, message: str) -> None:
    field.errors = [*field.errors, translate_message(message)]


def _messages(value) -> list[str]:
    """All messages under one key (marshmallow nests lists by index)."""
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    return [str(m) for m in value] if isinstance(value, (list, tuple)) else [str(value)]


def show_errors(form, messages: dict, relative_rows: list | None = None) -> None:
    """Attach a schema's (or the register's) messages to the form's fields."""
    for key, value in messages.items():
        if key == "birthday" and isinstance(value, dict):
            for part, sub in value.items():
                target = getattr(form, f"birthday_{part}", None) or form.birthday_calendar
                for m in _messages(sub):
                    _add(target, m)
        elif key == "birthday":
            for m in _messages(value):
                _add(form.birthday_calendar, m)
        elif key == "relatives" and not (isinstance(value, dict) and relative_rows is not None):
            form.general_errors.extend(translate_message(m) for m in _messages(value))
        elif key == "relatives":
            for index, sub in value.items():
                entry = relative_rows[index] if isinstance(index, int) and index < len(relative_rows) else None
                for part, msgs in (sub.items() if isinstance(sub, dict) else [("name", sub)]):
                    target = getattr(entry.form, part, None) if entry else None
                    for m in _messages(msgs):
                        if target is not None:
                            _add(target, m)
                        else:
                            form.general_errors.append(translate_message(m))
        elif key in form._fields and key not in ("submit", "csrf_token"):
            for m in _messages(value):
                _add(form[key], m)
        else:
            form.general_errors.extend(translate_message(m) for m in _messages(value))


_PATTERNS = [
    (r"Missing data for required field\.", lambda m: _("This field is required.")),
    (r"Field may not be null\.", lambda m: _("This field is required.")),
    (r"Not a valid email address\.", lambda m: _("Not a valid email address.")),
    (r"Not a valid integer\.", lambda m: _("Not a whole number.")),
    (r"Not a valid date\.", lambda m: _("Not a valid date (YYYY-MM-DD).")),
    (r"Not a valid boolean\.", lambda m: _("Use yes or no.")),
    (r"Use yes or no\.", lambda m: _("Use yes or no.")),
    (r"Length must be between (\d+) and (\d+)\.",
     lambda m: _("Use %(min)s to %(max)s characters.", min=m.group(1), max=m.group(2))),
    (r"Longer than maximum length (\d+)\.", lambda m: _("Use at most %(max)s characters.", max=m.group(1))),
    (r"Must be greater than or equal to (\d+) and less than or equal to (\d+)\.",
     lambda m: _("Use a number from %(min)s to %(max)s.", min=m.group(1), max=m.group(2))),
    (r"Must be one of: .*", lambda m: _("Choose one of the offered values.")),
    (r"Letters, digits, '_', '\.' and '-' only\.", lambda m: _("Letters, digits, '_', '.' and '-' only.")),
    (r"Control characters are not allowed\.", lambda m: _("Control characters are not allowed.")),
    (r"Date must be between 1900-01-01 and 2100-12-31\.",
     lambda m: _("Date must be between 1900-01-01 and 2100-12-31.")),
    (r"Cannot join the unit before starting work\.", lambda m: _("Cannot join the unit before starting work.")),
    (r"Cannot leave before joining\.", lambda m: _("Cannot leave before joining.")),
    (r"Only deputies oversee sections\.", lambda m: _("Only deputies oversee sections.")),
    (r"Day must be at most (\d+) in month (\d+)\.",
     lambda m: _("Month %(month)s has at most %(day)s days.", month=m.group(2), day=m.group(1))),
    (r"Only lunar birthdays have leap months\.", lambda m: _("Only lunar birthdays have leap months.")),
    (r"A lunar month has at most 30 days\.", lambda m: _("A lunar month has at most 30 days.")),
    (r"No section with id (.+)\.", lambda m: _("There is no such section.")),
    (r"No section with code (.+)\.", lambda m: _("No section with code %(code)s.", code=m.group(1))),
    (r"Employee number (.+) is taken\.", lambda m: _("Employee number %(no)s is taken.", no=m.group(1))),
    (r"Employee number (.+) also on row (\d+)\.",
     lambda m: _("Employee number %(no)s is also on row %(row)s.", no=m.group(1), row=m.group(2))),
    (r"Email (.+) belongs to someone else\.", lambda m: _("Email %(email)s belongs to someone else.", email=m.group(1))),
    (r"Email (.+) belongs to (.+)\.",
     lambda m: _("Email %(email)s belongs to %(no)s.", email=m.group(1), no=m.group(2))),
    (r"Email (.+) also on row (\d+)\.",
     lambda m: _("Email %(email)s is also on row %(row)s.", email=m.group(1), row=m.group(2))),
    (r"Section code (.+) is taken\.", lambda m: _("Section code %(code)s is taken.", code=m.group(1))),
    (r"Use name:relation;name:relation\.", lambda m: _("Use name:relation;name:relation.")),
    (r"Use solar:MM-DD, lunar:MM-DD or lunar:LMM-DD\.", lambda m: _("Use solar:MM-DD, lunar:MM-DD or lunar:LMM-DD.")),
    (r"Required column is missing\.", lambda m: _("Required column is missing.")),
    (r"Unknown column\.", lambda m: _("Unknown column.")),
    (r"More cells than columns\.", lambda m: _("More cells than columns.")),
    (r"At most (\d+) rows\.", lambda m: _("At most %(num)s rows.", num=m.group(1))),
    (r"Not readable as CSV: (.*)", lambda m: _("Not readable as CSV: %(why)s", why=m.group(1))),
]
_COMPILED = [(re.compile(p + r"\Z"), f) for p, f in _PATTERNS]


def translate_message(message: str) -> str:
    """The page's language for a message of the schemas or the register (unknown ones as they are)."""
    for pattern, make in _COMPILED:
        found = pattern.match(message)
        if found:
            return make(found)
    return message
