"""A local fake of Telegram's Bot API, over real HTTP on loopback, for python-telegram-bot to talk to.

It serves `/bot<TOKEN>/<method>` like api.telegram.org: parameters from the query string or a body
in application/json, application/x-www-form-urlencoded (what python-telegram-bot sends; complex
values JSON-encoded inside) or multipart/form-data; answers `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": N, "description": "..."}` with the same HTTP status, and the real
objects (User, Chat, Message, Update, CallbackQuery). Methods: getMe, getUpdates (long polling:
offset confirms earlier updates, timeout waits for new ones, allowed_updates filters, a second
poller ends the first with 409 Conflict, as does an active webhook), sendMessage, editMessageText,
answerCallbackQuery, setMyCommands, getMyCommands, deleteWebhook, setWebhook, getWebhookInfo.
Unknown token: 401 Unauthorized; unknown method: 404 Not Found. Bot API rules kept: text 1-4096
characters, callback_data 1-64 bytes, "message is not modified", unknown chat "chat not found",
a callback query answered once; `flood(method, retry_after)` makes the next calls answer 429.

Tests act as Telegram users from their own thread: `send(chat_id, text)` (a message, as a user who
started the bot), `press(chat_id, message_id, data)` (an inline button), and read what the bot did:
`sent(chat_id)`, `wait_sent(...)`, `calls(method)`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7012345678
COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


def make_token(bot_id: int = BOT_ID) -> str:
    """A token in Telegram's format: "<bot id>:<35 characters>"."""
    import secrets

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return f"{bot_id}:AA" + "".join(secrets.choice(alphabet) for _ in range(33))


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update: itertools.count[int] = field(default_factory=lambda: itertools.count(100_001))
    next_message: dict[int, itertools.count[int]] = field(default_factory=dict)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (chat, id) -> Message
    sent: list[dict[str, Any]] = field(default_factory=list)  # what the bot sent, in order (+ "silent")
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)  # callback query id -> state
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, str]] = field(default_factory=list)
    webhook: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    floods: dict[str, list[int]] = field(default_factory=dict)
    poll_generation: int = 0
    conflicts: int = 0  # getUpdates ended by another poller (409)


