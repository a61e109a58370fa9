"""WXBizMsgCrypt and webhook signing against every vector in tests/fixtures/wechat_vectors.

The vector files differ in shape, so a walker classifies each JSON object by the keys it holds
(inheriting token, key and receive id from its parents) and a guard test fails if an object that
looks like a vector was left unclassified. Expected values come from the files only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.robots.signing import dingtalk_sign, feishu_sign
from bot.wechat.crypto import (
    MAX_BODY_BYTES,
    CallbackError,
    MsgCrypt,
    Reason,
    check_plain_signature,
    check_timestamp,
    parse_xml_fields,
    plain_signature,
    verify_plain_url,
)
from tests.conftest import VECTORS

SIGNING_FILE = "DERIVED_dingtalk_feishu_sign_vectors.json"
# Sender fixtures (message bodies, error bodies), not crypto: the channel senders test them.
NOT_CRYPTO = {"wecom_webhook_doc_payloads.json"}
CONTEXT_KEYS = {"token", "encoding_aes_key", "receive_id", "app_id", "random16"}
VECTOR_KEYS = {"encrypt", "echostr", "signature", "msg_signature", "request_url_query"}
LOGGER = "bot.wechat.crypto"


@dataclass
class Case:
    kind: str
    where: str
    ctx: dict[str, str]
    data: dict[str, Any]

    def crypt(self, **overrides: str) -> MsgCrypt:
        ctx = {**self.ctx, **overrides}
        receive_id = ctx.get("receive_id", ctx.get("app_id"))
        assert receive_id is not None, f"{self.where}: no receive id in scope"
        return MsgCrypt(ctx["token"], ctx["encoding_aes_key"], receive_id)

    def get(self, key: str) -> str:
        value = self.data.get(key, self.ctx.get(key))
        assert isinstance(value, str), f"{self.where}: no {key}"
        return value


@dataclass
class Walk:
    cases: list[Case] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)


def classify(d: dict[str, Any]) -> str | None:
    if "request_url_query" in d:
        return "url_query"
    if "echostr" in d:
        return "verify_url" if "expected_echo_plaintext" in d else "reject"
    if "encrypt" in d and "plaintext" in d:
        return "encrypt"
    if "encrypt" in d and "msg_signature" in d:
        return "decrypt" if "expected_plaintext" in d else "reject"
    if "signature" in d:
        return "plain_signature"
    return None


def walk(node: Any, ctx: dict[str, str], where: str, out: Walk) -> None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            walk(item, ctx, f"{where}[{i}]", out)
        return
    if not isinstance(node, dict):
        return
    ctx = {**ctx, **{k: v for k, v in node.items() if k in CONTEXT_KEYS and isinstance(v, str)}}
    kind = classify(node)
    if kind is not None:
        out.cases.append(Case(kind, where, ctx, node))
    elif VECTOR_KEYS & node.keys():
        out.unclassified.append(where)
    for key, value in node.items():
        if not key.startswith("_"):
            walk(value, ctx, f"{where}.{key}", out)


def crypto_files() -> list[Path]:
    return sorted(
        p for p in VECTORS.glob("*.json") if p.name not in NOT_CRYPTO and p.name != SIGNING_FILE
    )


def collect() -> Walk:
    out = Walk()
    for path in crypto_files():
        walk(json.loads(path.read_text(encoding="utf-8")), {}, path.stem, out)
    return out


WALK = collect()


def cases(kind: str) -> list[Any]:
    return [pytest.param(c, id=c.where) for c in WALK.cases if c.kind == kind]


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and "refused" in r.getMessage()
    ]


# -- the walker sees every vector ------------------------------------------------------------


def test_every_vector_file_is_read() -> None:
    names = {p.name for p in VECTORS.glob("*.json")}
    assert SIGNING_FILE in names
    assert names >= NOT_CRYPTO
    for path in crypto_files():
        assert any(c.where.split(".")[0].split("[")[0] == path.stem for c in WALK.cases), path.name


def test_every_vector_object_is_classified() -> None:
    assert WALK.unclassified == []
    kinds = {c.kind for c in WALK.cases}
    assert kinds == {"verify_url", "decrypt", "encrypt", "reject", "plain_signature", "url_query"}
    # Floors, so a walker that silently stops finding vectors fails here.
    assert sum(c.kind == "decrypt" for c in WALK.cases) >= 8
    assert sum(c.kind == "encrypt" for c in WALK.cases) >= 4
    assert sum(c.kind == "reject" for c in WALK.cases) >= 2


# -- positive vectors ------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("verify_url"))
def test_verify_url(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    d = case.data
    crypt = case.crypt()
    echo = crypt.verify_url(d["msg_signature"], d["timestamp"], d["nonce"], d["echostr"])
    assert echo == d["expected_echo_plaintext"]
    if "echostr_urlencoded_as_in_request" in d:
        query = f"echostr={d['echostr_urlencoded_as_in_request']}"
        (decoded,) = parse_qs(query)["echostr"]
        assert decoded == d["echostr"]  # the '+', '/' and '=' survive URL decoding
    assert refusal_lines(caplog) == []


@pytest.mark.parametrize("case", cases("decrypt"))
def test_decrypt(case: Case) -> None:
    d = case.data
    crypt = case.crypt()
    args = (d["msg_signature"], d["timestamp"], d["nonce"])
    assert crypt.decrypt(*args, d["encrypt"]) == d["expected_plaintext"]
    body = d.get("post_body")
    if body is not None:
        decrypt_body = crypt.decrypt_json if body.lstrip().startswith("{") else crypt.decrypt_xml
        assert decrypt_body(*args, body) == d["expected_plaintext"]
        assert decrypt_body(*args, body.encode("utf-8")) == d["expected_plaintext"]
    opened = crypt.open(d["encrypt"])
    assert opened.message == d["expected_plaintext"].encode("utf-8")
    if "expected_random16" in d:
        assert opened.random == d["expected_random16"].encode("ascii")
    if "expected_msg_len" in d:
        assert len(opened.message) == d["expected_msg_len"]


@pytest.mark.parametrize("case", cases("encrypt"))
def test_encrypt_with_fixed_random(case: Case) -> None:
    d = case.data
    crypt = case.crypt()
    random16 = case.get("random16").encode("ascii")
    assert crypt.encrypt(d["plaintext"], random16=random16) == d["encrypt"]
    if "msg_signature" in d:
        reply = crypt.encrypt_reply(
            d["plaintext"], timestamp=d["timestamp"], nonce=d["nonce"], random16=random16
        )
        assert reply.encrypt == d["encrypt"]
        assert reply.msg_signature == d["msg_signature"]
        if "reply_xml" in d:
            assert reply.to_xml() == d["reply_xml"]
        # The reply is itself a valid callback for our own decryptor.
        assert (
            crypt.decrypt_xml(reply.msg_signature, reply.timestamp, reply.nonce, reply.to_xml())
            == d["plaintext"]
        )
    assert crypt.open(d["encrypt"]).message == d["plaintext"].encode("utf-8")


@pytest.mark.parametrize("case", cases("plain_signature"))
def test_plain_signature(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    d = case.data
    args = (case.get("token"), case.get("timestamp"), case.get("nonce"))
    if d.get("valid", True):
        assert plain_signature(*args) == d["signature"]
        check_plain_signature(*args, d["signature"])
        assert verify_plain_url(args[0], d["signature"], args[1], args[2], "echo+/=") == "echo+/="
        assert refusal_lines(caplog) == []
    else:
        assert plain_signature(*args) != d["signature"]
        with pytest.raises(CallbackError) as err:
            verify_plain_url(args[0], d["signature"], args[1], args[2], "echo")
        assert err.value.reason is Reason.BAD_SIGNATURE
        assert len(refusal_lines(caplog)) == 1


@pytest.mark.parametrize("case", cases("url_query"))
def test_request_query_signatures(case: Case) -> None:
    """The Open Platform example URL: plain ``signature`` and ``msg_signature`` side by side."""
    query = {k: v[0] for k, v in parse_qs(case.data["request_url_query"]).items()}
    token = case.get("token")
    check_plain_signature(token, query["timestamp"], query["nonce"], query["signature"])
    inbound = case.data["inbound"]
    assert query["msg_signature"] == inbound["msg_signature"]
    crypt = case.crypt()
    message = crypt.decrypt(
        query["msg_signature"], query["timestamp"], query["nonce"], inbound["encrypt"]
    )
    assert message == inbound["expected_plaintext"]


# -- must-reject vectors and tampering ---------------------------------------------------------


def assert_refused(
    caplog: pytest.LogCaptureFixture, err: pytest.ExceptionInfo[CallbackError], reason: Reason
) -> None:
    assert err.value.reason is reason, str(err.value)
    lines = refusal_lines(caplog)
    assert len(lines) == 1, lines
    assert f"reason={reason.value}" in lines[0]
    caplog.clear()


def assert_no_secrets(caplog_text: str, case: Case) -> None:
    for secret in (case.get("token"), case.get("encoding_aes_key")):
        assert secret not in caplog_text


@pytest.mark.parametrize("case", cases("reject"))
def test_must_reject_vectors(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    d = case.data
    crypt = case.crypt()
    args = (d["msg_signature"], d["timestamp"], d["nonce"])
    with pytest.raises(CallbackError) as err:
        if "echostr" in d:
            crypt.verify_url(*args, d["echostr"])
        else:
            crypt.decrypt(*args, d["encrypt"])
    text = caplog.text
    assert_refused(caplog, err, Reason.BAD_SIGNATURE)
    assert_no_secrets(text, case)
    # No state: the same object still accepts every genuine vector of its file.
    for good in WALK.cases:
        if good.kind == "decrypt" and good.ctx == case.ctx:
            g = good.data
            got = crypt.decrypt(g["msg_signature"], g["timestamp"], g["nonce"], g["encrypt"])
            assert got == g["expected_plaintext"]


def flip_base64_char(value: str, index: int) -> str:
    chars = list(value)
    chars[index] = "A" if chars[index] != "A" else "B"
    return "".join(chars)


def resign(crypt: MsgCrypt, raw: bytes, d: dict[str, Any]) -> tuple[str, str, str, str]:
    """A ciphertext signed with the real token: what only a token holder could send."""
    encrypt = base64.b64encode(raw).decode()
    return crypt.signature(d["timestamp"], d["nonce"], encrypt), d["timestamp"], d["nonce"], encrypt


@pytest.mark.parametrize("case", cases("decrypt"))
def test_tampered_payloads_are_refused(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    d = case.data
    crypt = case.crypt()
    sig, ts, nonce, encrypt = d["msg_signature"], d["timestamp"], d["nonce"], d["encrypt"]

    # A changed ciphertext, nonce or timestamp no longer matches the signature.
    for args in (
        (sig, ts, nonce, flip_base64_char(encrypt, 10)),
        (sig, ts, nonce + "1", encrypt),
        (sig, str(int(ts) + 1), nonce, encrypt),
        ("0" * 40, ts, nonce, encrypt),
        (sig + "\u00e9", ts, nonce, encrypt),
    ):
        with pytest.raises(CallbackError) as err:
            crypt.decrypt(*args)
        assert_refused(caplog, err, Reason.BAD_SIGNATURE)

    # Token holder without the key: CBC bit flips give predictable plaintext changes.
    raw = bytearray(base64.b64decode(encrypt))
    message = d["expected_plaintext"].encode("utf-8")
    receive_id = case.ctx.get("receive_id", case.ctx.get("app_id", "")).encode()
    pad = 32 - (20 + len(message) + len(receive_id)) % 32
    zero_pad = bytearray(raw)
    zero_pad[-17] ^= pad  # the last padding byte becomes 0
    with pytest.raises(CallbackError) as err:
        crypt.decrypt(*resign(crypt, bytes(zero_pad), d))
    assert_refused(caplog, err, Reason.BAD_PADDING)

    long_length = bytearray(raw)
    long_length[0] ^= 0x80  # the length field (bytes 16-19 of the plaintext) gains 2**31
    with pytest.raises(CallbackError) as err:
        crypt.decrypt(*resign(crypt, bytes(long_length), d))
    assert_refused(caplog, err, Reason.BAD_LENGTH)

    for truncated in (bytes(raw[:-1]), bytes(raw[:16]), b""):
        with pytest.raises(CallbackError) as err:
            crypt.decrypt(*resign(crypt, truncated, d))
        assert err.value.reason in {Reason.BAD_LENGTH, Reason.BAD_PADDING}
        caplog.clear()

    # Right token and key, wrong receiver (another corp's or app's message).
    other = case.crypt(receive_id="wx0000000000000000", app_id="wx0000000000000000")
    with pytest.raises(CallbackError) as err:
        other.decrypt(sig, ts, nonce, encrypt)
    assert_refused(caplog, err, Reason.WRONG_RECEIVER)

    with pytest.raises(CallbackError) as err:
        crypt.decrypt(crypt.signature(ts, nonce, "not base64!"), ts, nonce, "not base64!")
    assert_refused(caplog, err, Reason.MALFORMED)
    assert crypt.decrypt(sig, ts, nonce, encrypt) == d["expected_plaintext"]


def test_log_lines_hold_no_secrets_or_message_text(caplog: pytest.LogCaptureFixture) -> None:
    (case,) = [c for c in WALK.cases if c.kind == "decrypt" and "post_body" in c.data][:1]
    d = case.data
    other = case.crypt(receive_id="wx0000000000000000", app_id="wx0000000000000000")
    with pytest.raises(CallbackError):
        other.decrypt_xml(d["msg_signature"], d["timestamp"], d["nonce"], d["post_body"])
    assert "reason=wrong_receiver" in caplog.text
    assert_no_secrets(caplog.text, case)
    assert d["expected_plaintext"] not in caplog.text
    assert d["encrypt"] not in caplog.text
    assert case.get("token") not in repr(other)


@pytest.mark.parametrize(
    "key",
    [
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDE!",
        "",
    ],
)
def test_bad_encoding_aes_key(key: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(CallbackError) as err:
        MsgCrypt("token", key, "wx")
    assert_refused(caplog, err, Reason.BAD_KEY)


def test_replay_window() -> None:
    now = 1_700_000_000.0
    assert check_timestamp("1700000000", now=now) == 1_700_000_000
    assert check_timestamp(str(int(now) - 299), now=now) == int(now) - 299
    assert check_timestamp(str(int(now) + 299), now=now) == int(now) + 299
    for stale in (str(int(now) - 301), str(int(now) + 301), "0"):
        with pytest.raises(CallbackError) as err:
            check_timestamp(stale, now=now)
        assert err.value.reason is Reason.STALE
    for bad in ("", "abc", "17e8", "-1", " 1700000000", "١٧٠٠٠٠٠٠٠٠", "9" * 30):
        with pytest.raises(CallbackError) as err:
            check_timestamp(bad, now=now)
        assert err.value.reason is Reason.MALFORMED
    assert check_timestamp("5", now=0, window_s=10) == 5
    assert check_timestamp(str(int(time.time()))) > 0


# -- envelopes ---------------------------------------------------------------------------------


def a_decrypt_case() -> Case:
    return next(c for c in WALK.cases if c.kind == "decrypt" and "post_body" in c.data)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<xml><Encrypt>&b;</Encrypt></xml>",
            Reason.MALFORMED,
        ),
        (
            b'<!doctype xml SYSTEM "file:///etc/passwd"><xml><Encrypt>x</Encrypt></xml>',
            Reason.MALFORMED,
        ),
        (
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><xml><Encrypt>x</Encrypt></xml>'.encode(
                "utf-16"
            ),
            Reason.MALFORMED,
        ),
        (b"<xml><ToUserName>a</ToUserName></xml>", Reason.MALFORMED),
        (b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>", Reason.MALFORMED),
        (b"<root><Encrypt>a</Encrypt></root>", Reason.MALFORMED),
        (b"<xml><Encrypt>a</Encrypt>", Reason.MALFORMED),
        (b"", Reason.MALFORMED),
        (b"\xff\xfe\x00", Reason.MALFORMED),
        (b'<?xml version="1.0" encoding="no-such-codec"?><xml/>', Reason.MALFORMED),
        (b"<xml>" + b"<a>" * 100 + b"</a>" * 100 + b"</xml>", Reason.TOO_LARGE),
        (b"<xml><a>" + b"<b/>" * 5000 + b"</a></xml>", Reason.TOO_LARGE),
        (b"<xml><Encrypt>" + b"A" * (MAX_BODY_BYTES + 1) + b"</Encrypt></xml>", Reason.TOO_LARGE),
    ],
    ids=[
        "entities",
        "external-doctype",
        "utf16-doctype",
        "no-encrypt",
        "two-encrypt",
        "wrong-root",
        "unclosed",
        "empty",
        "garbage",
        "unknown-encoding",
        "deep",
        "many-elements",
        "huge",
    ],
)
def test_bad_envelopes(body: bytes, reason: Reason, caplog: pytest.LogCaptureFixture) -> None:
    case = a_decrypt_case()
    d = case.data
    with pytest.raises(CallbackError) as err:
        case.crypt().decrypt_xml(d["msg_signature"], d["timestamp"], d["nonce"], body)
    assert_refused(caplog, err, reason)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"encrypt": 5}',
        b'{"Encrypt": "x"}',
        b"[" * 100_000,
        b"\xff",
        b"{" + b" " * 300_000,
    ],
    ids=["empty", "list", "number", "wrong-key", "deep", "not-utf8", "huge"],
)
def test_bad_json_envelopes(body: bytes) -> None:
    case = a_decrypt_case()
    d = case.data
    with pytest.raises(CallbackError) as err:
        case.crypt().decrypt_json(d["msg_signature"], d["timestamp"], d["nonce"], body)
    assert err.value.reason in {Reason.MALFORMED, Reason.TOO_LARGE}


def test_huge_payload_is_refused_before_any_work() -> None:
    case = a_decrypt_case()
    d = case.data
    crypt = case.crypt()
    args = (d["msg_signature"], d["timestamp"], d["nonce"])
    body = b"<xml><Encrypt>" + b"A" * 20_000_000 + b"</Encrypt></xml>"
    text = "A" * 20_000_000
    calls: list[tuple[Any, bytes | str]] = [
        (crypt.decrypt_xml, body),
        (crypt.decrypt_xml, text),
        (crypt.decrypt_json, body),
        (crypt.decrypt, text),
        (crypt.verify_url, text),
    ]
    start = time.perf_counter()
    for call, payload in calls:
        with pytest.raises(CallbackError) as err:
            call(*args, payload)
        assert err.value.reason is Reason.TOO_LARGE
    # Refused on length alone (microseconds); parsing or decoding 20 MB would take far longer.
    assert time.perf_counter() - start < 0.5


def test_parse_xml_fields_reads_cdata_and_plain_text() -> None:
    case = next(
        c for c in WALK.cases if c.kind == "decrypt" and c.data.get("post_body", "")[:1] == "<"
    )
    fields = parse_xml_fields(case.data["post_body"])
    assert fields["Encrypt"] == case.data["encrypt"]
    message = parse_xml_fields(case.data["expected_plaintext"])
    assert {"ToUserName", "FromUserName", "CreateTime", "MsgType"} <= message.keys()


# -- fuzzing: only CallbackError ever escapes ----------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKEN = "fuzztoken"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
RECEIVER = "wx2c2769f8efd9abc2"
FUZZ_CRYPT = MsgCrypt(TOKEN, KEY, RECEIVER)
RAW_KEY = base64.b64decode(KEY + "=")


def decrypt_or_refuse(call: Any, *args: Any) -> str | None:
    try:
        result = call(*args)
    except CallbackError as err:
        event(err.reason.value)
        return None
    assert isinstance(result, str)
    return result


@FUZZ
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=1000).map(str.encode)))
def test_fuzz_arbitrary_bodies(body: bytes) -> None:
    for call in (FUZZ_CRYPT.decrypt_xml, FUZZ_CRYPT.decrypt_json):
        assert decrypt_or_refuse(call, "0" * 40, "1", "2", body) is None


VALID_REPLY = FUZZ_CRYPT.encrypt_reply("<xml><Content><![CDATA[hello]]></Content></xml>")
VALID_BODY = VALID_REPLY.to_xml().encode()
ENCRYPT_AT = VALID_BODY.index(VALID_REPLY.encrypt.encode())
mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete", "truncate"]),
    st.one_of(  # anywhere, or inside the ciphertext so that decryption sees the damage
        st.integers(0, len(VALID_BODY) - 1),
        st.integers(ENCRYPT_AT, ENCRYPT_AT + len(VALID_REPLY.encrypt) - 1),
    ),
    st.one_of(
        st.binary(min_size=1, max_size=8),
        st.text(alphabet="ABCXYZabcxyz0189+/", min_size=1, max_size=4).map(str.encode),
    ),
)


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=6), st.booleans())
def test_fuzz_mutated_envelopes(edits: list[tuple[str, int, bytes]], resign: bool) -> None:
    """A genuine signed envelope with bytes replaced, inserted, deleted or cut off."""
    body = bytearray(VALID_BODY)
    for kind, at, chunk in edits:
        at %= max(len(body), 1)
        if kind == "replace":
            body[at : at + len(chunk)] = chunk
        elif kind == "insert":
            body[at:at] = chunk
        elif kind == "delete":
            del body[at : at + len(chunk)]
        else:
            del body[at:]
    sig = VALID_REPLY.msg_signature
    if resign:  # sign what a parser finds, so the decryption path sees the damage too
        with contextlib.suppress(CallbackError):
            sig = FUZZ_CRYPT.signature("1", "2", parse_xml_fields(bytes(body)).get("Encrypt", ""))
    result = decrypt_or_refuse(FUZZ_CRYPT.decrypt_xml, sig, "1", "2", bytes(body))
    if result is not None:
        event("accepted")


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=600),
        st.integers(1, 40).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n)),
    )
)
def test_fuzz_signed_random_ciphertexts(raw: bytes) -> None:
    encrypt = base64.b64encode(raw).decode()
    sig = FUZZ_CRYPT.signature("1", "2", encrypt)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    decrypt_or_refuse(FUZZ_CRYPT.decrypt_xml, sig, "1", "2", body)
    decrypt_or_refuse(FUZZ_CRYPT.decrypt_json, sig, "1", "2", json.dumps({"encrypt": encrypt}))


def aes_cbc(plain: bytes) -> str:
    encryptor = Cipher(algorithms.AES(RAW_KEY), modes.CBC(RAW_KEY[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@FUZZ
@given(
    random16=st.binary(min_size=16, max_size=16),
    message=st.one_of(st.text(max_size=200).map(str.encode), st.binary(max_size=200)),
    length=st.one_of(  # the declared length: right, near the message's or the block's end, or any
        st.just(("message", 0)),
        st.tuples(st.sampled_from(["message", "rest"]), st.integers(-2, 2)),
        st.tuples(st.just("absolute"), st.integers(0, 2**32 - 1)),
    ),
    receiver=st.one_of(st.just(RECEIVER.encode()), st.binary(max_size=30)),
    padding=st.one_of(st.just("valid"), st.sampled_from(["zero", "over", "uneven"])),
)
def test_fuzz_crafted_plaintexts_match_a_model(
    random16: bytes, message: bytes, length: tuple[str, int], receiver: bytes, padding: str
) -> None:
    """Every field of the plaintext block, valid or not: the outcome is exactly the model's."""
    base = {"message": len(message), "rest": len(message) + len(receiver), "absolute": 0}
    declared = max(base[length[0]] + length[1], 0)
    content = random16 + struct.pack(">I", declared) + message + receiver
    pad = 32 - len(content) % 32
    tail = bytearray([pad]) * pad
    if padding == "zero":
        tail[-1] = 0
    elif padding == "over":
        tail[-1] = 33 + pad % 200
    elif padding == "uneven" and pad > 1:
        tail[0] ^= 1
    else:
        padding = "valid"
    encrypt = aes_cbc(content + bytes(tail))
    sig = FUZZ_CRYPT.signature("1", "2", encrypt)

    rest = message + receiver
    try:
        expected_text: str | None = rest[:declared].decode("utf-8")
    except UnicodeDecodeError:
        expected_text = None
    if padding != "valid":
        expected: Reason | str = Reason.BAD_PADDING
    elif declared > len(rest):
        expected = Reason.BAD_LENGTH
    elif rest[declared:] != RECEIVER.encode():
        expected = Reason.WRONG_RECEIVER
    elif expected_text is None:
        expected = Reason.MALFORMED
    else:
        expected = expected_text

    try:
        outcome: Reason | str = FUZZ_CRYPT.decrypt(sig, "1", "2", encrypt)
    except CallbackError as err:
        outcome = err.reason
    event(outcome.value if isinstance(outcome, Reason) else "accepted")
    assert outcome == expected


