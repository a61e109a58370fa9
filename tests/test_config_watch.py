"""Hand edits of config/ while the bot runs: a valid edit of the config or the taxonomy file
takes effect by itself; an invalid one is refused, its problems (``file:line: reason``) go to the
admins through the outbox once, and the last good config keeps serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

import jobs.runtime
from jobs.config_watch import ConfigWatch
from newsbrief.config.settings import Config
from newsbrief.store import subscribers
from newsbrief.store.tables import DeliveryRow
from tests.harness import Harness, eventually, running_harness
from tests.test_admin_commands import ADMIN, TAXONOMY


@pytest.fixture
async def watched(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    # Look ten times a second, so the test does not wait for the one-second default.
    monkeypatch.setattr(jobs.runtime, "WATCH_SECONDS", 0.1)
    async for running in running_harness(database_url, tmp_path / "newsbrief.yaml", admin=ADMIN):
        yield running


def notices(h: Harness) -> list[str]:
    """The refusals queued for the admin, oldest first."""
    with h.runtime.db.session() as session:
        rows = list(
            session.scalars(
                select(DeliveryRow)
                .where(DeliveryRow.key.like("admin:config-refused:%"))
                .order_by(DeliveryRow.id)
            )
        )
        assert all(row.chat_id == str(ADMIN) for row in rows)
        return [row.text for row in rows]


def line_of(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


async def topics_of(h: Harness, chat: int) -> list[str]:
    with h.runtime.db.session() as session:
        found = subscribers.find(session, "telegram", str(chat), None)
    return list(found.topics) if found else []


async def test_hand_edits_take_effect_and_bad_ones_are_refused(watched: Harness) -> None:
    h = watched
    config = h.runtime.config_file
    assert config is not None
    taxonomy = config.parent / "topics.yaml"

    # A valid hand edit of the config: it names a taxonomy file now.
    taxonomy.write_text(TAXONOMY, encoding="utf-8")
    main = config.read_text("utf-8").replace("telegram:\n", "topics_file: topics.yaml\ntelegram:\n")
    config.write_text(main, encoding="utf-8")
    await eventually(lambda: h.runtime.ctx.config.topic("space") is not None)
    await h.say("/subscribe space", expect=1, chat=901)
    assert await topics_of(h, 901) == ["space"]

    # An invalid edit of the taxonomy: a topic with a bad id.
    broken = TAXONOMY.replace("  - id: games\n", "  - id: Games!\n")
    taxonomy.write_text(broken, encoding="utf-8")
    await eventually(lambda: len(notices(h)) == 1)
    where = f"{taxonomy.resolve()}:{line_of(broken, '  - id: Games!')}"
    await h.runtime.deliverer.tick()
    (notice,) = h.botapi.messages(ADMIN)
    assert notice.text.startswith("⚠️ An edit of the config files has errors and was not applied")
    assert f"{where}: id must be lowercase letters, digits, '-' or '_': 'Games!'" in notice.text
    # The bot keeps serving with the last good topics, games included.
    await h.say("/subscribe games", expect=1, chat=902)
    assert await topics_of(h, 902) == ["games"]
    assert h.runtime.ctx.config.topic("games") is not None

    # Fixed, with an alias more: in force.
    taxonomy.write_text(TAXONOMY.replace("[游戏, games]", "[游戏, games, 电竞]"), "utf-8")
    await eventually(lambda: "电竞" in h.runtime.ctx.config.topic("games").aliases)  # type: ignore[union-attr]

    # Invalid edits of the config itself: bad indentation, then an unknown key.
    bad_indent = main.replace("  host_spacing: 0\n", "   host_spacing: 0\n")
    config.write_text(bad_indent, encoding="utf-8")
    await eventually(lambda: len(notices(h)) == 2)
    assert f"{config}:{line_of(bad_indent, '   host_spacing: 0')}: YAML syntax" in notices(h)[1]
    unknown = main.replace("  host_spacing: 0\n", "  host_spacing: 0\n  retries: 3\n")
    config.write_text(unknown, encoding="utf-8")
    await eventually(lambda: len(notices(h)) == 3)
    line = line_of(unknown, "  retries: 3")
    assert f"{config}:{line}: unknown key &#x27;retries&#x27; in fetch" in notices(h)[2]
    await h.say("/unsubscribe space", expect=2, chat=901)
    assert await topics_of(h, 901) == []
    assert "电竞" in h.runtime.ctx.config.topic("games").aliases  # type: ignore[union-attr]

    # Each broken state was told once, however many times the watcher looked.
    await h.say("/list", expect=3, chat=901)
    assert len(notices(h)) == 3

    # A later valid edit takes effect.
    config.write_text(main.replace("keywords: [bitcoin]", "keywords: [bitcoin, BTC]"), "utf-8")
    await eventually(lambda: h.runtime.ctx.config.topic("crypto").keywords == ("bitcoin", "BTC"))  # type: ignore[union-attr]
    assert len(notices(h)) == 3


async def test_an_edit_is_read_once_it_has_settled(watched: Harness) -> None:
    h = watched
    config = h.runtime.config_file
    assert config is not None
    applied: list[Config] = []
    # A watcher of its own, ticked by hand (the runtime's keeps running beside it).
    watch = ConfigWatch(h.runtime.ctx, config, applied.append)
    assert await watch.tick() is None
    good = config.read_text("utf-8")
    config.write_text(good.replace("keywords: [bitcoin]", "keywords: [bitcoin, btc]"), "utf-8")
    assert await watch.tick() is None  # changed: maybe still being written, look again
    assert await watch.tick() is True
    assert applied[-1].topic("crypto").keywords == ("bitcoin", "btc")  # type: ignore[union-attr]
    assert await watch.tick() is None
    # The runtime's watcher takes the edit too (on a busy machine it may look later): a
    # refusal is told once per (config in force, broken files), so both must be in force alike.
    await eventually(
        lambda: h.runtime.ctx.config.topic("crypto").keywords == ("bitcoin", "btc")  # type: ignore[union-attr]
    )

    config.rename(config.with_suffix(".bak"))  # an editor saving by moving the old file away
    assert [await watch.tick(), await watch.tick(), await watch.tick()] == [None, None, None]
    config.with_suffix(".bak").rename(config)
    edited = config.read_bytes()
    config.write_bytes(b"")  # an editor truncating before it writes: all defaults, never
    assert [await watch.tick(), await watch.tick(), await watch.tick()] == [None, None, None]
    config.write_bytes(edited)
    assert await watch.tick() is None
    assert len(applied) == 1 and notices(h) == []

    config.write_text(good.replace("poll_timeout: 1", "poll_timeout: -1"), "utf-8")
    assert [await watch.tick(), await watch.tick()] == [None, False]
    assert len(applied) == 1 and len(notices(h)) == 1
    assert "telegram.poll_timeout: Input should be greater than or equal to 0" in notices(h)[0]