class FakeTelegram:
    def __init__(self, token: str, username: str = "okxbot_alerts_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.state = _State()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._queries = itertools.count(1)

    # ---- running ---------------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as err:
                errors.append(err)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=main, name="fake-telegram", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    async def _serve(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_loop(self, fn: Callable[[], Any]) -> Any:
        assert self._loop is not None

        async def run() -> Any:
            result = fn()
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    # ---- a Telegram user, from the test's thread ---------------------------------------------------
    def user(self, chat_id: int, name: str = "Owner") -> dict[str, Any]:
        return {
            "id": chat_id,
            "is_bot": False,
            "first_name": name,
            "username": name.lower(),
            "language_code": "en",
        }

    def send(self, chat_id: int, text: str, *, name: str = "Owner", age_s: float = 0.0) -> int:
        """A user writes `text` to the bot in their private chat `chat_id`; returns the update id."""

        def add() -> int:
            s = self.state
            chat = {"id": chat_id, "first_name": name, "username": name.lower(), "type": "private"}
            s.chats[chat_id] = chat
            message_id = next(s.next_message.setdefault(chat_id, itertools.count(1)))
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": self.user(chat_id, name),
                "chat": chat,
                "date": int(time.time() - age_s),
                "text": text,
            }
            if text.startswith("/"):
                message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
            s.messages[(chat_id, message_id)] = message
            update_id = next(s.next_update)
            s.updates.append({"update_id": update_id, "message": message})
            return update_id

        return int(self._on_loop(add))

    def press(self, chat_id: int, message_id: int, data: str, *, name: str = "Owner") -> str:
        """A user presses the inline button carrying `data` under the bot's message; returns the query id."""

        def add() -> str:
            s = self.state
            message = s.messages.get((chat_id, message_id))
            if message is None:
                raise KeyError(f"no message {message_id} in chat {chat_id}")
            query_id = str(4_000_000_000_000 + next(self._queries))
            s.queries[query_id] = {"answered": False, "text": None}
            update_id = next(s.next_update)
            s.updates.append(
                {
                    "update_id": update_id,
                    "callback_query": {
                        "id": query_id,
                        "from": self.user(chat_id, name),
                        "message": message,
                        "chat_instance": f"-{chat_id}77",
                        "data": data,
                    },
                }
            )
            return query_id

        return str(self._on_loop(add))

    def add_chat(self, chat_id: int, name: str = "Owner") -> None:
        """The user of `chat_id` has started the bot (the bot may write to them)."""
        self._on_loop(
            lambda: self.state.chats.__setitem__(
                chat_id, {"id": chat_id, "first_name": name, "username": name.lower(), "type": "private"}
            )
        )

    def flood(self, method: str, retry_after: int, count: int = 1) -> None:
        """The next `count` calls of `method` answer 429 with `retry_after`."""
        self._on_loop(lambda: self.state.floods.setdefault(method, []).extend([retry_after] * count))

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self._on_loop(lambda: list(self.state.sent))
            if chat_id is None or m["chat"]["id"] == chat_id
        ]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        return dict(self._on_loop(lambda: self.state.messages[(chat_id, message_id)]))

    def calls(self, method: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        return [c for c in self._on_loop(lambda: list(self.state.calls)) if method is None or c[0] == method]

    def query(self, query_id: str) -> dict[str, Any]:
        return dict(self._on_loop(lambda: self.state.queries[query_id]))

    def conflicts(self) -> int:
        return int(self._on_loop(lambda: self.state.conflicts))

    def commands(self) -> list[dict[str, str]]:
        return list(self._on_loop(lambda: list(self.state.commands)))

    def wait_sent(
        self,
        chat_id: int,
        match: Callable[[dict[str, Any]], bool],
        timeout: float = 60.0,
        what: str = "a message",
    ) -> dict[str, Any]:
        """The first message the bot sent to `chat_id` that `match`es (waits for it, bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.sent(chat_id):
                if match(m):
                    return m
            if time.monotonic() > deadline:
                texts = [m.get("text", "")[:80] for m in self.sent(chat_id)]
                raise AssertionError(
                    f"the bot sent no {what} to chat {chat_id} within {timeout:g} s; sent: {texts}"
                )
            self._wait_change(min(1.0, max(0.01, deadline - time.monotonic())))

    def wait_calls(
        self, method: str, count: int = 1, timeout: float = 30.0
    ) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while len(found := self.calls(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{method} called {len(found)} times, expected {count}, within {timeout:g} s"
                )
            self._wait_change(min(1.0, max(0.01, deadline - time.monotonic())))
        return found

    def _wait_change(self, timeout: float) -> None:
        """Block until the fake's state changes (a call arrived, a message was added) or `timeout`."""
        assert self._loop is not None

        async def wait() -> None:
            assert self._changed is not None
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout)
                except TimeoutError:
                    pass

        asyncio.run_coroutine_threadsafe(wait(), self._loop).result(timeout + 10)

    # ---- the Bot API ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        try:
            params = await _params(request)
        except ValueError as err:
            return _error(ApiError(400, f"Bad Request: {err}"))
        s = self.state
        s.calls.append((method, params))
        try:
            floods = s.floods.get(method)
            if floods:
                wait = floods.pop(0)
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
            result = handler(params) if method != "getUpdates" else await self._m_getupdates(params)
        except ApiError as err:
            return _error(err)
        finally:
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "okxbot alerts", "username": self.username}

    def _m_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        self.state.webhook = ""
        if _bool(p.get("drop_pending_updates")):
            self.state.updates.clear()
        return True

    def _m_setwebhook(self, p: dict[str, Any]) -> bool:
        url = str(p.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.state.webhook = url
        return True

    def _m_getwebhookinfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.state.webhook,
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }

    def _m_setmycommands(self, p: dict[str, Any]) -> bool:
        commands = _json(p.get("commands"), "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be an array of at most 100 BotCommand")
        for c in commands:
            if not COMMAND.match(str(c.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description must be 1-256 characters")
        self.state.commands = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _m_getmycommands(self, p: dict[str, Any]) -> list[dict[str, str]]:
        return list(self.state.commands)

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        s = self.state
        if s.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = int(p.get("offset") or 0)
        limit = max(1, min(100, int(p.get("limit") or 100)))
        timeout = max(0.0, float(p.get("timeout") or 0))
        allowed = _json(p.get("allowed_updates"), "allowed_updates") if p.get("allowed_updates") else None
        if offset:  # confirms every update before it
            s.updates = [u for u in s.updates if u["update_id"] >= offset]
        s.poll_generation += 1
        me = s.poll_generation
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()  # an earlier poller must end: 409
        deadline = time.monotonic() + timeout
        while True:
            if s.poll_generation != me:
                s.conflicts += 1
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            found = [u for u in s.updates if not allowed or any(k in u for k in allowed)][:limit]
            if found or time.monotonic() >= deadline:
                return found
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    pass

    def _chat(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _text(self, p: dict[str, Any]) -> str:
        text = str(p.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _markup(self, p: dict[str, Any]) -> dict[str, Any] | None:
        if not p.get("reply_markup"):
            return None
        markup = _json(p["reply_markup"], "reply_markup")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not str(button.get("text", "")):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        text = self._text(p)
        markup = self._markup(p)
        s = self.state
        message_id = next(s.next_message.setdefault(chat["id"], itertools.count(1)))
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        s.messages[(chat["id"], message_id)] = message
        s.sent.append(message | {"silent": _bool(p.get("disable_notification"))})
        return message

    def _m_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        key = (chat["id"], int(p.get("message_id") or 0))
        message = self.state.messages.get(key)
        if message is None or message["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = self._text(p)
        markup = self._markup(p)
        keyboard = markup.get("inline_keyboard") if markup else None
        if text == message["text"] and keyboard == (message.get("reply_markup") or {}).get("inline_keyboard"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        message = {k: v for k, v in message.items() if k != "reply_markup"} | {
            "text": text,
            "edit_date": int(time.time()),
        }
        if keyboard:
            message["reply_markup"] = {"inline_keyboard": keyboard}
        self.state.messages[key] = message
        return message

    def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        query = self.state.queries.get(str(p.get("callback_query_id") or ""))
        if query is None or query["answered"]:
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(p.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query.update(answered=True, text=p.get("text"))
        return True


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    ctype = request.content_type
    if request.can_read_body:
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the JSON body must be an object")
            params.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _json(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _error(err: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
    if err.parameters:
        body["parameters"] = err.parameters
    return web.json_response(body, status=err.code)
