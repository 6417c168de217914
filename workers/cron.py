"""The one registry of periodic jobs, for RQ's own scheduler:

    rq cron workers/cron.py --url "$REDIS_URL"

Run exactly one scheduler. Every job here is idempotent (dedupe keys, status columns), so a
restarted or duplicated scheduler re-running a job changes nothing.
Cron strings are read in the scheduler process's local time: run it with TZ=Asia/Shanghai (the
unit's timezone) as the Dockerfile and the dev launcher do.
"""
from rq import cron

from workers.digest import send_weekly_digests
from workers.care import (remind_health_checks, remind_life_event_tasks, remind_visit_tasks,
                          send_birthday_greetings)
from workers.leave import book_leave_ledger, send_leave_reminders
from workers.outbox import relay_outbox
from workers.people import apply_postings
from workers.rotation import check_rotation_conflicts, send_rotation_notices
from workers.talks import send_red_letter_report, send_talk_reminders

cron.register(relay_outbox, queue_name="default", interval=60, job_timeout=600)
cron.register(apply_postings, queue_name="default", cron="5 0 * * *", job_timeout=600)
# Care (issue 5): the morning greetings and reminders; each job skips or dedupes on its own.
cron.register(send_birthday_greetings, queue_name="default", cron="30 8 * * *", job_timeout=600)
cron.register(remind_visit_tasks, queue_name="default", cron="0 9 * * *", job_timeout=600)
cron.register(remind_health_checks, queue_name="default", cron="15 9 * * *", job_timeout=600)
cron.register(remind_life_event_tasks, queue_name="default", cron="5 9 * * *", job_timeout=600)
# Leave (issue 4): the ledger run after midnight, the reminders in the morning (working days only).
cron.register(book_leave_ledger, queue_name="default", cron="20 0 * * *", job_timeout=1800)
cron.register(send_leave_reminders, queue_name="default", cron="45 8 * * *", job_timeout=600)
# Rotation (issue 6): flag conflicts after the register job, then the week-before notices.
cron.register(check_rotation_conflicts, queue_name="default", cron="40 0 * * *", job_timeout=1800)
cron.register(send_rotation_notices, queue_name="default", cron="50 8 * * *", job_timeout=600)
# Talks (issue 3): due-soon / overdue talk reminders and overdue follow-up items (working days only).
cron.register(send_talk_reminders, queue_name="default", cron="55 8 * * *", job_timeout=1200)
# The monthly red-letter report (通报): daily run, mails once a month from the first working day.
cron.register(send_red_letter_report, queue_name="default", cron="10 9 * * *", job_timeout=1200)
# Digest (issue 7): hourly; acts only on the send day at/after the send hour, once per person-week.
cron.register(send_weekly_digests, queue_name="default", cron="5 * * * *", job_timeout=3600)
