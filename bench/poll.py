"""One whole poll cycle of 10,000 feeds on loopback, on SQLite and on PostgreSQL.

The feed server (another process, so its CPU is not ours) listens on many loopback addresses,
as real feeds live on many hosts. Per cycle, 65% of the feeds answer 304 to the stored ETag and
35% return a changed ~50 KB feed with 1-3 new entries among ones already stored. Before each
measured cycle a warm-up cycle stores the old entries and ETags (not measured).

Prints feeds/s, CPU seconds per 1,000 feeds (this process and its feed parser processes), peak
memory, and the same cycle with feedparser's default options (sanitising, URI resolution) as the
baseline ratio. The feed server writes every feed before the measured cycle starts.

    .venv/bin/python bench/poll.py [--feeds 10000] [--hosts 500] [--db sqlite|postgres|both]
        [--port 18080] [--no-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.databases import database
from jobs.poll import poll_tick
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.store import feeds as feed_store

PORT = 18080
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "sta",
    "vo",
    "qui",
    "del",
    "an",
    "tor",
    "bel",
    "shi",
    "nu",
    "par",
]


VOCABULARY = [
    "".join(random.Random(n).choices(SYLLABLES, k=1 + n % 3)) + SYLLABLES[n % len(SYLLABLES)]
    for n in range(3_000)
]


def item_text(feed: int, key: str) -> str:
    """~1 KB of prose of its own for each item: real stories share few words, and a text
    repeated across all items would make every story a near duplicate of every other."""
    rng = random.Random(f"{feed}/{key}")
    words = rng.choices(VOCABULARY, k=rng.randint(110, 125))
    sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
    return "<p>" + " ".join(sentences) + "</p>"


# -- the feed server (its own process) ------------------------------------------------------


def hosts(count: int) -> list[str]:
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


def changed(feed: int) -> bool:
    return feed % 100 >= 65


def item(feed: int, key: str, day: int) -> str:
    return (
        f"<item><title>Feed {feed} story {key}</title>"
        f"<link>https://site{feed}.example/{key}</link><guid>f{feed}-{key}</guid>"
        f"<pubDate>Mon, {day:02d} Nov 2026 08:00:00 GMT</pubDate>"
        f"<description><![CDATA[{item_text(feed, key)}]]></description></item>"
    )


def feed_body(feed: int, version: int) -> bytes:
    """~50 KB: 40 old items; version 2 adds 1-3 new ones on top."""
    new = 1 + feed % 3 if version == 2 else 0
    items = [item(feed, f"new{k}", 20) for k in range(new)]
    items += [item(feed, f"old{k}", 1 + k % 19) for k in range(40 - new)]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://site{feed}.example/</link>"
        f"<description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


SMALL = b'<?xml version="1.0"?><rss version="2.0"><channel><title>s</title></channel></rss>'


def serve(
    host_list: list[str],
    ready: multiprocessing.synchronize.Event,
    port: int = PORT,
    feeds: int = 10_000,
) -> None:
    mode = {"phase": "warm"}
    bodies: dict[tuple[int, int], bytes] = {}

    def answer(status: str, body: bytes, etag: str | None) -> bytes:
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
        if etag:
            head += f'ETag: "{etag}"\r\n'
        if body:
            head += "Content-Type: application/rss+xml\r\n"
        return head.encode() + b"\r\n" + body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                etag_sent = next(
                    (
                        ln.split(":", 1)[1].strip()
                        for ln in lines
                        if ln.lower().startswith("if-none-match:")
                    ),
                    None,
                )
                if path.startswith("/_mode/"):
                    mode["phase"] = path.rsplit("/", 1)[1]
                    if mode["phase"] == "cycle":
                        # Made now, unmeasured: real feeds are served by other machines, so
                        # the measured cycle should not share this machine's cores with
                        # writing them.
                        for feed in range(feeds):
                            if changed(feed):
                                bodies[(feed, 2)] = feed_body(feed, 2)
                    writer.write(answer("200 OK", b"", None))
                else:
                    feed = int(path.split("/")[2].split(".")[0])
                    if mode["phase"] == "warm":
                        body = feed_body(feed, 1) if changed(feed) else SMALL
                        writer.write(answer("200 OK", body, "v1"))
                    elif not changed(feed) and etag_sent == '"v1"':
                        writer.write(answer("304 Not Modified", b"", "v1"))
                    else:
                        writer.write(answer("200 OK", bodies[(feed, 2)], "v2"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        except Exception as exc:
            print("server:", type(exc).__name__, exc, file=sys.stderr)
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, host=host_list, port=port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the poller (this process) ------------------------------------------------------------


async def warm_up(runtime: Runtime, host_list: list[str], port: int = PORT) -> None:
    """The unmeasured cycle before: every feed's old entries and ETag stored; the server then
    switches to the measured cycle's answers."""
    await runtime.ctx.fetcher.fetch_url(f"http://{host_list[0]}:{port}/_mode/warm")
    warm = await runtime.poll_once(all_feeds=True)
    assert warm.failed == 0, warm
    await runtime.ctx.fetcher.fetch_url(f"http://{host_list[0]}:{port}/_mode/cycle")


