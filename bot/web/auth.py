"""Sign-in, sessions and CSRF for the console, with no state on the server: a session is a
cookie signed with a key derived from the admin token, so any number of processes accept it and
changing the token signs everyone out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections import deque
from dataclasses import dataclass

SESSION_COOKIE = "nb_session"


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings, whatever they hold (``hmac.compare_digest`` raises
    on non-ASCII ``str``: a form's ``csrf=é`` must be a 403, not a crash)."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    expires: float


class Keys:
    """What one admin token signs: session cookies and the CSRF tokens of their forms."""

    def __init__(self, token: str) -> None:
        self._token = token.encode("utf-8")
        self._key = hmac.new(self._token, b"newsbrief console session", hashlib.sha256).digest()

    def token_matches(self, given: str) -> bool:
        """Constant time, whatever the lengths (both sides are hashed first)."""
        given_digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(given_digest, hashlib.sha256(self._token).digest())

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def new_session(self, now: float, lifetime: float) -> tuple[Session, str]:
        """A new session and its cookie value."""
        session = Session(secrets.token_urlsafe(16), now + lifetime)
        payload = _b64(json.dumps({"sid": session.sid, "exp": session.expires}).encode())
        return session, f"{payload}.{self._sign(payload)}"

    def session(self, cookie: str | None, now: float) -> Session | None:
        """The session a cookie stands for; None when absent, forged or expired."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 512:
            return None
        payload, signature = cookie.split(".")
        try:
            if not same(self._sign(payload), signature):
                return None
            data = json.loads(_unb64(payload))
            session = Session(str(data["sid"]), float(data["exp"]))
        except (ValueError, KeyError, TypeError, UnicodeError):
            return None
        return session if session.expires > now else None

    def csrf(self, session: Session) -> str:
        """The CSRF token of a session's forms (tied to it: no use to anyone else)."""
        return self._sign(f"csrf:{session.sid}")

    def csrf_matches(self, session: Session, given: str | None) -> bool:
        return given is not None and same(self.csrf(session), given)


class SignInLimiter:
    """Failed sign-ins per client address: ``attempts`` in ``window`` seconds, then refused until
    the oldest failure leaves the window. All addresses together get ten times that, so
    guessing from many addresses is slowed as well."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def retry_after(self, client: str, now: float) -> float:
        """Seconds until ``client`` may try again; 0: now."""
        self._trim(self._all, now)
        times = self._failures.get(client, deque())
        self._trim(times, now)
        waits = [0.0]
        if len(times) >= self.attempts:
            waits.append(times[0] + self.window - now)
        if len(self._all) >= self.attempts * 10:
            waits.append(self._all[0] + self.window - now)
        return max(waits)

    def failed(self, client: str, now: float) -> None:
        self._failures.setdefault(client, deque()).append(now)
        self._all.append(now)
        if len(self._failures) > 10_000:  # forget the quiet ones, keep memory bounded
            for key in [
                k for k, v in self._failures.items() if not v or v[-1] <= now - self.window
            ]:
                del self._failures[key]
