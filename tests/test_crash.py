"""Crash test: ``newsbrief run`` is killed with SIGKILL at random moments and restarted.

A real process polls, processes, composes and delivers to the loopback Bot API server while new
stories keep arriving. It is SIGKILLed 20 times at seeded random moments (every other one drawn
from the moments just after a send reached the server) and started again each time; a last one
runs to quiescence. Then every subscriber must hold every story on its topics and nothing else,
and a message may have arrived twice only if it was in flight at a kill: at most one per kill.

"In flight at a kill" is read off the wreck, once the killed process is reaped and the server
has answered everything it received: per chat, the messages the server accepted during that
life beyond the outbox rows the life marked sent. Only those can be sent again.

Set NEWSBRIEF_CRASH_SEED to replay a run (the seed is printed).
"""

from __future__ import annotations

import json
import os
import random
import signal
import string
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from newsbrief.records import Message
from newsbrief.store import feeds as feed_store
from newsbrief.store import outbox, subscribers
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow, DigestCursorRow, EntryRow, FeedRow
from tests.harness import telegram_chat
from tests.servers.botapi import BotApiServer, JsonDict
from tests.servers.feeds import FeedServer, rss

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "555000:crash-test"
KILLS = 20
SUBSCRIBERS = 24
FEEDS = 3
# Each topic's keyword goes in the title and the lead, so the matcher files the story there.
TOPICS = {"ai": "language model", "crypto": "bitcoin", "ice": "glacier", "stars": "telescope"}
LIFETIME = (0.3, 1.4)
"""Seconds a process lives before its kill: start-up (config, migrations, bot) takes ~0.7 s."""
SENDING = (0.0, 0.03)
"""Seconds after a send reached the server that a kill "while sending" comes: a send and its
record take a few milliseconds, so some kills land in between and some after."""
QUIESCENCE = 25.0
"""Seconds the last process gets to deliver everything."""
DELIVERY_LEASE = 2

CONFIG = """\
telegram: {{api_base_url: "http://127.0.0.1:{port}", poll_timeout: 1}}
fetch: {{allow_private_networks: true, host_spacing: 0}}
scheduler: {{poll: 0.3, process: 0.3, compose: 0.3, deliver: 0.2, delivery_lease: {lease},
            poll_lease: 1, process_lease: 1}}
# Every story to every chat: no one-message first digest that counts the rest (0: off).
subscriber_defaults: {{language: en, backlog_hours: 0, max_items: 200, first_digest_items: 0}}
topics:
{topics}
feeds:
{feeds}
"""