def _workers_cpu(runtime: Runtime) -> float:
    """CPU seconds the feed parser processes have used so far."""
    parsers = getattr(runtime.ctx, "parsers", None)
    return parsers.cpu_seconds() if parsers is not None else 0.0


async def cycle(
    url: str, host_list: list[str], feeds: int, baseline: bool, port: int = PORT
) -> dict[str, float]:
    config = Config(
        database_url=url,
        fetch={"allow_private_networks": True},
        polling={"jitter": 0},
        feeds=[
            {"id": f"f{i}", "url": f"http://{host_list[i % len(host_list)]}:{port}/f/{i}.xml"}
            for i in range(feeds)
        ],
    )
    runtime = Runtime(config)
    runtime.start()
    try:
        await warm_up(runtime, host_list, port)
        with runtime.db.session() as session:
            feed_store.make_all_due(session, runtime.ctx.clock())
        # The parse workers started in the warm-up, as in a running process. (Started now, each
        # would import this script, and with it the whole bot: `newsbrief` itself is small.)
        workers0 = _workers_cpu(runtime)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        result = await poll_tick(runtime.ctx, feedparser_defaults=baseline)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0 + _workers_cpu(runtime) - workers0
    finally:
        await runtime.aclose()
    expected_new = sum(1 + i % 3 for i in range(feeds) if changed(i))
    assert result.feeds == feeds and result.failed == 0, result
    assert result.new == expected_new, (result.new, expected_new)
    return {"wall": wall, "cpu": cpu, "new": result.new}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--port", type=int, default=PORT, help="another if a run already has it")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the feedparser-defaults cycle"
    )
    args = parser.parse_args()
    host_list = hosts(args.hosts)
    ready = multiprocessing.get_context("spawn").Event()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(host_list, ready, args.port, args.feeds), daemon=True
    )
    server.start()
    ready.wait(30)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"{args.feeds} feeds on {args.hosts} loopback hosts; 65% answer 304, 35% changed ~50 KB")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in kinds:
                runs = {}
                variants = [("newsbrief", False), ("feedparser defaults", True)]
                for label, baseline in variants[: 1 if args.no_baseline else 2]:
                    with database(kind, Path(tmp)) as url:
                        runs[label] = asyncio.run(
                            cycle(url, host_list, args.feeds, baseline, args.port)
                        )
                ours = runs["newsbrief"]
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"[{kind}] cycle {ours['wall']:.1f} s, {args.feeds / ours['wall']:.0f} feeds/s, "
                    f"{ours['cpu'] / args.feeds * 1000:.2f} CPU s per 1,000 feeds, "
                    f"{ours['new']:.0f} new entries, peak RSS so far {peak_mb:.0f} MB"
                )
                if base := runs.get("feedparser defaults"):
                    print(
                        f"[{kind}] baseline (feedparser defaults) {base['wall']:.1f} s, "
                        f"{base['cpu'] / args.feeds * 1000:.2f} CPU s per 1,000 feeds; "
                        f"ratio newsbrief/baseline: wall {ours['wall'] / base['wall']:.2f}, "
                        f"CPU {ours['cpu'] / base['cpu']:.2f}"
                    )
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
