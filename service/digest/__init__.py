"""The weekly schedule email (issue 7): what each person has this week, gathered from every domain.

``content.build_digest`` is the pure core (plain data in, a ``Digest`` of non-empty sections out);
``loading.load_week`` fetches a chunk of people's week with one query per source; ``schedule``
decides the send day; ``sending.send_weekly_digests`` fans out through the outbox, one row per
person per ISO week (dedupe key ``weekly:<person>:<year>-W<week>``), so re-runs send nothing twice.
"""
