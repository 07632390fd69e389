from __future__ import annotations

import io
import json
import logging

import pydantic

from okxbot.vault import redact
from okxbot.vault.secret import MASK, Credentials, Secret

SECRET = "9C3D1E0FA1B2C3D4E5F60718293A4B5C"
PASSPHRASE = "My-Pass-Phrase-42!"
API_KEY = "5f1c2a7e-1111-4a2b-9c3d-0e1f2a3b4c5d"


def test_secret_is_masked_in_repr_str_format_and_json() -> None:
    creds = Credentials(Secret(API_KEY), Secret(SECRET), Secret(PASSPHRASE))

    class Model(pydantic.BaseModel):
        secret: Secret

    shown = " ".join(
        [repr(creds), str(creds.secret_key), f"{creds.passphrase}", Model(secret=SECRET).model_dump_json()]
    )
    assert SECRET not in shown and PASSPHRASE not in shown and API_KEY not in shown
    assert MASK in shown
    assert creds.api_key.masked() == MASK + API_KEY[-4:]


def _capture(logger_name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, stream, handler


def test_ccxt_style_debug_log_and_exception_are_scrubbed() -> None:
    redact.install()
    redact.register([API_KEY, SECRET, PASSPHRASE])
    root, stream, handler = _capture("")
    try:
        headers = {
            "OK-ACCESS-KEY": API_KEY,
            "OK-ACCESS-PASSPHRASE": PASSPHRASE,
            "OK-ACCESS-SIGN": "q0WzIx2Yl+jXU0ee9QpbQRgm8OtbE1Va1pQ0PC4=",
            "OK-ACCESS-TIMESTAMP": "2026-01-01T00:00:00.000Z",
        }
        # exactly how ccxt logs a request, from a child logger (root-level filters would not see it)
        logging.getLogger("ccxt.base.exchange").debug(
            "%s %s, Request: %s %s", "GET", "https://x/api", headers, ""
        )
        try:
            raise RuntimeError(f"signing failed with secret {SECRET} and passphrase {PASSPHRASE}")
        except RuntimeError:
            logging.getLogger("okxbot.test").exception("boom %s", PASSPHRASE)
        ws_login = json.dumps({"op": "login", "args": [{"apiKey": "other", "sign": "AbCdEf0123456789=="}]})
        logging.getLogger("okxbot.ws").debug("send %s", ws_login)
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    for leaked in (
        API_KEY,
        SECRET,
        PASSPHRASE,
        "q0WzIx2Yl+jXU0ee9QpbQRgm8OtbE1Va1pQ0PC4=",
        "AbCdEf0123456789==",
    ):
        assert leaked not in text
    assert "OK-ACCESS-SIGN" in text and "Request:" in text and "RuntimeError" in text
    assert text.count(MASK) >= 6


def test_scrub_masks_url_encoded_forms() -> None:
    redact.register(["p@ss/word+1"])
    assert "p%40ss%2Fword%2B1" not in redact.scrub("passphrase=p%40ss%2Fword%2B1&x=1")
