"""The console's sign-in parts (bot/web/auth.py): session cookies, CSRF tokens, the sign-in
limiter and the token check, with no server."""

from __future__ import annotations

import base64
import json

import pytest

from bot.web.auth import Keys, Session, SignInLimiter

TOKEN = "console-test-token-0123456789"
NOW = 1_800_000_000.0
HOUR = 3600.0


def _payload(cookie: str) -> dict[str, object]:
    payload = cookie.split(".")[0]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return data


def _encode(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# -- session cookies ------------------------------------------------------------------------------


def test_a_session_cookie_round_trips() -> None:
    keys = Keys(TOKEN)
    session, cookie = keys.new_session(NOW, 12 * HOUR)
    assert session.expires == NOW + 12 * HOUR
    assert keys.session(cookie, NOW + 1) == session
    assert keys.session(cookie, NOW + 12 * HOUR - 1) == session
    # A fresh Keys from the same token (another process, a restart) accepts it too.
    assert Keys(TOKEN).session(cookie, NOW) == session


def test_each_sign_in_is_a_new_session() -> None:
    keys = Keys(TOKEN)
    first, _ = keys.new_session(NOW, HOUR)
    second, _ = keys.new_session(NOW, HOUR)
    assert first.sid != second.sid


def test_the_token_is_not_in_the_cookie() -> None:
    _, cookie = Keys(TOKEN).new_session(NOW, HOUR)
    assert TOKEN not in cookie
    assert TOKEN not in json.dumps(_payload(cookie))


def test_an_expired_session_is_refused() -> None:
    keys = Keys(TOKEN)
    _, cookie = keys.new_session(NOW, HOUR)
    assert keys.session(cookie, NOW + HOUR) is None  # expiry is exclusive
    assert keys.session(cookie, NOW + 30 * 86400) is None


def test_a_forged_signature_is_refused() -> None:
    keys = Keys(TOKEN)
    _, cookie = keys.new_session(NOW, HOUR)
    payload, signature = cookie.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert keys.session(f"{payload}.{flipped}", NOW) is None
    assert keys.session(f"{payload}.", NOW) is None
    assert keys.session(f"{payload}.{signature[:-2]}", NOW) is None


def test_a_tampered_payload_is_refused() -> None:
    keys = Keys(TOKEN)
    _, cookie = keys.new_session(NOW, HOUR)
    data = _payload(cookie)
    signature = cookie.split(".")[1]
    longer = _encode({**data, "exp": NOW + 365 * 86400})  # extend one's own session
    other = _encode({**data, "sid": "someone-else"})
    assert keys.session(f"{longer}.{signature}", NOW) is None
    assert keys.session(f"{other}.{signature}", NOW) is None


def test_a_cookie_signed_properly_but_without_the_fields_is_refused() -> None:
    keys = Keys(TOKEN)
    fields: list[dict[str, object]] = [
        {},
        {"sid": "x"},
        {"sid": "x", "exp": "never"},
        {"sid": "x", "exp": None},
    ]
    for data in fields:
        payload = _encode(data)
        assert keys.session(f"{payload}.{keys._sign(payload)}", NOW) is None
    for raw in (b"[1, 2]", b"not json", b"\xff\xfe"):
        payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        assert keys.session(f"{payload}.{keys._sign(payload)}", NOW) is None


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "",
        ".",
        "garbage",
        "a.b.c",
        "...",
        "not base64!.also not",
        "\u00e9\u00e9.\u00e9\u00e9",  # not ASCII: hmac of it must not raise
        "eyJzaWQiOiAieCJ9.",
        "x" * 600,
    ],
)
def test_garbage_is_refused(cookie: str | None) -> None:
    assert Keys(TOKEN).session(cookie, NOW) is None


def test_an_over_long_cookie_is_refused_even_if_signed() -> None:
    keys = Keys(TOKEN)
    payload = _encode({"sid": "x" * 600, "exp": NOW + HOUR})
    cookie = f"{payload}.{keys._sign(payload)}"
    assert len(cookie) > 512
    assert keys.session(cookie, NOW) is None


def test_another_tokens_keys_refuse_the_cookie() -> None:
    """Changing NEWSBRIEF_ADMIN__TOKEN signs everyone out."""
    _, cookie = Keys(TOKEN).new_session(NOW, HOUR)
    assert Keys(TOKEN + "x").session(cookie, NOW) is None
    assert Keys("another-token-entirely-0000").session(cookie, NOW) is None


