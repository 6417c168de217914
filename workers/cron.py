"""The one registry of periodic jobs, for RQ's own scheduler:

    rq cron workers/cron.py --url "$REDIS_URL"

Run exactly one scheduler. Every job here is idempotent (dedupe keys, status columns), so a
restarted or duplicated scheduler re-running a job changes nothing.
Cron strings are read in the scheduler process's local time: run it with TZ=Asia/Shanghai (the
unit's timezone) as the Dockerfile and the dev launcher do.
"""
from rq import cron

from workers.outbox import relay_outbox
from workers.people import apply_postings

cron.register(relay_outbox, queue_name="default", interval=60, job_timeout=600)
cron.register(apply_postings, queue_name="default", cron="5 0 * * *", job_timeout=600)
