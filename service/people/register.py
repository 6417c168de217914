"""Changes to the register: people with their effective-dated postings, deputies' charges,
relatives; CSV import (all-or-nothing, row-level errors) and export."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from marshmallow import ValidationError
from sqlalchemy import select

from schemas.people import PersonSchema
from service import audit
from service.errors import DomainError
from service.extensions import db
from service.people.models import Oversight, Person, Posting, Relative, Section

POSTED_FIELDS = ("section_id", "post", "rank", "role")


class FieldError(DomainError):
    """Input that passed the schema but not the register (unknown id, duplicate number...)."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message, status=status, field=field)


def snapshot(person: Person) -> dict:
    """The person's values as audited and compared on import."""
    return {
        "employee_no": person.employee_no, "name": person.name, "name_en": person.name_en,
        "email": person.email, "section_id": person.section_id, "post": person.post,
        "rank": person.rank, "role": person.role, "work_started_on": person.work_started_on,
        "joined_on": person.joined_on, "birthday": birthday_of(person),
        "celebrations_opt_out": person.celebrations_opt_out, "language": person.language,
        "left_on": person.left_on, "rotation_exempt": person.rotation_exempt,
        "is_hr_admin": person.is_hr_admin,
        "relatives": [(r.name, r.relation) for r in person.relatives],
        "oversees": sorted(o.section_id for o in person.oversights if o.valid_to is None),
    }


def birthday_of(person: Person) -> dict | None:
    if not person.birthday_calendar:
        return None
    return {"calendar": person.birthday_calendar, "month": person.birthday_month,
            "day": person.birthday_day, "leap": bool(person.birthday_leap)}


def check_references(data: dict, person: Person | None) -> None:
    """Raise FieldError for ids that do not exist and numbers or emails already taken."""
    if data.get("section_id") is not None and db.session.get(Section, data["section_id"]) is None:
        raise FieldError("section_id", f"No section with id {data['section_id']}.")
    for sid in data.get("oversees") or []:
        if db.session.get(Section, sid) is None:
            raise FieldError("oversees", f"No section with id {sid}.")
    if "employee_no" in data:
        other = db.session.scalar(select(Person).where(Person.employee_no == data["employee_no"]))
        if other is not None and other is not person:
            raise FieldError("employee_no", f"Employee number {data['employee_no']} is taken.", 409)
    if data.get("email"):
        other = db.session.scalar(select(Person).where(Person.email == data["email"]))
        if other is not None and other is not person:
            raise FieldError("email", f"Email {data['email']} belongs to someone else.", 409)


def apply_person(data: dict, today: date, person: Person | None = None, reason: str = "update") -> tuple[Person, dict]:
    """Create or update a person from validated data; return it with the audited changes.

    A change of section, post, rank or role closes the posting in force on ``effective_from``
    (default today) and opens a new one from that date, so the history answers "who was where on
    day D". A change dated in the future is stored and applied on its date by the daily job.
    """
    check_references(data, person)
    creating = person is None
    before = {} if creating else snapshot(person)
    if creating:
        person = Person(employee_no=data["employee_no"], name=data["name"])
        db.session.add(person)
    effective = data.pop("effective_from", None) or (data.get("joined_on") if creating else None) or today
    oversees = data.pop("oversees", None)
    relatives = data.pop("relatives", None)
    if "birthday" in data:
        bday = data.pop("birthday")
        person.birthday_calendar = bday["calendar"] if bday else None
        person.birthday_month = bday["month"] if bday else None
        person.birthday_day = bday["day"] if bday else None
        person.birthday_leap = bool(bday and bday.get("leap"))
    posted = {k: data.pop(k) for k in POSTED_FIELDS if k in data}
    for key, value in data.items():
        setattr(person, key, value)
    if creating and "role" not in posted:
        posted["role"] = "staff"
    if creating or posted:
        db.session.flush()
        if _record_posting(person, posted, effective, "hire" if creating else reason):
            _mirror_posting(person, today)
    if relatives is not None:
        # Keep the rows of relatives that stay (care cases point at them); only the others change.
        kept = {(r.name, r.relation): r for r in person.relatives}
        person.relatives = [kept.pop((r["name"], r["relation"]), None) or Relative(name=r["name"], relation=r["relation"])
                            for r in relatives]
    if oversees is not None:
        _set_oversight(person, set(oversees), effective)
    db.session.flush()
    after = snapshot(person)
    changes = audit.diff(before, after)
    if changes:
        audit.record("create" if creating else "update", "person", person.id, changes)
    return person, changes