# -- CSRF -----------------------------------------------------------------------------------------


def test_csrf_tokens_are_per_session_and_compare_correctly() -> None:
    keys = Keys(TOKEN)
    mine, _ = keys.new_session(NOW, HOUR)
    theirs, _ = keys.new_session(NOW, HOUR)
    token = keys.csrf(mine)
    assert token == keys.csrf(mine)  # stable for the session's forms
    assert token != keys.csrf(theirs)
    assert TOKEN not in token
    assert keys.csrf_matches(mine, token)
    assert not keys.csrf_matches(theirs, token)
    assert not keys.csrf_matches(mine, keys.csrf(theirs))
    for wrong in (None, "", token[:-1], token + "x", token.upper(), " " + token):
        assert not keys.csrf_matches(mine, wrong)


def test_a_non_ascii_csrf_token_is_refused_not_an_error() -> None:
    keys = Keys(TOKEN)
    session, _ = keys.new_session(NOW, HOUR)
    assert not keys.csrf_matches(session, "\u00e9" + keys.csrf(session)[1:])


def test_csrf_tokens_depend_on_the_admin_token() -> None:
    session = Session("same-sid", NOW + HOUR)
    assert Keys(TOKEN).csrf(session) != Keys(TOKEN + "x").csrf(session)
    assert not Keys(TOKEN + "x").csrf_matches(session, Keys(TOKEN).csrf(session))


# -- the sign-in limiter --------------------------------------------------------------------------


def test_the_limiter_lets_five_failures_through_then_refuses() -> None:
    limiter = SignInLimiter()
    for attempt in range(5):
        assert limiter.retry_after("10.0.0.1", NOW + attempt) == 0
        limiter.failed("10.0.0.1", NOW + attempt)
    wait = limiter.retry_after("10.0.0.1", NOW + 5)
    assert 0 < wait <= 300
    assert wait == pytest.approx(NOW + 300 - (NOW + 5))  # until the first failure leaves
    # Another address is not held up by this one.
    assert limiter.retry_after("10.0.0.2", NOW + 5) == 0


def test_the_limiter_recovers_after_the_window() -> None:
    limiter = SignInLimiter(attempts=5, window=300)
    for attempt in range(5):
        limiter.failed("10.0.0.1", NOW + attempt)
    assert limiter.retry_after("10.0.0.1", NOW + 299) > 0
    assert limiter.retry_after("10.0.0.1", NOW + 300) == 0  # the first failure has left
    limiter.failed("10.0.0.1", NOW + 300)  # one more: the window is full again
    assert limiter.retry_after("10.0.0.1", NOW + 300.5) > 0
    assert limiter.retry_after("10.0.0.1", NOW + 305) == 0


def test_the_limiter_limits_all_clients_together_at_ten_times() -> None:
    limiter = SignInLimiter(attempts=5, window=300)
    for n in range(49):  # 49 addresses, one failure each: nobody is over their own limit
        limiter.failed(f"10.1.{n // 250}.{n % 250}", NOW + n * 0.1)
    assert limiter.retry_after("10.9.9.9", NOW + 10) == 0
    limiter.failed("10.2.0.1", NOW + 10)  # the 50th failure, all addresses together
    wait = limiter.retry_after("10.9.9.9", NOW + 10)  # a fresh address is refused too
    assert wait == pytest.approx(300 - 10)
    assert limiter.retry_after("10.9.9.9", NOW + 300.05) == 0


def test_the_limiter_keeps_its_memory_bounded() -> None:
    limiter = SignInLimiter(attempts=5, window=300)
    for n in range(10_001):
        limiter.failed(f"c{n}", NOW)
    limiter.failed("late", NOW + 301)  # everyone before has left the window: forgotten
    assert len(limiter._failures) <= 2


# -- the token ------------------------------------------------------------------------------------


def test_token_matches() -> None:
    keys = Keys(TOKEN)
    assert keys.token_matches(TOKEN)
    assert not keys.token_matches(TOKEN + "x")  # longer
    assert not keys.token_matches(TOKEN[:-1])  # shorter
    assert not keys.token_matches(TOKEN.upper())
    assert not keys.token_matches("")
    assert not keys.token_matches(" " + TOKEN)
    assert not keys.token_matches("\udcff")  # a lone surrogate from a bad form must not raise
    assert Keys("短令牌但是足够长的管理令牌一二三四五").token_matches(
        "短令牌但是足够长的管理令牌一二三四五"
    )
