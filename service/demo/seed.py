"""The demo office: a district committee office (区委办公室) with nine sections and 60 people."""
from __future__ import annotations

import random
from datetime import date

from sqlalchemy import func, select

from service.extensions import db
from service.people.models import Person, Section
from service.people.register import apply_person

SECTIONS = [
    ("MSK", "秘书科", "Secretariat"), ("ZHK", "综合科", "General Affairs"),
    ("DCS", "督查室", "Supervision Office"), ("XXK", "信息科", "Information Section"),
    ("JYK", "机要科", "Confidential Communications"), ("GGB", "改革办", "Reform Office"),
    ("YJK", "研究室", "Policy Research"), ("BMK", "保密科", "Secrecy Section"),
    ("XFK", "信访科", "Petitions Section"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "华", "慧", "建国", "晓东", "海燕", "志刚", "雪梅", "文博", "思远", "一鸣", "嘉怡", "子涵"]
PINYIN = {"王": "Wang", "李": "Li", "张": "Zhang", "刘": "Liu", "陈": "Chen", "杨": "Yang", "黄": "Huang",
          "赵": "Zhao", "吴": "Wu", "周": "Zhou", "徐": "Xu", "孙": "Sun", "马": "Ma", "朱": "Zhu", "胡": "Hu",
          "郭": "Guo", "何": "He", "高": "Gao", "林": "Lin", "罗": "Luo", "郑": "Zheng", "梁": "Liang",
          "谢": "Xie", "宋": "Song", "唐": "Tang", "许": "Xu", "韩": "Han", "冯": "Feng", "邓": "Deng",
          "曹": "Cao", "彭": "Peng", "曾": "Zeng", "肖": "Xiao", "田": "Tian", "董": "Dong", "袁": "Yuan",
          "潘": "Pan", "于": "Yu", "蒋": "Jiang", "蔡": "Cai", "余": "Yu", "杜": "Du", "叶": "Ye",
          "程": "Cheng", "苏": "Su", "魏": "Wei", "吕": "Lü", "丁": "Ding", "任": "Ren", "沈": "Shen"}


def seed_demo(password: str, today: date | None = None) -> int:
    """Create the demo office in an empty database; return the number of people (0 if not empty)."""
    if db.session.scalar(select(func.count()).select_from(Person)):
        return 0
    from service.clock import unit_today

    today = today or unit_today()
    rng = random.Random(20261122)  # the same office every time
    sections = {}
    for code, name, name_en in SECTIONS:
        s = Section(code=code, name=name, name_en=name_en, parent_unit="区委办公室", min_base_staff=3)
        db.session.add(s)
        sections[code] = s
    db.session.flush()
    used = set()
    # One hash for the shared demo password: hashing it 60 times would slow the first start.
    from werkzeug.security import generate_password_hash

    demo_hash = generate_password_hash(password)

    def name():
        while True:
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            if surname + given not in used:
                used.add(surname + given)
                return surname + given, f"{PINYIN[surname]} {given}"

    def person(no, role, post, section=None, hr=False, oversees=None, rank="科员"):
        zh, en = name()
        started = date(rng.randint(1990, 2020), rng.randint(1, 12), 1)
        joined = date(max(started.year, rng.randint(2005, 2024)), rng.randint(1, 12), 1)
        if joined < started:
            joined = started
        lunar = rng.random() < 0.3
        birthday = None if rng.random() < 0.1 else {
            "calendar": "lunar" if lunar else "solar", "month": rng.randint(1, 12),
            "day": rng.randint(1, 30 if lunar else 28), "leap": False}
        relatives = [{"name": rng.choice(SURNAMES) + rng.choice(GIVEN), "relation": rel}
                     for rel in rng.sample(["parent", "spouse", "child", "parent_in_law"], rng.randint(0, 3))]
        data = {
            "employee_no": no, "name": zh, "name_en": en, "email": f"{no.lower()}@demo.talkcare.local",
            "section_id": sections[section].id if section else None, "post": post, "rank": rank,
            "role": role, "work_started_on": started, "joined_on": joined, "birthday": birthday,
            "celebrations_opt_out": rng.random() < 0.05, "relatives": relatives,
            "language": "en" if rng.random() < 0.1 else "zh_CN", "is_hr_admin": hr,
            "effective_from": joined,
        }
        if oversees:
            data["oversees"] = [sections[c].id for c in oversees]
        p, _ = apply_person(data, today, reason="import")
        p.password_hash = demo_hash
        return p

    person("L001", "head", "办公室主任", rank="正处级")
    codes = [c for c, _, _ in SECTIONS]
    for i, charge in enumerate((codes[0:3], codes[3:6], codes[6:9]), start=2):
        person(f"L00{i}", "deputy", "办公室副主任", oversees=charge, rank="副处级")
    count = 4
    for n, code in enumerate(codes, start=1):
        person(f"C{n}01", "chief", "科长", section=code, rank="正科级")
        count += 1
        for k in range(1, rng.randint(4, 6) + 1):
            person(f"S{n}{k:02d}", "staff",
                   rng.choice(["科员", "副科长", "一级主任科员", "四级主任科员"]), section=code)
            count += 1
    person("HR001", "staff", "组织人事干部", section="ZHK", hr=True)
    count += 1
    db.session.commit()
    # The people were just created: give the office its recent activity (only now, never twice).
    from flask import current_app

    from service.demo.activity import seed_activity

    seed_activity(current_app._get_current_object(), today)
    return count