def _record_posting(person: Person, posted: dict, effective: date, reason: str) -> bool:
    """Record a change of section/post/rank/role from ``effective`` on; True if anything changed.

    The row in force on that date is split (or amended when it starts that day), and the change
    carries forward through later dated rows that still held the old value - a later move or a
    rotation posting keeps its own values, so recording one change never undoes another.
    """
    rows = list(db.session.scalars(
        select(Posting).where(Posting.person_id == person.id).order_by(Posting.valid_from)))
    at = next((r for r in rows if r.valid_from <= effective and (r.valid_to is None or r.valid_to > effective)), None)
    if at is None:
        # Before the first row (or none yet): the new row runs until the first later row.
        later = [r for r in rows if r.valid_from > effective]
        values = {k: getattr(person, k) for k in POSTED_FIELDS} | posted
        values["role"] = values.get("role") or "staff"
        db.session.add(Posting(person_id=person.id, valid_from=effective,
                               valid_to=later[0].valid_from if later else None, reason=reason, **values))
        return True
    old = {k: getattr(at, k) for k in POSTED_FIELDS}
    changed = {k: v for k, v in posted.items() if old[k] != v}
    if not changed:
        return False
    if at.valid_from == effective:
        target = at
        target.reason = reason
    else:
        target = Posting(person_id=person.id, valid_from=effective, valid_to=at.valid_to, reason=reason, **old)
        at.valid_to = effective
        db.session.add(target)
    for key, value in changed.items():
        setattr(target, key, value)
    for key, value in changed.items():
        for row in (r for r in rows if r.valid_from > effective):
            if getattr(row, key) != old[key]:
                break  # a later change of this field stands
            setattr(row, key, value)
    return True


def _mirror_posting(person: Person, today: date) -> None:
    """Copy the row in force today onto the person's current fields (future rows wait)."""
    db.session.flush()
    row = db.session.scalar(select(Posting).where(
        Posting.person_id == person.id, Posting.valid_from <= today,
        (Posting.valid_to.is_(None)) | (Posting.valid_to > today)))
    if row is not None:
        for key in POSTED_FIELDS:
            setattr(person, key, getattr(row, key))


def _set_oversight(person: Person, section_ids: set[int], effective: date) -> None:
    held = {o.section_id: o for o in person.oversights if o.valid_to is None}
    for sid, row in held.items():
        if sid not in section_ids:
            if row.valid_from >= effective:
                person.oversights.remove(row)
            else:
                row.valid_to = effective
    for sid in section_ids - set(held):
        person.oversights.append(Oversight(section_id=sid, valid_from=effective))


