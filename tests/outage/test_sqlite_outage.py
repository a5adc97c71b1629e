"""SQLite "down" as an operator meets it: the data folder moved away (an unmounted volume).
As root no permission bit stops the server, and an open SQLite connection keeps its file
through a rename; what sees the outage is every new connection, /readyz's probe first."""

import sqlite3
from pathlib import Path

from tests.http.support import client_with


async def test_readyz_follows_the_sqlite_folder_away_and_back(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with sqlite3.connect(folder / "portal.sqlite3") as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    db.close()
    async with client_with(database_url=f"sqlite:///{folder}/portal.sqlite3") as client:
        up = await client.http.get("/readyz")
        folder.rename(tmp_path / "elsewhere")
        down = await client.http.get("/readyz")
        (tmp_path / "elsewhere").rename(folder)
        back = await client.http.get("/readyz")
    assert up.status_code == 200 and up.json()["checks"]["database"] == "ok"
    assert down.status_code == 503 and down.json()["checks"]["database"] == "down"
    # Back without a restart.
    assert back.status_code == 200 and back.json()["checks"]["database"] == "ok"
