"""Telegram: alerts to one authorised chat, and commands from it (python-telegram-bot's `Bot`).

The channel talks to the Bot API at `api_url` (https://api.telegram.org, or a self-hosted Bot API
server, or the tests' local fake) with the token from the vault; the token goes nowhere else.
It long-polls getUpdates (one poller per token: Telegram answers 409 to a second one, which is why
only the alert leader runs this, see okxbot.serve.alerts) for messages and button presses.

Who may command: exactly one chat, the authorised chat id of the settings. An update from any other
chat is ignored: nothing in it is acted on, no answer is sent (a stranger learns nothing, not even
that the bot is alive), and the server's log gets one line per chat per 10 minutes with the chat id
only (never the text): after "/start" that line says how to authorise the chat
(`okxbot serve telegram allow ID`), which is how the owner learns their chat id. Commands older
than `STALE_S` (sent while the server was not polling) are not run; the owner is told.

Alerts are plain text (no parse mode: names and errors are shown, never interpreted); alerts queued
together are sent as one message (Telegram allows about one message a second per chat), silent
(disable_notification) only when every alert in it is silent. A flood-control answer (429) waits
its retry_after; network errors are retried a few times with backoff, then the alerts count as
failed. The outbox is bounded (alert_outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from okxbot.serve.alert_outbox import AlertMetrics, Outbox
from okxbot.serve.alert_text import Alert
from okxbot.serve.telegram_commands import COMMANDS, ButtonResult, Commands, Reply
from okxbot.serve.telegram_reports import clip
from okxbot.vault import redact
from okxbot.vault.secret import Secret

log = logging.getLogger("okxbot.serve.telegram")

DEFAULT_API_URL = "https://api.telegram.org"
STALE_S = 300
STRANGER_LOG_S = 600
BATCH_CHARS = 3800
SEND_ATTEMPTS = 4


class TelegramChannel:
    channel = "telegram"

    def __init__(
        self,
        token: Secret,
        api_url: str,
        commands: Commands,
        metrics: AlertMetrics,
        *,
        chat_id: Callable[[], int | None],
        poll_timeout_s: int = 25,
        min_interval_s: float = 1.0,
        maxsize: int = 500,
    ) -> None:
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.commands = commands
        self.metrics = metrics
        self.chat_id = chat_id
        self.poll_timeout_s = poll_timeout_s
        self.min_interval_s = min_interval_s
        self.outbox: Outbox[tuple[Alert, bool]] = Outbox(self.channel, metrics, maxsize)
        self.username = ""
        self.ready = asyncio.Event()
        self.refused = ""  # why Telegram refused the token (then the channel stops)
        self._bot: Any = None
        self._offset: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[None]] = set()
        self._strangers: OrderedDict[int, float] = OrderedDict()
        metrics.touch(self.channel)

    # ---- lifecycle -------------------------------------------------------------------------------
    def offer(self, alert: Alert, silent: bool) -> None:
        self.outbox.put((alert, silent))

    def start(self) -> None:
        from telegram import Bot
        from telegram.request import HTTPXRequest

        def request(read_timeout: float, pool: int) -> HTTPXRequest:
            return HTTPXRequest(
                connection_pool_size=pool, connect_timeout=10.0, read_timeout=read_timeout,
                write_timeout=20.0, pool_timeout=10.0,
            )  # fmt: skip

        self._bot = Bot(
            self.token.reveal(),
            base_url=f"{self.api_url}/bot",
            base_file_url=f"{self.api_url}/file/bot",
            request=request(20.0, 4),
            get_updates_request=request(self.poll_timeout_s + 15.0, 1),
        )
        self._tasks = [asyncio.ensure_future(self._main())]

    async def close(self) -> None:
        for task in [*self._tasks, *self._work]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._work, return_exceptions=True)
        if self._bot is None:
            return
        if self.ready.is_set() and self._offset is not None:
            # confirm what was read, so that the next start does not see it again
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._bot.get_updates(offset=self._offset, timeout=0, read_timeout=5.0), 6.0
                )
        with contextlib.suppress(Exception):
            await self._bot.shutdown()  # its HTTP clients, also when getMe never succeeded

    async def _main(self) -> None:
        if not await self._initialize():
            return
        self._tasks.append(asyncio.ensure_future(self._send_loop()))
        await self._poll_loop()

    async def _initialize(self) -> bool:
        from telegram import BotCommand
        from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter

        backoff = 1.0
        while True:
            try:
                await self._bot.initialize()  # getMe: proves the token
                me = self._bot.bot
                self.username = me.username or ""
                self.commands.username = self.username
                await self._bot.delete_webhook()  # getUpdates is refused while a webhook is set
                await self._bot.set_my_commands([BotCommand(n, w) for n, w in COMMANDS])
                self.ready.set()
                log.info(
                    "Telegram: bot @%s ready (authorised chat: %s)",
                    self.username,
                    self.chat_id() or "none yet",
                )
                return True
            except (InvalidToken, Forbidden):
                # the exception's text holds the token: never show it, say what to do
                self.refused = "Telegram refused the bot token (revoked or mistyped)"
                log.error(
                    "%s: run `okxbot serve telegram setup` with the token @BotFather gives", self.refused
                )
                return False
            except RetryAfter as err:
                await asyncio.sleep(_seconds(err))
            except NetworkError as err:
                log.warning(
                    "Telegram: cannot reach %s (%s); retrying in %.0f s", self.api_url, _why(err), backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)

    # ---- incoming -------------------------------------------------------------------------------
    async def _poll_loop(self) -> None:
        from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

        backoff = 1.0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=self._offset,
                    timeout=self.poll_timeout_s,
                    allowed_updates=["message", "callback_query"],
                    read_timeout=self.poll_timeout_s + 15.0,
                )
                backoff = 1.0
            except (InvalidToken, Forbidden):
                self.refused = "Telegram refused the bot token (revoked?)"
                log.error("%s: polling stopped; run `okxbot serve telegram setup` again", self.refused)
                return
            except Conflict:
                log.warning(
                    "Telegram: another program is polling this bot token (409); retrying in %.0f s. "
                    "Only one program may use a bot token.", backoff,
                )  # fmt: skip
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            except RetryAfter as err:
                await asyncio.sleep(_seconds(err))
                continue
            except (NetworkError, TelegramError) as err:
                log.warning("Telegram: getUpdates failed (%s); retrying in %.0f s", _why(err), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            for update in updates:
                self._offset = update.update_id + 1
                self._dispatch(update)

    def _dispatch(self, update: Any) -> None:
        message, press = update.message, update.callback_query
        chat = message.chat if message is not None else None
        if press is not None and press.message is not None:
            chat = press.message.chat
        if chat is None:
            return
        allowed = self.chat_id()
        if allowed is None or chat.id != allowed:
            is_start = bool(
                message is not None and (message.text or "").split("@")[0].split(" ")[0] == "/start"
            )
            self._stranger(chat.id, str(chat.type), is_start)
            return
        if message is not None and message.text:
            age = time.time() - message.date.timestamp()
            if age > STALE_S:
                self._spawn(self._reply(Reply(
                    f"Ignored {message.text.split()[0][:32]}: it was sent {age / 60:.0f} min ago, while okxbot "
                    "serve was not reading. Send it again if you still mean it."
                )))  # fmt: skip
                return
            self._spawn(self._command(message.text))
        elif press is not None:
            self._spawn(self._press(press))

    def _stranger(self, chat_id: int, chat_type: str, is_start: bool) -> None:
        self.metrics.ignored.inc()
        now = time.monotonic()
        last = self._strangers.get(chat_id)
        if last is not None and now - last < STRANGER_LOG_S:
            return
        self._strangers[chat_id] = now
        self._strangers.move_to_end(chat_id)
        while len(self._strangers) > 1000:
            self._strangers.popitem(last=False)
        hint = (
            f"; if this chat is yours, authorise it with `okxbot serve telegram allow {chat_id}`"
            if is_start
            else ""
        )
        log.warning(
            "Telegram: ignored an update from chat %s (%s), which is not the authorised chat%s",
            chat_id, chat_type, hint,
        )  # fmt: skip

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _command(self, text: str) -> None:
        try:
            reply = await self.commands.on_text(text)
        except Exception as err:
            log.exception("Telegram command failed")
            reply = Reply(f"That failed: {_why(err)}")
        if reply is not None:
            await self._reply(reply)

    async def _reply(self, reply: Reply) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=data)] for label, data in reply.buttons]
            )
        await self._send(reply.text, reply_markup=markup)
        if reply.then is not None:
            await self._send(await self._run(reply.then))

    async def _press(self, press: Any) -> None:
        try:
            result = await self.commands.on_button(press.data or "")
        except Exception as err:
            log.exception("Telegram button failed")
            result = ButtonResult("That failed", f"That failed: {_why(err)}")
        with contextlib.suppress(Exception):
            await self._bot.answer_callback_query(press.id, text=result.answer[:200])
        if result.edit is not None and press.message is not None:
            with contextlib.suppress(Exception):
                await self._bot.edit_message_text(
                    clip(result.edit), chat_id=press.message.chat.id, message_id=press.message.message_id
                )
        if result.then is not None:
            await self._send(await self._run(result.then))

    async def _run(self, work: Callable[[], Any]) -> str:
        try:
            return str(await work())
        except Exception as err:
            log.exception("Telegram control action failed")
            return f"That failed: {_why(err)}"

    # ---- outgoing -------------------------------------------------------------------------------
    async def _send_loop(self) -> None:
        while True:
            first = await self.outbox.get()
            batch = [first]
            size = len(first[0].text)
            while (nxt := self.outbox.peek()) is not None and len(batch) < 30:
                if size + len(nxt[0].text) + 2 > BATCH_CHARS:
                    break
                batch.append(self.outbox.get_nowait())  # type: ignore[arg-type]
                size += len(nxt[0].text) + 2
            text = "\n\n".join(alert.text for alert, _ in batch)
            silent = all(quiet for _, quiet in batch)
            ok = self.chat_id() is not None and await self._send(text, silent=silent)
            counter = self.metrics.sent if ok else self.metrics.failed
            counter.labels(self.channel).inc(len(batch))
            if self.min_interval_s:
                await asyncio.sleep(self.min_interval_s)  # Telegram's pace: about a message a second

    async def _send(self, text: str, *, silent: bool = False, reply_markup: Any = None) -> bool:
        from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

        chat = self.chat_id()
        if chat is None:
            return False
        text = clip(redact.scrub(text))
        backoff = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._bot.send_message(
                    chat, text, disable_notification=silent, reply_markup=reply_markup
                )
                return True
            except RetryAfter as err:
                await asyncio.sleep(min(_seconds(err), 120.0))
            except (BadRequest, Forbidden, InvalidToken) as err:
                log.error(
                    "Telegram: cannot write to chat %s (%s): is it the chat you authorised, and did it "
                    "send /start to the bot?", chat, _why(err) if isinstance(err, BadRequest) else "refused",
                )  # fmt: skip
                return False
            except NetworkError as err:
                if attempt == SEND_ATTEMPTS:
                    log.warning("Telegram: sendMessage failed %d times (%s)", attempt, _why(err))
                    return False
                self.metrics.retries.labels(self.channel).inc()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
        return False


def _seconds(err: Any) -> float:
    """RetryAfter's wait in seconds (an int today, a timedelta in python-telegram-bot's next major)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the "will become a timedelta" notice: both are handled
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _why(err: BaseException) -> str:
    return redact.scrub(f"{type(err).__name__}: {err}")[:300]


