"""Admin commands: /retrain [what], /jobs, /model list|promote|rollback, /stats.

Hidden from everyone without the Administrator permission (default_permissions; a server
can grant them to other roles in its Integrations settings) and checked again on every use:
the caller needs Administrator or the configured admin role (BOT_ADMIN_ROLE, a name or id).
A retrain job is watched until it ends, and its end announced to the admin who started it:
as a private follow-up while the command's token lives (15 minutes), by direct message after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.engine_client import EngineClient, EngineError
from bot.reply import expired

log = logging.getLogger(__name__)
ADMIN = discord.Permissions(administrator=True)
FINISHED = ("done", "failed")
T = TypeVar("T")
Retrainable = Literal["all", "embeddings", "profiles", "preferences", "orpo", "cnn"]


def is_admin(interaction: discord.Interaction, admin_role: str) -> bool:
    if interaction.guild is None:
        return False
    if interaction.permissions.administrator:
        return True
    roles = getattr(interaction.user, "roles", [])
    return bool(admin_role) and any(admin_role in (r.name, str(r.id)) for r in roles)


class AdminCog(commands.Cog):
    model = app_commands.Group(
        name="model",
        description="Model versions (admins)",
        default_permissions=ADMIN,
        guild_only=True,
    )

    def __init__(self, engine: EngineClient, admin_role: str, poll_s: float) -> None:
        self.engine = engine
        self.admin_role = admin_role
        self.poll_s = poll_s
        self.watchers: set[asyncio.Task[None]] = set()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return is_admin(interaction, self.admin_role)  # False -> CheckFailure -> "admins only"

    async def cog_unload(self) -> None:
        for task in self.watchers:
            task.cancel()
        await asyncio.gather(*self.watchers, return_exceptions=True)

    @app_commands.command(name="retrain", description="Rebuild models from the ratings (admins)")
    @app_commands.default_permissions(administrator=True)
    @app_commands.guild_only()
    @app_commands.describe(what="What to rebuild (default: all)")
    async def retrain(self, interaction: discord.Interaction, what: Retrainable = "all") -> None:
        async def start() -> str:
            job_id = await self.engine.retrain(what)
            log.info("job %s (%s) started by %s", job_id, what, interaction.user.id)
            task = asyncio.create_task(self._watch(interaction, job_id))
            self.watchers.add(task)
            task.add_done_callback(self.watchers.discard)
            return messages.job_started(job_id, what)

        await _answer(interaction, start)

    @app_commands.command(name="jobs", description="Recent training jobs (admins)")
    @app_commands.default_permissions(administrator=True)
    @app_commands.guild_only()
    async def jobs(self, interaction: discord.Interaction) -> None:
        await _answer(interaction, lambda: _rendered(self.engine.jobs(), messages.jobs))

    @app_commands.command(name="stats", description="What the engine is doing (admins)")
    @app_commands.default_permissions(administrator=True)
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        await _answer(interaction, lambda: _rendered(self.engine.stats(), messages.stats))

    @model.command(name="list", description="Model versions (admins)")
    async def model_list(self, interaction: discord.Interaction) -> None:
        await _answer(interaction, lambda: _rendered(self.engine.models(), messages.models))

    @model.command(name="promote", description="Serve a model version (admins)")
    @app_commands.describe(
        version="The version to serve", force="Serve it even if it failed the gate"
    )
    async def model_promote(
        self, interaction: discord.Interaction, version: str, force: bool = False
    ) -> None:
        async def promote() -> str:
            served = await self.engine.promote(version, force)
            log.info("model %s promoted by %s", version, interaction.user.id)
            return f"Now serving `{served.get('serving')}`."

        await _answer(interaction, promote)

    @model.command(name="rollback", description="Serve the previous model version (admins)")
    async def model_rollback(self, interaction: discord.Interaction) -> None:
        async def rollback() -> str:
            served = await self.engine.rollback()
            log.info("model rolled back by %s", interaction.user.id)
            return f"Rolled back: now serving `{served.get('serving')}`."

        await _answer(interaction, rollback)

    async def _watch(self, interaction: discord.Interaction, job_id: int) -> None:
        """Poll the job until it ends, then tell the admin who started it."""
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                job = await self.engine.job(job_id)
            except EngineError as e:
                if e.status == 404:
                    log.warning("job %s vanished from the engine", job_id)
                    return
                continue  # the engine is down or restarting: keep waiting
            if job.get("status") in FINISHED:
                break
        text = messages.job_finished(job)
        try:
            await interaction.followup.send(text, ephemeral=True)
            return
        except discord.HTTPException as e:
            if not expired(e):
                log.warning("job %s: follow-up failed: %s", job_id, e)
        try:
            await interaction.user.send(text)
        except discord.HTTPException as e:
            log.warning(
                "job %s ended but admin %s cannot be told: %s", job_id, interaction.user.id, e
            )


async def _answer(interaction: discord.Interaction, work: Callable[[], Awaitable[str]]) -> None:
    """Defer privately, run the engine call, show its result or its error."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        text = await work()
    except EngineError as e:
        name = interaction.command.qualified_name if interaction.command else "?"
        log.warning("admin /%s failed: status=%s %s", name, e.status, e.message)
        text = messages.admin_failed(e)
    await interaction.followup.send(text[:2000], ephemeral=True)


async def _rendered(call: Awaitable[T], render: Callable[[T], str]) -> str:
    return render(await call)
