"""WXBizMsgCrypt: the callback crypto shared by WeCom apps and bots, Official Accounts, Open Platform.

Scheme (docs/channels-wechat-family.md §3.3): key = base64(EncodingAESKey + "=") (32 bytes),
AES-256-CBC with IV = key[:16], PKCS#7 padding to 32-byte blocks over
``random16 || uint32_be(len(msg)) || msg || receive_id``, base64 on the wire.
``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))``; the Official
Account plaintext mode signs only ``token, timestamp, nonce``.

Every refusal is a ``CallbackError`` with a reason code and a detail that holds no secret and no
message text; the public entry points log it once at WARNING, so a server needs no logging of its
own. The signature is always checked before any decryption, so padding and length errors are only
reachable by someone who holds the token (no padding oracle for strangers). Nothing here keeps
state: replay windows (``check_timestamp``) and MsgId deduplication belong to the caller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from xml.parsers import expat

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

logger = logging.getLogger(__name__)

BLOCK = 32  # WXBizMsgCrypt pads to 32 bytes, not to AES's 16
# Callback bodies are a few KB (text ≤ 2048 B); the cap bounds parsing and decryption work.
MAX_BODY_BYTES = 256 * 1024
MAX_XML_ELEMENTS = 2_000
MAX_XML_DEPTH = 16
REPLAY_WINDOW_S = 300
_DIGITS = re.compile(r"[0-9]{1,20}")
# Values written into reply XML; anything else could break out of the CDATA or the element.
_SAFE_FIELD = re.compile(r"[0-9A-Za-z_\-]{1,64}")


class Reason(StrEnum):
    BAD_SIGNATURE = "bad_signature"
    BAD_PADDING = "bad_padding"
    BAD_LENGTH = "bad_length"
    WRONG_RECEIVER = "wrong_receiver"
    STALE = "stale"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    BAD_KEY = "bad_key"


class CallbackError(Exception):
    """A refused callback. ``str(err)`` is one log-safe line: reason code, then what was wrong."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@contextmanager
def _logged(operation: str) -> Iterator[None]:
    try:
        yield
    except CallbackError as exc:
        logger.warning(
            "wechat callback refused: op=%s reason=%s detail=%s",
            operation,
            exc.reason.value,
            exc.detail,
        )
        raise


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise CallbackError(Reason.MALFORMED, f"{what} is not valid text") from None


def sha1_signature(*parts: str) -> str:
    """Hex sha1 of the sorted, concatenated parts: both WeChat signatures are this."""
    joined = "".join(sorted(parts))
    return hashlib.sha1(_utf8(joined, "signature input")).hexdigest()  # noqa: S324 - sha1 is the protocol's


def _check_signature(expected: str, given: str) -> None:
    # compare_digest on bytes: on str it raises TypeError for non-ASCII input.
    if not hmac.compare_digest(expected.encode("ascii"), _utf8(given.lower(), "signature")):
        raise CallbackError(Reason.BAD_SIGNATURE, "signature does not match")


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    """The Official Account ``signature`` parameter (plaintext-mode check and URL verification)."""
    return sha1_signature(token, timestamp, nonce)


def check_plain_signature(token: str, timestamp: str, nonce: str, signature: str) -> None:
    with _logged("plain_signature"):
        _check_signature(plain_signature(token, timestamp, nonce), signature)