class TelegramCheckError(Exception):
    """The Bot API refused or could not be reached; the message says what to do."""


TOKEN_FORMAT = r"^\d{5,}:[A-Za-z0-9_-]{30,}$"  # noqa: S105 - a pattern, not a password


def check_api_url(url: str) -> str:
    """The Bot API root the token may be sent to: https, or http to a loopback host (a local fake or
    a self-hosted Bot API server on this machine)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.username:
        raise ValueError("--api-url must be an http(s) URL such as https://api.telegram.org")
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise ValueError("the bot token must not travel in the clear: use https:// (http only on loopback)")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


async def call_once(token: Secret, api_url: str, chat_id: int | None = None, text: str = "") -> str:
    """getMe (proves the token; returns the bot's @username) and, with `chat_id`, one sendMessage."""
    from telegram import Bot
    from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

    bot = Bot(token.reveal(), base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
    try:
        async with bot:
            username = bot.bot.username or ""
            if chat_id is not None:
                await bot.send_message(chat_id, clip(redact.scrub(text)))
            return username
    except (InvalidToken, Forbidden) as err:
        if isinstance(err, Forbidden) and chat_id is not None:
            raise TelegramCheckError(
                f"chat {chat_id} refused the message: send /start to the bot from that chat first"
            ) from None
        raise TelegramCheckError("Telegram refused this bot token: copy it again from @BotFather") from None
    except BadRequest as err:
        raise TelegramCheckError(
            f"Telegram refused the message ({_why(err)}): is the chat id right?"
        ) from None
    except NetworkError as err:
        raise TelegramCheckError(f"cannot reach {api_url} ({_why(err)})") from None
    except TelegramError as err:
        raise TelegramCheckError(_why(err)) from None
