"""Piccolo's configuration: the engine comes from DATABASE_URL (SQLite under ./var by default)."""

from piccolo.conf.apps import AppRegistry

from web.db.engine import engine_for_url
from web.settings import database_url_from_env

DB = engine_for_url(database_url_from_env())

APP_REGISTRY = AppRegistry(apps=["web.db.piccolo_app"])
