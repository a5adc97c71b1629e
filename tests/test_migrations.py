from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from gql_portal.db import tortoise_config
from tests.database import TestDatabase


async def test_committed_migrations_match_the_models(database: TestDatabase) -> None:
    config = tortoise_config(database.url)
    detector = MigrationAutodetector(Tortoise.apps, config["apps"])
    changes = await detector.changes()
    assert changes == [], "models changed: regenerate gql_portal/migrations"