class CrashBotApi(BotApiServer):
    """Knows when no sendMessage is half-handled, so a wreck is read after the server is done."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.busy = 0
        self.sends = 0
        """sendMessage requests that arrived."""

    def _send_message(self, params: JsonDict) -> JsonDict:
        with self._cond:
            self.busy += 1
            self.sends += 1
            self._cond.notify_all()
        try:
            return super()._send_message(params)
        finally:
            with self._cond:
                self.busy -= 1
                self._cond.notify_all()

    def wait_for_send(self, after: int, timeout: float) -> None:
        """Wait until more than ``after`` sendMessage requests have arrived (or time is up)."""
        with self._cond:
            self._cond.wait_for(lambda: self.sends > after, timeout)

    def settle(self) -> None:
        """Wait until requests that reached the socket before a kill have been answered."""
        time.sleep(0.15)
        with self._cond:
            assert self._cond.wait_for(lambda: self.busy == 0, 5), "server stuck mid-send"


@dataclass
class Story:
    title: str
    topic: str | None


@dataclass
class World:
    rng: random.Random
    feeds: FeedServer
    items: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    stories: list[Story] = field(default_factory=list)

    def word(self) -> str:
        return "".join(self.rng.choices(string.ascii_lowercase, k=self.rng.randint(5, 9)))

    def publish(self, n: int) -> None:
        """``n`` new entries on one feed: distinct words, so no two are taken for one story."""
        path = f"/f{self.rng.randrange(FEEDS)}.xml"
        for _ in range(n):
            number = len(self.stories)
            topic = self.rng.choice([*TOPICS, None])
            keyword = TOPICS[topic] if topic else self.word()
            words = [self.word() for _ in range(5)]
            title = f"{words[0].title()} {words[1]} {keyword} {words[2]} {number}"
            lead = " ".join([keyword, *(self.word() for _ in range(25))]) + "."
            self.items.setdefault(path, []).append(
                {
                    "title": title,
                    "link": f"https://news.example/{number}-{words[3]}",
                    "guid": f"story-{number}",
                    "description": lead,
                }
            )
            self.stories.append(Story(title, topic))
        self.feeds.set(path, rss(self.items[path], title=f"Feed {path}"))


def config_text(botapi: BotApiServer, feeds: FeedServer) -> str:
    topics = "\n".join(
        f"  - {{id: {t}, name: {{zh: {t}, en: {t.title()}}}, keywords: [{k}]}}"
        for t, k in TOPICS.items()
    )
    feed_list = "\n".join(
        f'  - {{id: f{i}, url: "{feeds.url(f"/f{i}.xml")}", fulltext: never}}' for i in range(FEEDS)
    )
    return CONFIG.format(port=botapi.port, lease=DELIVERY_LEASE, topics=topics, feeds=feed_list)


def add_subscribers(db: Database, rng: random.Random) -> dict[str, set[str]]:
    """Chat id -> topics: every subscriber follows a different mix."""
    now = datetime.now(UTC)
    chats: dict[str, set[str]] = {}
    with db.session() as session:
        for n in range(SUBSCRIBERS):
            chat = str(7000 + n)
            topics = set(rng.sample(sorted(TOPICS), rng.randint(1, 3)))
            sub = telegram_chat(session, chat, now)
            subscribers.subscribe(session, sub.id, sorted(topics), now)
            chats[chat] = topics
    return chats


def make_due(db: Database, *, feeds: bool = True) -> None:
    """Compress time: the test cannot wait minutes for the schedules.

    Feeds get what ``newsbrief poll --once --all`` does (they are otherwise checked every few
    minutes); digests, which "instant" batches per minute, are made due.
    """
    now = datetime.now(UTC)
    with db.session() as session:
        if feeds:
            feed_store.make_all_due(session, now)
        session.execute(update(DigestCursorRow).values(next_due_at=now))


def sent_per_chat(db: Database) -> Counter[str]:
    """Outbox rows the database shows as sent, per chat."""
    with db.session() as session:
        rows = session.execute(
            select(DeliveryRow.chat_id, func.count())
            .where(DeliveryRow.status == "sent")
            .group_by(DeliveryRow.chat_id)
        )
        return Counter({chat: n for chat, n in rows})


def in_flight(
    botapi: BotApiServer, since: int, before: Counter[str], after: Counter[str]
) -> Counter[str]:
    """Per chat: messages the server accepted during a life (those after the first ``since``)
    beyond the rows that life marked sent (``after - before``). Counted, not matched by text,
    so it holds however the outbox stores a message."""
    accepted = Counter(str(m.chat_id) for m in botapi.all_messages()[since:])
    return accepted - (after - before)


def stuck_state(db: Database) -> str:
    """What is still waiting, with its lease: where a lost story got stuck."""
    now = datetime.now(UTC)
    with db.session() as session:
        lines = [
            f"feed {f.id}: next_check_at={f.next_check_at} lease_until={f.lease_until}"
            for f in session.scalars(select(FeedRow)).all()
            if f.lease_until is not None and f.lease_until > now
        ]
        lines += [
            f"entry {e.id}: unprocessed, lease_until={e.lease_until}"
            for e in session.scalars(select(EntryRow).where(EntryRow.processed_at.is_(None)))
        ]
        lines += [
            f"delivery {d.key}: {d.status} due_at={d.due_at} lease_until={d.lease_until}"
            for d in session.scalars(select(DeliveryRow).where(DeliveryRow.status != "sent"))
        ]
    more = [f"... and {len(lines) - 40} more"] if len(lines) > 40 else []
    return f"(now {now})\n" + "\n".join(lines[:40] + more)


class Launcher:
    """``newsbrief run`` processes forked from tests/crash_child.py, which did the imports once."""

    def __init__(self, database_url: str) -> None:
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "NEWSBRIEF_DATABASE_URL": database_url,
        }
        self.zygote = subprocess.Popen(
            [sys.executable, "-m", "tests.crash_child"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.alive: set[int] = set()

    def _ask(self, *command: str | int) -> int:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(json.dumps(command) + "\n")
        self.zygote.stdin.flush()
        return int(self.zygote.stdout.readline())

    def spawn(self, config: Path, log: Path) -> int:
        pid = self._ask("spawn", str(log), "--config", str(config), "run")
        self.alive.add(pid)
        return pid

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self._ask("reap", pid)
        self.alive.discard(pid)

    def run_cli(self, config: Path, log: Path) -> subprocess.Popen[bytes]:
        """The ``newsbrief run`` command itself, as a service manager starts it."""
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "jobs.main", "--config", str(config), "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def close(self) -> None:
        for pid in list(self.alive):  # a failed test must not leave a bot running
            self.kill(pid)
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.close()
        self.zygote.wait(timeout=10)
        self.zygote.stdout.close()


@dataclass
class Kill:
    after: float
    """Seconds the process lived."""
    sending: bool
    """Whether the moment was picked while the process was sending."""
    in_flight: Counter[str]
    """Per chat, messages sent but not marked sent when the process died."""


def missing_and_extra(
    botapi: BotApiServer, chats: dict[str, set[str]], stories: list[Story]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    got = {chat: "\n".join(m.text for m in botapi.messages(int(chat))) for chat in chats}
    missing, extra = [], []
    for chat, topics in chats.items():
        for story in stories:
            wanted = story.topic in topics
            if wanted and story.title not in got[chat]:
                missing.append((chat, story.title))
            elif not wanted and story.title in got[chat]:
                extra.append((chat, story.title))
    return missing, extra


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, database_url: str) -> None:
    seed = int(os.environ.get("NEWSBRIEF_CRASH_SEED") or random.randrange(1 << 32))
    print(f"\ncrash test seed {seed} (NEWSBRIEF_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    db = Database(database_url)
    db.upgrade()
    kills: list[Kill] = []
    with CrashBotApi() as botapi, FeedServer() as feeds:
        launcher = Launcher(database_url)
        try:
            world = World(rng, feeds)
            for i in range(FEEDS):
                feeds.set(f"/f{i}.xml", rss([], title=f"Feed {i}"))
            config = tmp_path / "newsbrief.yaml"
            config.write_text(config_text(botapi, feeds), encoding="utf-8")
            chats = add_subscribers(db, rng)
            world.publish(4)

            killing = time.monotonic()
            for life in range(KILLS):
                since, sends = len(botapi.all_messages()), botapi.sends
                marked = sent_per_chat(db)
                pid = launcher.spawn(config, tmp_path / f"life{life}.log")
                born = time.monotonic()
                # Every other life, the moment is drawn from the short windows of sending, where
                # a kill can catch a message sent but not yet marked sent.
                sending = life % 2 == 1
                lifetime = rng.uniform(0, 0.5) if sending else rng.uniform(*LIFETIME)
                # News arrives while it runs, so every stage has work when the kill comes.
                moments = sorted(rng.uniform(0, lifetime) for _ in range(2))
                for previous, moment in zip([0.0, *moments], moments, strict=False):
                    time.sleep(moment - previous)
                    world.publish(rng.randint(1, 3))
                    make_due(db)
                time.sleep(lifetime - moments[-1])
                if sending:
                    botapi.wait_for_send(sends, timeout=2.5)
                    time.sleep(rng.uniform(*SENDING))
                launcher.kill(pid)
                botapi.settle()
                lived = round(time.monotonic() - born, 2)
                flying = in_flight(botapi, since, marked, sent_per_chat(db))
                kills.append(Kill(lived, sending, flying))
            killed = time.monotonic() - killing

            # The last life runs to quiescence: all matched stories arrived, the outbox is empty.
            world.publish(3)
            make_due(db)
            last_log = tmp_path / "last.log"
            proc = launcher.run_cli(config, last_log)
            started = time.monotonic()
            try:
                while time.monotonic() < started + QUIESCENCE:
                    missing, _ = missing_and_extra(botapi, chats, world.stories)
                    with db.session() as session:
                        waiting = session.scalars(
                            select(DeliveryRow.key).where(DeliveryRow.status != "sent")
                        ).all()
                    if not missing and not waiting:
                        break
                    make_due(db, feeds=False)
                    time.sleep(0.3)
                drained = time.monotonic() - started
                time.sleep(1)  # a late duplicate would arrive now
                state = stuck_state(db)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        finally:
            launcher.close()
    rows_sent = sent_per_chat(db)
    db.dispose()

    missing, extra = missing_and_extra(botapi, chats, world.stories)
    sent = botapi.all_messages()
    # A message sent again after a kill comes back word for word.
    copies = Counter((str(m.chat_id), m.raw_text) for m in sent)
    duplicated = Counter[str]()
    for (chat, _), n in copies.items():
        duplicated[chat] += n - 1
    duplicated = +duplicated
    flying = sum((k.in_flight for k in kills), Counter[str]())
    matching = sum(1 for s in world.stories for t in chats.values() if s.topic in t)
    print(f"kills {KILLS}, lifetimes {[k.after for k in kills]}")
    print(f"in flight per kill {[k.in_flight.total() for k in kills]} (total {flying.total()})")
    print(
        f"stories {len(world.stories)} ({sum(s.topic is None for s in world.stories)} on no "
        f"topic), subscribers {len(chats)}, story deliveries expected {matching}, "
        f"messages {len(sent)} for {rows_sent.total()} outbox rows, duplicates "
        f"{duplicated.total()}; "
        f"{KILLS} lives {killed:.1f}s, last life delivered all in {drained:.1f}s"
    )

    log = [
        line for line in last_log.read_text(errors="replace").splitlines() if "skipped" not in line
    ]
    assert not missing, f"{len(missing)} never arrived: {missing[:3]}\n{state}\nlast life:\n" + (
        "\n".join(log[-25:])
    )
    assert not extra, f"stories sent to subscribers not following their topic: {extra[:5]}"
    # A retry repeats one message word for word; a story in two different messages is no retry.
    texts = {chat: {m.text for m in botapi.messages(int(chat))} for chat in chats}
    twice = [
        (chat, story.title)
        for chat in chats
        for story in world.stories
        if sum(story.title in text for text in texts[chat]) > 1
    ]
    assert not twice, f"stories composed into two different messages: {twice[:5]}"
    unexplained = {chat: n for chat, n in duplicated.items() if n > flying[chat]}
    assert not unexplained, (
        f"chats with more repeats than messages in flight at kills: {unexplained} "
        f"(in flight: {dict(flying)})"
    )
    assert duplicated.total() <= KILLS
    assert len(sent) == rows_sent.total() + duplicated.total(), "a message from no outbox row"
    crowded = [k for k in kills if k.in_flight.total() > 1]
    assert not crowded, f"more than one message in flight at a kill: {crowded}"


CHATS = 300
RESTART_DEADLINE = 30.0
"""Seconds the restarted process gets to send everything that was not in flight."""
DELIVERY_CONFIG = """\
telegram: {{api_base_url: "http://127.0.0.1:{port}", poll_timeout: 1}}
scheduler: {{deliver: 0.2, delivery_lease: 600}}
feeds: []
"""


def test_sigkill_mid_delivery_delays_only_the_message_in_flight(
    tmp_path: Path, database_url: str
) -> None:
    """300 chats each have a message due; ``newsbrief run`` is SIGKILLed while sending them,
    with the default 10-minute delivery lease. The next process must send every message that
    was not in flight at the kill within seconds, not after the lease: a sender claims only a
    small batch, on a short lease it renews, and only a message being sent holds the long one."""
    seed = int(os.environ.get("NEWSBRIEF_CRASH_SEED") or random.randrange(1 << 32))
    print(f"\ncrash test seed {seed} (NEWSBRIEF_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    db = Database(database_url)
    db.upgrade()
    now = datetime.now(UTC)
    with db.session() as session:
        for n in range(CHATS):
            sub = telegram_chat(session, str(9000 + n), now)
            outbox.enqueue(session, sub, f"digest:{n}", [Message(f"news for {n}")], now)
    with CrashBotApi() as botapi:
        botapi.enforce_limits = True  # at Telegram's pace: 300 messages take 10 s
        config = tmp_path / "newsbrief.yaml"
        config.write_text(DELIVERY_CONFIG.format(port=botapi.port), encoding="utf-8")
        launcher = Launcher(database_url)
        try:
            pid = launcher.spawn(config, tmp_path / "killed.log")
            kill_after = rng.randrange(30, 120)  # sends: while most of the chats still wait
            botapi.wait_for_send(kill_after, timeout=60)
            time.sleep(rng.uniform(0.0, 0.03))
            launcher.kill(pid)
            botapi.settle()
            before = len(botapi.all_messages())
            flying = in_flight(botapi, 0, Counter(), sent_per_chat(db))
            killed = datetime.now(UTC)
            with db.session() as session:
                left = session.scalars(select(DeliveryRow).where(DeliveryRow.status != "sent"))
                waiting = {row.chat_id: row.lease_until for row in left}
            claimed = sum(lease is not None for lease in waiting.values())
            # Held for the delivery lease: a message in flight since a renewal.
            taken_off = {
                chat
                for chat, lease in waiting.items()
                if lease is not None and lease > killed + timedelta(seconds=60)
            }

            restarted = time.monotonic()
            pid = launcher.spawn(config, tmp_path / "restarted.log")
            owed = {chat for chat in waiting if chat not in taken_off}
            while time.monotonic() < restarted + RESTART_DEADLINE:
                if all(botapi.messages(int(chat)) for chat in owed):
                    break
                time.sleep(0.1)
            finished = time.monotonic() - restarted
            time.sleep(0.5)
            launcher.kill(pid)
            botapi.settle()
        finally:
            launcher.close()
        late = sorted(int(chat) for chat in owed if not botapi.messages(int(chat)))
        with db.session() as session:
            delayed = session.scalars(
                select(DeliveryRow.chat_id).where(DeliveryRow.status != "sent")
            ).all()
    db.dispose()
    print(
        f"killed after {before} of {CHATS} sent; {len(waiting)} unsent at the kill, "
        f"{claimed} of them claimed, {len(taken_off)} holding the delivery lease; "
        f"{flying.total()} had arrived unmarked; the restarted process sent "
        f"the rest in {finished:.1f} s; messages delayed past the lease: {len(delayed)}"
    )
    assert not late, (
        f"{len(late)} messages not in flight still unsent after the restart: {late[:5]}"
    )
    # Only a message in flight at the kill may wait out the lease: at most one (max_in_flight).
    assert len(taken_off) <= 1, taken_off
    assert set(delayed) == taken_off, (delayed, taken_off)
    assert flying.total() <= 1, flying
    # Sent twice only if it had arrived but was not marked sent at the kill.
    copies = Counter(str(m.chat_id) for m in botapi.all_messages())
    twice = {chat for chat, n in copies.items() if n > 1}
    assert twice <= set(flying), (twice, flying)