def sync_current_postings(day: date) -> int:
    """Make each person's current section/post/rank/role those of the posting in force on ``day``."""
    changed = 0
    rows = db.session.execute(
        select(Person, Posting).join(Posting, Posting.person_id == Person.id).where(
            Posting.valid_from <= day, (Posting.valid_to.is_(None)) | (Posting.valid_to > day))
    ).all()
    for person, posting in rows:
        values = {k: getattr(posting, k) for k in POSTED_FIELDS}
        if any(getattr(person, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(person, k, v)
            audit.record("apply_posting", "person", person.id, {"posting": posting.id}, via="job")
            changed += 1
    db.session.commit()
    return changed


# --- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS = ("employee_no", "name", "name_en", "email", "section_code", "post", "rank", "role",
               "oversees", "work_started_on", "joined_on", "birthday", "celebrations_opt_out",
               "relatives", "language", "left_on", "rotation_exempt", "is_hr_admin")
REQUIRED_COLUMNS = ("employee_no", "name")
_FORMULA_START = ("=", "+", "@", "\t", "\r")
MAX_IMPORT_ROWS = 20000


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list | None = None


def _cell_out(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    # Spreadsheets run cells that start like a formula; a leading quote keeps them text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell_in(value: str | None) -> str:
    value = (value or "").strip()
    if value.startswith("'") and value[1:2] in _FORMULA_START:
        return value[1:]
    return value


def format_birthday(bday: dict | None) -> str:
    if not bday:
        return ""
    leap = "L" if bday.get("leap") else ""
    return f"{bday['calendar']}:{leap}{bday['month']:02d}-{bday['day']:02d}"


def parse_birthday(text: str) -> dict:
    """``solar:03-15``, ``lunar:08-30`` or ``lunar:L04-12`` (leap 4th month)."""
    try:
        cal, md = text.split(":", 1)
        leap = md.startswith("L")
        month, day = md.lstrip("L").split("-")
        return {"calendar": cal.strip(), "month": int(month), "day": int(day), "leap": leap}
    except ValueError:
        raise ValidationError("Use solar:MM-DD, lunar:MM-DD or lunar:LMM-DD.") from None


def export_people_csv(people) -> str:
    sections = {s.id: s.code for s in db.session.scalars(select(Section))}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p in people:
        snap = snapshot(p)
        writer.writerow([_cell_out(v) for v in (
            p.employee_no, p.name, p.name_en, p.email, sections.get(p.section_id), p.post, p.rank,
            p.role, ";".join(sections[s] for s in snap["oversees"]), p.work_started_on, p.joined_on,
            format_birthday(snap["birthday"]), p.celebrations_opt_out,
            ";".join(f"{n}:{r}" for n, r in snap["relatives"]), p.language, p.left_on,
            p.rotation_exempt, p.is_hr_admin)])
    return out.getvalue()


_BOOL = {"yes": True, "y": True, "true": True, "1": True, "是": True,
         "no": False, "n": False, "false": False, "0": False, "否": False, "": False}


def _row_to_input(row: dict, codes: dict) -> tuple[dict, list[tuple[str, str]]]:
    """Turn a CSV row into PersonSchema input; return it with conversion errors (field, message)."""
    errors, data = [], {}
    for key in ("employee_no", "name", "name_en", "email", "post", "rank", "role", "work_started_on",
                "joined_on", "language", "left_on"):
        value = _cell_in(row.get(key))
        if value:
            data[key] = value
        elif key in ("name_en", "email", "post", "rank", "work_started_on", "joined_on", "left_on"):
            data[key] = None
    for key in ("celebrations_opt_out", "rotation_exempt", "is_hr_admin"):
        value = _cell_in(row.get(key)).lower()
        if value not in _BOOL:
            errors.append((key, "Use yes or no."))
        else:
            data[key] = _BOOL[value]
    code = _cell_in(row.get("section_code"))
    if code:
        if code not in codes:
            errors.append(("section_code", f"No section with code {code}."))
        else:
            data["section_id"] = codes[code]
    else:
        data["section_id"] = None
    overseen = [c.strip() for c in _cell_in(row.get("oversees")).split(";") if c.strip()]
    unknown = [c for c in overseen if c not in codes]
    if unknown:
        errors.append(("oversees", f"No section with code {', '.join(unknown)}."))
    elif "oversees" in row:
        data["oversees"] = [codes[c] for c in overseen]
    bday = _cell_in(row.get("birthday"))
    try:
        data["birthday"] = parse_birthday(bday) if bday else None
    except ValidationError as exc:
        errors.append(("birthday", exc.messages[0]))
    rel = _cell_in(row.get("relatives"))
    relatives = []
    for item in filter(None, (x.strip() for x in rel.split(";"))):
        if ":" not in item:
            errors.append(("relatives", "Use name:relation;name:relation."))
            break
        name, relation = item.rsplit(":", 1)
        relatives.append({"name": name.strip(), "relation": relation.strip()})
    data["relatives"] = relatives
    return data, errors


def _flatten(messages, prefix="") -> list[tuple[str, str]]:
    out = []
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, name + "."))
        else:
            out.extend((name, m if isinstance(m, str) else str(m)) for m in value)
    return out


