"""WSGI entry point: ``gunicorn wsgi:app``."""
import gc

from service import create_app

app = create_app()
# What the app built at start-up (modules, schemas, SQLAlchemy's mappers and caches) lives as long
# as the process: moved out of the collector's reach, a full collection no longer walks it on
# every request that triggers one (~5-10 % of a small write's CPU, measured under gunicorn).
gc.freeze()
