"""Whether a database is at the newest migration, without importing Alembic.

Importing Alembic (its dialects, Mako, Pygments) is a fifth of a second; a read command such as
``newsbrief feeds list`` would spend more time there than on its work. The newest revision is
read from the migration files (``revision = "…"`` / ``down_revision = "…"``, what Alembic
itself reads) and compared with the database's ``alembic_version``; anything unexpected answers
"not known", and the caller runs the real upgrade. ``tests/test_cli_options.py`` checks that the
head found here is Alembic's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from newsbrief.store.db import Database

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_ASSIGNED = re.compile(
    r'^(revision|down_revision)\s*(?::[^=]+)?=\s*(?:"([^"]*)"|\'([^\']*)\'|None)', re.M
)


def head_revision(folder: Path = VERSIONS) -> str | None:
    """The one revision no other migration follows; None when that is not plain to see
    (several heads, a file this reading does not understand)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in folder.glob("*.py"):
        found = {m[1]: m[2] or m[3] for m in _ASSIGNED.finditer(script.read_text("utf-8"))}
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            followed.add(found["down_revision"])
    heads = revisions - followed
    return heads.pop() if len(heads) == 1 else None


def at_head(db: Database) -> bool:
    """True when ``db`` holds exactly the newest migration (False when unsure: upgrade then)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except Exception:  # no table yet, or an error the real upgrade reports better
        return False
    return [row[0] for row in rows] == [head]