def verify_plain_url(token: str, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """Official Account server verification: answer ``echostr`` verbatim if the signature holds."""
    with _logged("verify_plain_url"):
        _check_signature(plain_signature(token, timestamp, nonce), signature)
        return echostr


def check_timestamp(
    timestamp: str, *, now: float | None = None, window_s: int = REPLAY_WINDOW_S
) -> int:
    """Refuse a callback whose timestamp (epoch seconds) is more than ``window_s`` from now.

    WeChat tries a callback three times, 5 s apart, so a few minutes covers retries and clock
    skew while a captured request cannot be replayed days later. Returns the parsed timestamp.
    """
    with _logged("check_timestamp"):
        if _DIGITS.fullmatch(timestamp) is None:
            raise CallbackError(Reason.MALFORMED, "timestamp is not a decimal number")
        value = int(timestamp)
        current = time.time() if now is None else now
        if abs(current - value) > window_s:
            raise CallbackError(
                Reason.STALE,
                f"timestamp is {int(current - value)} s from now (window {window_s} s)",
            )
        return value


def parse_xml_fields(body: bytes | str, *, max_bytes: int = MAX_BODY_BYTES) -> dict[str, str]:
    """Text of each child of the ``<xml>`` root (CDATA included), for envelopes and messages.

    Strict on purpose: no DOCTYPE or entity declarations (XXE, billion laughs), bounded size,
    depth and element count, one root named ``xml``, no repeated top-level field (two ``Encrypt``
    elements must not let a signer and a decryptor see different values). Nested elements (a
    video's ``MediaId``) count towards the limits but are not returned.
    """
    with _logged("parse_xml"):
        return _parse_xml_fields(body, max_bytes)


def _bounded_bytes(body: bytes | str, max_bytes: int) -> bytes:
    # A str is never longer in UTF-8 than in characters, so an oversized one is refused unencoded.
    if len(body) > max_bytes:
        raise CallbackError(Reason.TOO_LARGE, f"body is over {max_bytes} bytes")
    return body if isinstance(body, bytes) else _utf8(body, "body")


def _parse_xml_fields(body: bytes | str, max_bytes: int) -> dict[str, str]:
    data = _bounded_bytes(body, max_bytes)
    if len(data) > max_bytes:
        raise CallbackError(Reason.TOO_LARGE, f"body is {len(data)} bytes (limit {max_bytes})")
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise CallbackError(Reason.MALFORMED, "DOCTYPE or ENTITY declarations are not accepted")

    fields: dict[str, str] = {}
    state = {"depth": 0, "elements": 0}
    current: list[str] = []  # the text of the open top-level field
    field_name: list[str] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        state["depth"] += 1
        state["elements"] += 1
        if state["depth"] > MAX_XML_DEPTH or state["elements"] > MAX_XML_ELEMENTS:
            raise CallbackError(
                Reason.TOO_LARGE, "XML is nested too deeply or has too many elements"
            )
        if state["depth"] == 1 and name != "xml":
            raise CallbackError(Reason.MALFORMED, "root element is not <xml>")
        if state["depth"] == 2:
            if name in fields:
                raise CallbackError(Reason.MALFORMED, f"field {name[:40]!r} appears twice")
            field_name[:] = [name]
            current.clear()

    def end(_name: str) -> None:
        if state["depth"] == 2:
            fields[field_name[0]] = "".join(current)
        state["depth"] -= 1

    def text(chunk: str) -> None:
        if state["depth"] == 2:
            current.append(chunk)

    def refuse_declaration(*_args: object) -> None:
        raise CallbackError(Reason.MALFORMED, "DOCTYPE or ENTITY declarations are not accepted")

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse_declaration
    parser.EntityDeclHandler = refuse_declaration
    parser.ExternalEntityRefHandler = refuse_declaration  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CallbackError(Reason.MALFORMED, f"XML does not parse ({exc.code})") from None
    except (ValueError, LookupError, RecursionError):  # e.g. an unknown declared encoding
        raise CallbackError(Reason.MALFORMED, "XML does not parse") from None
    return fields


def _parse_json_envelope(body: bytes | str, max_bytes: int) -> str:
    data = _bounded_bytes(body, max_bytes)
    if len(data) > max_bytes:
        raise CallbackError(Reason.TOO_LARGE, f"body is {len(data)} bytes (limit {max_bytes})")
    try:
        envelope = json.loads(data)
    except (ValueError, RecursionError):
        raise CallbackError(Reason.MALFORMED, "JSON does not parse") from None
    encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
    if not isinstance(encrypt, str):
        raise CallbackError(Reason.MALFORMED, "JSON envelope has no string 'encrypt'")
    return encrypt


@dataclass(frozen=True, slots=True)
class Opened:
    """The parts of a decrypted ``Encrypt`` value."""

    random: bytes
    message: bytes
    receive_id: bytes


@dataclass(frozen=True, slots=True)
class EncryptedReply:
    """A passive reply: the encrypted message and its signature, ready for XML or JSON."""

    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str

    def to_xml(self) -> str:
        return (
            f"<xml>\n<Encrypt><![CDATA[{self.encrypt}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{self.msg_signature}]]></MsgSignature>\n"
            f"<TimeStamp>{self.timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{self.nonce}]]></Nonce>\n</xml>"
        )

    def to_json(self) -> str:
        """WXBizJsonMsgCrypt reply (WeCom JSON callbacks, 智能机器人)."""
        return json.dumps(
            {
                "encrypt": self.encrypt,
                "msgsignature": self.msg_signature,
                "timestamp": self.timestamp,
                "nonce": self.nonce,
            }
        )


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CallbackError(
            Reason.BAD_KEY, f"EncodingAESKey has {len(encoding_aes_key)} chars, not 43"
        )
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise CallbackError(Reason.BAD_KEY, "EncodingAESKey is not base64") from None
    if len(key) != 32:  # pragma: no cover - 43 valid base64 chars always give 32 bytes
        raise CallbackError(Reason.BAD_KEY, "EncodingAESKey does not decode to 32 bytes")
    return key


class MsgCrypt:
    """One callback endpoint: token, EncodingAESKey and the expected receive id.

    ``receive_id`` is the CorpID for WeCom apps, the AppID for Official Accounts and the Open
    Platform, and ``""`` for WeCom group robots and 智能机器人.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        with _logged("configure"):
            self._key = _aes_key(encoding_aes_key)
        self._token = token
        self._receive_id = receive_id.encode("utf-8")
        self.max_body_bytes = max_body_bytes

    def __repr__(self) -> str:  # never show the token or key
        return f"MsgCrypt(receive_id={self._receive_id.decode()!r})"

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self._token, timestamp, nonce, encrypt)

    # -- inbound -------------------------------------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom URL verification: the decrypted ``echostr`` to answer with (params URL-decoded)."""
        with _logged("verify_url"):
            return self._verified_open(msg_signature, timestamp, nonce, echostr)

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """The message inside an ``Encrypt`` value whose signature has not been checked yet."""
        with _logged("decrypt"):
            return self._verified_open(msg_signature, timestamp, nonce, encrypt)

    def decrypt_xml(self, msg_signature: str, timestamp: str, nonce: str, body: bytes | str) -> str:
        """The message inside an XML callback body (WeCom apps, Official Account safe mode)."""
        with _logged("decrypt_xml"):
            fields = _parse_xml_fields(body, self.max_body_bytes)
            encrypt = fields.get("Encrypt")
            if encrypt is None:
                raise CallbackError(Reason.MALFORMED, "envelope has no <Encrypt>")
            return self._verified_open(msg_signature, timestamp, nonce, encrypt)

    def decrypt_json(
        self, msg_signature: str, timestamp: str, nonce: str, body: bytes | str
    ) -> str:
        """The message inside a JSON callback body (WXBizJsonMsgCrypt: WeCom JSON, 智能机器人)."""
        with _logged("decrypt_json"):
            encrypt = _parse_json_envelope(body, self.max_body_bytes)
            return self._verified_open(msg_signature, timestamp, nonce, encrypt)

    def open(self, encrypt: str) -> Opened:
        """Decrypt and unpack without the signature check: only after ``signature`` matched."""
        with _logged("open"):
            return self._open(encrypt)

    def _verified_open(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        if len(encrypt) > self.max_body_bytes:
            raise CallbackError(Reason.TOO_LARGE, f"Encrypt is {len(encrypt)} chars")
        _check_signature(self.signature(timestamp, nonce, encrypt), msg_signature)
        opened = self._open(encrypt)
        try:
            return opened.message.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackError(Reason.MALFORMED, "message is not UTF-8") from None

    def _open(self, encrypt: str) -> Opened:
        try:
            raw = base64.b64decode(_utf8(encrypt, "Encrypt"), validate=True)
        except (binascii.Error, ValueError):
            raise CallbackError(Reason.MALFORMED, "Encrypt is not base64") from None
        if not raw or len(raw) % 16:
            raise CallbackError(Reason.BAD_LENGTH, f"ciphertext is {len(raw)} bytes")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise CallbackError(Reason.BAD_PADDING, "PKCS#7 padding is invalid")
        content = padded[:-pad]
        if len(content) < 20:
            raise CallbackError(Reason.BAD_LENGTH, "plaintext is shorter than its header")
        (length,) = struct.unpack(">I", content[16:20])
        if 20 + length > len(content):
            raise CallbackError(
                Reason.BAD_LENGTH,
                f"length field {length} exceeds the {len(content) - 20} bytes left",
            )
        receive_id = content[20 + length :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise CallbackError(Reason.WRONG_RECEIVER, "receive id does not match")
        return Opened(random=content[:16], message=content[20 : 20 + length], receive_id=receive_id)

    # -- outbound ------------------------------------------------------------------------------

    def encrypt(self, message: str, *, random16: bytes | None = None) -> str:
        """Base64 ``Encrypt`` value; ``random16`` is injectable only to reproduce vectors."""
        nonce_block = os.urandom(16) if random16 is None else random16
        if len(nonce_block) != 16:
            raise ValueError("random16 must be 16 bytes")
        body = message.encode("utf-8")
        plain = nonce_block + struct.pack(">I", len(body)) + body + self._receive_id
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def encrypt_reply(
        self,
        message: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        random16: bytes | None = None,
    ) -> EncryptedReply:
        """A signed passive reply; timestamp and nonce default to now and a random number."""
        stamp = str(int(time.time())) if timestamp is None else timestamp
        once = str(secrets.randbelow(10**10)) if nonce is None else nonce
        for name, value in (("timestamp", stamp), ("nonce", once)):
            if _SAFE_FIELD.fullmatch(value) is None:
                raise ValueError(f"{name} must be 1-64 letters, digits, '-' or '_'")
        encrypt = self.encrypt(message, random16=random16)
        return EncryptedReply(encrypt, self.signature(stamp, once, encrypt), stamp, once)