@FUZZ
@given(st.text(max_size=500), st.binary(min_size=16, max_size=16))
def test_fuzz_round_trip(message: str, random16: bytes) -> None:
    reply = FUZZ_CRYPT.encrypt_reply(message, random16=random16)
    assert (
        FUZZ_CRYPT.decrypt_xml(reply.msg_signature, reply.timestamp, reply.nonce, reply.to_xml())
        == message
    )
    assert (
        FUZZ_CRYPT.decrypt_json(reply.msg_signature, reply.timestamp, reply.nonce, reply.to_json())
        == message
    )
    assert len(base64.b64decode(reply.encrypt)) % 32 == 0


@FUZZ
@given(st.text(max_size=60), st.text(max_size=20), st.text(max_size=20), st.text(max_size=60))
def test_fuzz_signature_inputs(signature: str, timestamp: str, nonce: str, echostr: str) -> None:
    for call in (
        lambda: verify_plain_url(TOKEN, signature, timestamp, nonce, echostr),
        lambda: FUZZ_CRYPT.verify_url(signature, timestamp, nonce, echostr),
        lambda: check_timestamp(timestamp, now=0),
    ):
        with contextlib.suppress(CallbackError):
            call()


def test_reply_fields_cannot_inject_xml() -> None:
    for bad in ("1]]><x>", "", "a b", "1\n2"):
        with pytest.raises(ValueError):
            FUZZ_CRYPT.encrypt_reply("hi", nonce=bad)
        with pytest.raises(ValueError):
            FUZZ_CRYPT.encrypt_reply("hi", timestamp=bad)
    with pytest.raises(ValueError):
        FUZZ_CRYPT.encrypt("hi", random16=b"short")


# -- DingTalk and Feishu webhook signing ---------------------------------------------------------

SIGNING = json.loads((VECTORS / SIGNING_FILE).read_text(encoding="utf-8"))


def signing_cases(channel: str) -> list[Any]:
    return [
        pytest.param(case, id=f"{channel}[{i}]") for i, case in enumerate(SIGNING[channel]["cases"])
    ]


@pytest.mark.parametrize("case", signing_cases("dingtalk"))
def test_dingtalk_sign(case: dict[str, str]) -> None:
    sign = dingtalk_sign(case["secret"], case["timestamp_ms"])
    assert sign == case["sign_raw_base64"]
    assert quote(sign, safe="") == case["sign_urlencoded"]
    assert dingtalk_sign(case["secret"], int(case["timestamp_ms"])) == sign


@pytest.mark.parametrize("case", signing_cases("feishu"))
def test_feishu_sign(case: dict[str, str]) -> None:
    assert feishu_sign(case["secret"], case["timestamp_s"]) == case["sign"]
    assert feishu_sign(case["secret"], int(case["timestamp_s"])) == case["sign"]