def import_people_csv(text: str, today: date) -> ImportResult:
    """Import people from CSV: all rows or none. Rows are matched by employee number, so a
    re-import updates people and never duplicates them. Returns counts or row-level errors;
    on errors nothing is written (the caller rolls back)."""
    result = ImportResult(errors=[])
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        result.errors.append({"row": reader.line_num or 1, "field": "", "message": f"Not readable as CSV: {exc}."})
        return result
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        for c in missing:
            result.errors.append({"row": 1, "field": c, "message": "Required column is missing."})
        for c in unknown:
            result.errors.append({"row": 1, "field": c, "message": "Unknown column."})
        return result
    codes = {s.code: s.id for s in db.session.scalars(select(Section))}
    existing = {p.employee_no: p for p in db.session.scalars(select(Person))}
    schema = PersonSchema()
    loaded, seen_numbers, seen_emails = [], {}, {}
    for index, row in enumerate(rows, start=2):
        if index - 1 > MAX_IMPORT_ROWS:
            result.errors.append({"row": index, "field": "", "message": f"At most {MAX_IMPORT_ROWS} rows."})
            break
        if None in row:
            result.errors.append({"row": index, "field": "", "message": "More cells than columns."})
            continue
        data, errors = _row_to_input(row, codes)
        person = existing.get(data.get("employee_no"))
        try:
            clean = schema.load(data)
        except ValidationError as exc:
            errors.extend(_flatten(exc.messages))
            clean = None
        number = data.get("employee_no")
        if number in seen_numbers:
            errors.append(("employee_no", f"Employee number {number} also on row {seen_numbers[number]}."))
        email = data.get("email")
        if email and email in seen_emails:
            errors.append(("email", f"Email {email} also on row {seen_emails[email]}."))
        if email and not any(field == "email" for field, _ in errors):
            holder = db.session.scalar(select(Person).where(Person.email == email))
            if holder is not None and holder.employee_no != number:
                errors.append(("email", f"Email {email} belongs to {holder.employee_no}."))
        seen_numbers.setdefault(number, index)
        if email:
            seen_emails.setdefault(email, index)
        for field, message in errors:
            result.errors.append({"row": index, "field": field, "message": message})
        if not errors:
            loaded.append((index, clean, person))
    if result.errors:
        return result
    for index, clean, person in loaded:
        if person is not None and snapshot(person) == {**snapshot(person), **_comparable(clean)}:
            result.unchanged += 1
            continue
        try:
            apply_person(dict(clean), today, person, reason="import")
        except FieldError as exc:
            result.errors.append({"row": index, "field": exc.field, "message": exc.message})
            continue
        if person is None:
            result.created += 1
        else:
            result.updated += 1
    return result


def _comparable(clean: dict) -> dict:
    out = {k: v for k, v in clean.items() if k != "effective_from"}
    if "relatives" in out:
        out["relatives"] = [(r["name"], r["relation"]) for r in out["relatives"]]
    if "oversees" in out:
        out["oversees"] = sorted(out["oversees"])
    return out


def section_in_use(section: Section) -> bool:
    """Whether anyone is or was posted to or in charge of the section (the API's delete rule):
    such a section stays, for the history."""
    for model, column in ((Posting, Posting.section_id), (Oversight, Oversight.section_id),
                          (Person, Person.section_id)):
        if db.session.scalar(select(model.id).where(column == section.id).limit(1)) is not None:
            return True
    return False
