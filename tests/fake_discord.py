"""A fake Discord (REST + gateway) on 127.0.0.1 for the real, unmodified discord.py client.

Grown from shared/examples/fake_discord. It records every REST call, keeps the messages the
bot posts (interaction responses, follow-ups, channel and direct messages) with their
reactions, and enforces Discord's rules that matter here: a command must be acknowledged
within 3 s and only once; follow-ups and edits need the acknowledgement and work for 15
minutes (`skew` moves the fake's clock); one-shot 429s are injected with `rate_limit`.
Tests play the people: `interaction(...)` builds an INTERACTION_CREATE for a command (with
`upload(...)` files as attachment options, served from here), `click(...)` one for a
message's button (type 3) and `submit(...)` one for a form (type 5); `react`/`unreact`
change reactions and send the gateway events. Messages keep the components (buttons) they
were sent with; a form a callback opened (type 9) is in `modals`, by interaction id.

Pitfalls (from the original README): discord.py parses JSON only when the content type is
exactly application/json; a 429 needs a Via header or it is taken for a Cloudflare ban;
start the client with login() then connect(); handlers run in their own tasks, so poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import discord
import yarl
from aiohttp import web
from aiohttp.test_utils import TestServer
from discord.gateway import DiscordWebSocket

APP, GUILD, CHAN, DM_CHAN, ADMIN_ROLE = 1000, 2000, 3000, 3500, 2100
UNKNOWN_INTERACTION = 10062
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027
UNKNOWN_MESSAGE = 10008
MISSING_PERMISSIONS = 50013


def user(uid: int, bot: bool = False) -> dict[str, Any]:
    data = {"id": str(uid), "username": f"u{uid}", "discriminator": "0", "avatar": None}
    return data | {"global_name": None} | ({"bot": True} if bot else {})


def member(uid: int, perms: str = "0", roles: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "user": user(uid),
        "roles": [str(r) for r in roles],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": perms,
    }


def jr(data: Any, status: int = 200, **kw: Any) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json", **kw
    )


def error(status: int, code: int, message: str) -> web.Response:
    return jr({"message": message, "code": code}, status)


class FakeDiscord:
    async def start(self) -> FakeDiscord:
        self.calls: list[dict[str, Any]] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.reactions: dict[int, dict[str, list[int]]] = {}  # message -> emoji -> user ids
        self.acked: dict[str, int | None] = {}  # interaction id -> its response message id
        self.modals: dict[str, dict[str, Any]] = {}  # interaction id -> the form it opened
        self.files: dict[str, bytes] = {}  # attachment path -> content (uploads)
        self.rate_limit: dict[str, float] = {}  # "POST /webhooks" -> retry_after, one shot
        self.forbid: set[str] = set()  # "PUT /channels": 403 Missing Permissions, always
        self.skew = 0.0
        self.token: str | None = None  # when set, the only token accepted
        self.ws: web.WebSocketResponse | None = None
        self.seq = 0
        self.ids = itertools.count(1)
        app = web.Application()
        app.add_routes(
            [
                web.get("/gateway", self.gateway),
                web.get("/attachments/{path:.*}", self.attachment),
                web.route("*", "/api/v10/{path:.*}", self.rest),
            ]
        )
        self.server = TestServer(app)
        await self.server.start_server()
        self.base = str(self.server.make_url("")).rstrip("/")
        return self

    async def close(self) -> None:
        await self.server.close()

    def patch(self, monkeypatch: Any) -> None:
        """Point discord.py at this fake (REST, interaction webhooks and the gateway)."""
        monkeypatch.setattr(discord.http.Route, "BASE", self.base + "/api/v10")
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.base + "/gateway"))

    # What the tests look at

    def paths(self, prefix: str, method: str | None = None) -> list[dict[str, Any]]:
        return [
            c
            for c in self.calls
            if c["path"].startswith(prefix) and (method is None or c["method"] == method)
        ]

    def posted(self) -> list[dict[str, Any]]:
        """Messages with attachments, in the order they were posted."""
        return [m for m in self.messages.values() if m["attachments"]]

    def edits(self, token: str) -> list[str]:
        """Contents of the successful edits of an interaction's deferred message."""
        return [
            c["json"].get("content")
            for c in self.paths(f"/webhooks/{APP}/{token}/messages/@original", "PATCH")
            if c["status"] == 200
        ]

    def age(self, snowflake: str | int) -> float:
        created = discord.utils.snowflake_time(int(snowflake)).timestamp()
        return time.time() + self.skew - created

    # People's actions

    def upload(self, name: str, content: bytes, content_type: str = "text/plain") -> dict:
        """An attachment a person adds to a command; its URL is served by this fake."""
        aid = str(next(self.ids) + 7000)
        self.files[f"{aid}/{name}"] = content
        url = f"{self.base}/attachments/{aid}/{name}"
        return {
            "id": aid,
            "filename": name,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    async def attachment(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["path"])
        if content is None:
            return error(404, 0, "404: Not Found")
        return web.Response(body=content, content_type="application/octet-stream")

    def click(self, message_id: int, custom_id: str, uid: int = 5000, age: float = 0.0) -> dict:
        """An INTERACTION_CREATE for a click on a button of one of the bot's messages."""
        message = self._with_reactions(self.messages[message_id])
        assert any(
            c.get("custom_id") == custom_id
            for row in message["components"]
            for c in row.get("components", [])
        ), f"no button {custom_id} on message {message_id}"
        data = _base(uid, age, 3)
        data["message"] = message
        data["data"] = {"custom_id": custom_id, "component_type": 2}
        return data

    def submit(self, custom_id: str, value: str, uid: int = 5000, age: float = 0.0) -> dict:
        """An INTERACTION_CREATE for a submitted form: one text input inside a label."""
        data = _base(uid, age, 5)
        text_input = {"type": 4, "id": 2, "custom_id": "text", "value": value}
        data["data"] = {
            "custom_id": custom_id,
            "components": [{"type": 18, "id": 1, "component": text_input}],
        }
        return data

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Push a gateway DISPATCH (op 0) to the bot."""
        assert self.ws is not None, "the bot is not connected"
        self.seq += 1
        await self.ws.send_json({"op": 0, "t": event, "s": self.seq, "d": data})

    async def react(self, uid: int, message_id: int, emoji: str) -> None:
        users = self.reactions.setdefault(message_id, {}).setdefault(emoji, [])
        if uid not in users:
            users.append(uid)
        event = self._reaction_event(uid, message_id, emoji)
        await self.dispatch("MESSAGE_REACTION_ADD", event | {"member": member(uid)})

    async def unreact(self, uid: int, message_id: int, emoji: str) -> None:
        users = self.reactions.get(message_id, {}).get(emoji, [])
        if uid in users:
            users.remove(uid)
        event = self._reaction_event(uid, message_id, emoji)
        del event["message_author_id"]  # Discord sends it with additions only
        await self.dispatch("MESSAGE_REACTION_REMOVE", event)

    def _reaction_event(self, uid: int, message_id: int, emoji: str) -> dict[str, Any]:
        message = self.messages.get(message_id)
        return {
            "user_id": str(uid),
            "channel_id": message["channel_id"] if message else str(CHAN),
            "message_id": str(message_id),
            "guild_id": str(GUILD),
            "emoji": {"id": None, "name": emoji},
            # An unknown message: one of the bot's, since deleted.
            "message_author_id": message["author"]["id"] if message else str(APP),
            "burst": False,
            "type": 0,
        }

    # Gateway

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.ws = ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}})  # HELLO
        async for msg in ws:
            op = msg.json()["op"]
            if op == 1:  # HEARTBEAT -> ACK
                await ws.send_json({"op": 11})
            elif op == 2:  # IDENTIFY
                await self.dispatch("READY", self._ready())
                await self.dispatch("GUILD_CREATE", self._guild())
        return ws

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": user(APP, bot=True),
            "session_id": "s1",
            "resume_gateway_url": self.base + "/gateway",
            "guilds": [{"id": str(GUILD), "unavailable": True}],
            "application": {"id": str(APP), "flags": 0},
        }

    def _guild(self) -> dict[str, Any]:
        role = {"permissions": "0", "position": 0, "color": 0, "hoist": False}
        role |= {"managed": False, "mentionable": False}
        return {
            "id": str(GUILD),
            "name": "g",
            "owner_id": "1",
            "roles": [
                role | {"id": str(GUILD), "name": "@everyone"},
                role | {"id": str(ADMIN_ROLE), "name": "diagram admins", "position": 1},
            ],
            "channels": [{"id": str(CHAN), "type": 0, "name": "diagrams", "position": 0}],
        }

    # REST

    async def rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        call: dict[str, Any] = {
            "method": request.method,
            "path": path,
            "query": dict(request.query),
            "auth": request.headers.get("Authorization"),
            "t": time.monotonic(),
        }
        if request.content_type.startswith("multipart/"):
            parts = [(p.name, p.filename, await p.read()) async for p in await request.multipart()]
            call["parts"] = parts
            call["json"] = json.loads(next(d for n, _, d in parts if n == "payload_json"))
        elif request.can_read_body:
            call["json"] = await request.json()
        self.calls.append(call)
        key = f"{request.method} /{path.split('/')[1]}"
        if (delay := self.rate_limit.pop(key, None)) is not None:
            response = jr(
                {"message": "You are being rate limited.", "retry_after": delay, "global": False},
                429,
                headers={"Via": "1.1 google", "Retry-After": str(delay)},
            )
        elif key in self.forbid:
            response = error(403, MISSING_PERMISSIONS, "Missing Permissions")
        else:
            response = self._route(request.method, path, call)
        call["status"] = response.status
        return response

    def _route(self, method: str, path: str, call: dict[str, Any]) -> web.Response:
        seg = path.split("/")[1:]
        body = call.get("json") or {}
        unauthenticated = seg[0] in ("webhooks", "interactions")  # the token is in the path
        if self.token is not None and not unauthenticated and call["auth"] != f"Bot {self.token}":
            return error(401, 0, "401: Unauthorized")
        if path == "/users/@me":
            return jr(user(APP, bot=True))
        if path == "/oauth2/applications/@me":
            return jr(
                {
                    "id": str(APP),
                    "name": "bot",
                    "description": "",
                    "icon": None,
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "owner": user(1),
                    "verify_key": "0",
                }
            )
        if seg[0] == "applications":  # tree.sync(), global or per guild
            return jr(
                [
                    c | {"id": str(9000 + i), "application_id": str(APP), "version": "1"}
                    for i, c in enumerate(body)
                ]
            )
        if seg[0] == "interactions":
            return self._callback(seg[1], seg[2], body, call)
        if seg[0] == "webhooks":
            return self._webhook(method, seg[2], seg[3:], body, call)
        if path == "/users/@me/channels":
            return jr(
                {"id": str(DM_CHAN), "type": 1, "recipients": [user(int(body["recipient_id"]))]}
            )
        if seg[0] == "channels":
            return self._channel(method, int(seg[1]), seg[2:], body, call)
        return error(404, 0, "404: Not Found")

    def _callback(self, iid: str, token: str, body: dict, call: dict) -> web.Response:
        if self.age(iid) > 3:
            return error(404, UNKNOWN_INTERACTION, "Unknown interaction")
        if iid in self.acked:
            return error(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        data = body.get("data") or {}
        message = None
        if body["type"] in (4, 5):  # a message, or "thinking..." to be edited later
            message = self._store(CHAN, call, data.get("content", ""), data.get("flags", 0))
        if body["type"] == 9:  # a form
            self.modals[iid] = data
        self.acked[iid] = None if message is None else int(message["id"])
        return jr(
            {
                "interaction": {
                    "id": iid,
                    "type": 2,
                    "response_message_id": message and message["id"],
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                }
            }
        )

    def _webhook(self, method: str, token: str, rest: list[str], body: dict, call: dict):
        iid = token.removeprefix("tok")
        if self.age(iid) > 15 * 60:
            return error(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if iid not in self.acked:  # no acknowledgement, no webhook
            return error(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if method == "POST" and not rest:  # follow-up
            message = self._store(CHAN, call, body.get("content", ""), body.get("flags", 0))
            return jr(message | {"webhook_id": str(APP)})
        if method == "PATCH" and rest == ["messages", "@original"]:
            original = self.messages[self.acked[iid] or 0]
            original["content"] = body.get("content", original["content"])
            return jr(original)
        return error(404, 0, "404: Not Found")

    def _channel(self, method: str, channel: int, rest: list[str], body: dict, call: dict):
        if method == "POST" and rest == ["messages"]:
            return jr(self._store(channel, call, body.get("content", ""), body.get("flags", 0)))
        message_id = int(rest[1])
        if message_id not in self.messages:
            return error(404, UNKNOWN_MESSAGE, "Unknown Message")
        if method == "GET" and len(rest) == 2:
            return jr(self._with_reactions(self.messages[message_id]))
        emoji = rest[3]
        users = self.reactions.setdefault(message_id, {}).setdefault(emoji, [])
        if method == "PUT" and rest[4:] == ["@me"]:
            if APP not in users:
                users.append(APP)
            return web.Response(status=204)
        if method == "GET" and len(rest) == 4:  # who reacted with this emoji
            after = int(call["query"].get("after", 0))
            limit = int(call["query"].get("limit", 25))
            return jr([user(u, bot=u == APP) for u in sorted(users) if u > after][:limit])
        return error(404, 0, "404: Not Found")

    def _store(self, channel: int, call: dict, content: str, flags: int) -> dict[str, Any]:
        message_id = discord.utils.time_snowflake(discord.utils.utcnow()) + next(self.ids)
        files = [(n, f) for n, f, _ in call.get("parts", []) if n != "payload_json"]
        body = call.get("json") or {}
        components = body.get("components", (body.get("data") or {}).get("components", []))
        message = {
            "id": str(message_id),
            "channel_id": str(channel),
            "type": 0,
            "content": content,
            "author": user(APP, bot=True),
            "attachments": [
                {"id": str(i), "filename": f, "size": 1, "url": "http://x", "proxy_url": "http://x"}
                for i, (_, f) in enumerate(files)
            ],
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "flags": flags,
            "components": components or [],
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
        }
        self.messages[message_id] = message
        return message

    def _with_reactions(self, message: dict[str, Any]) -> dict[str, Any]:
        reactions = [
            {
                "emoji": {"id": None, "name": emoji},
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": APP in users,
                "me_burst": False,
                "burst_colors": [],
            }
            for emoji, users in self.reactions.get(int(message["id"]), {}).items()
            if users
        ]
        return message | {"reactions": reactions}


def interaction(
    name: str,
    perms: str = "0",
    uid: int = 5000,
    age: float = 0.0,
    roles: tuple[int, ...] = (),
    sub: str | None = None,
    **opts: Any,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for an app command; `sub` names a subcommand of a group; an
    option whose value is an `upload(...)` is an attachment option."""
    files = {v["id"]: v for v in opts.values() if isinstance(v, dict)}
    options = [
        {"name": k, "type": 11, "value": v["id"]}
        if isinstance(v, dict)
        else {"name": k, "type": _option_type(v), "value": v}
        for k, v in opts.items()
    ]
    if sub is not None:
        options = [{"name": sub, "type": 1, "options": options}]
    data = _base(uid, age, 2, perms, roles)
    data["data"] = {"id": "9000", "name": name, "type": 1, "options": options}
    if files:
        data["data"]["resolved"] = {"attachments": files}
    return data


_SEQUENCE = itertools.count()


def _base(
    uid: int, age: float, kind: int, perms: str = "0", roles: tuple[int, ...] = ()
) -> dict[str, Any]:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age)
    iid = discord.utils.time_snowflake(created) + next(_SEQUENCE) % 4096  # unique in one ms
    return {
        "id": str(iid),
        "application_id": str(APP),
        "type": kind,
        "token": f"tok{iid}",
        "version": 1,
        "guild_id": str(GUILD),
        "channel_id": str(CHAN),
        "channel": {"id": str(CHAN), "type": 0},
        "member": member(uid, perms, roles),
        "app_permissions": "0",
        "locale": "en-US",
        "attachment_size_limit": 8 << 20,
    }


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    return 4 if isinstance(value, int) else 3


async def until(pred: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.005)
