"""The diagrams table: every candidate of every answered request, shown or not.

Candidates that were not shown are kept too: an invalid or unreadable candidate next to a
good one of the same request is a preference pair for ORPO.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from engine.store.db import Database


@dataclass(frozen=True)
class NewDiagram:
    id: str
    position: int  # 0 = best of all candidates
    rank: int | None  # 1..top when shown to the user
    text: str
    node_list: str | None
    valid: bool
    natural_stop: bool | None
    image: str | None  # content hash from ImageStore.save
    embedding: bytes | None  # float32 little-endian
    readability: float | None = None
    cnn_readability: float | None = None
    expected_rating: float | None = None
    confidence: float | None = None
    fidelity: float | None = None
    fidelity_exact: bool | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answered:
    """What the request row learns when its answer is stored."""

    prompt: str
    spec: dict[str, Any] | None
    model_version: str
    timings: dict[str, float]


class Diagrams:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_answer(
        self, request_id: str, answered: Answered, diagrams: list[NewDiagram]
    ) -> None:
        """Insert the candidates and close the request, in one transaction."""
        now = time.time()
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO diagrams (id, request_id, position, rank, text, node_list, valid,"
                " natural_stop, image, embedding, readability, cnn_readability, expected_rating,"
                " confidence, fidelity, fidelity_exact, problems, model_version, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.id, request_id, d.position, d.rank, d.text, d.node_list, d.valid,
                        d.natural_stop, d.image, d.embedding, d.readability, d.cnn_readability,
                        d.expected_rating, d.confidence, d.fidelity, d.fidelity_exact,
                        json.dumps(d.problems), answered.model_version, now,
                    )
                    for d in diagrams
                ],
            )  # fmt: skip
            await conn.execute(
                "UPDATE requests SET status = 'done', prompt = ?, spec = ?, model_version = ?,"
                " timings = ?, finished = ?, latency_ms = (? - created) * 1000 WHERE id = ?",
                (
                    answered.prompt,
                    None if answered.spec is None else json.dumps(answered.spec),
                    answered.model_version,
                    json.dumps(answered.timings),
                    now,
                    now,
                    request_id,
                ),
            )

    async def get(self, diagram_id: str) -> sqlite3.Row | None:
        """The diagram with its request's user and description."""
        return await self.db.fetchone(
            "SELECT d.*, r.user_id, r.description FROM diagrams d"
            " JOIN requests r ON r.id = d.request_id WHERE d.id = ?",
            (diagram_id,),
        )

    async def image(self, diagram_id: str) -> str | None:
        return await self.db.scalar("SELECT image FROM diagrams WHERE id = ?", (diagram_id,))

    async def count(self, since: float = 0.0, shown_only: bool = False) -> int:
        """Diagrams stored after `since`; shown_only: those with a picture."""
        sql = "SELECT COUNT(*) FROM diagrams WHERE created > ?"
        sql += " AND image IS NOT NULL" if shown_only else ""
        return int(await self.db.scalar(sql, (since,)))

    async def history(self, user_id: str) -> list[tuple[bytes, int, float | None]]:
        """(embedding, score, CNN readability) of every diagram the user rated that has an
        embedding, oldest rating first."""
        rows = await self.db.fetchall(
            "SELECT d.embedding, r.score, d.cnn_readability FROM ratings r"
            " JOIN diagrams d ON d.id = r.diagram_id"
            " WHERE r.user_id = ? AND d.embedding IS NOT NULL ORDER BY r.updated",
            (user_id,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def ratings_by_user(self) -> list[sqlite3.Row]:
        """Every rating of a diagram with an embedding, by user and oldest first: user_id,
        embedding, score, cnn_readability, and shown_expected, the expected rating the
        diagram was shown with when the rater is the one who asked (NULL otherwise)."""
        return await self.db.fetchall(
            "SELECT r.user_id, d.embedding, r.score, d.cnn_readability,"
            " CASE WHEN q.user_id = r.user_id THEN d.expected_rating END AS shown_expected"
            " FROM ratings r JOIN diagrams d ON d.id = r.diagram_id"
            " JOIN requests q ON q.id = d.request_id"
            " WHERE d.embedding IS NOT NULL ORDER BY r.user_id, r.updated"
        )

    async def images(
        self,
        *,
        rated_only: bool,
        missing_embedding: bool,
        since: float | None = None,
        size: int | None = None,
    ) -> list[tuple[str, str, str | None]]:
        """(diagram id, image hash, node list) of rendered diagrams, oldest first, to
        (re-)embed. missing_embedding: those with none, or (given `size`, float32 values) with
        one of another size, from an older embedder; since: only those stored after then."""
        sql = "SELECT d.id, d.image, d.node_list FROM diagrams d WHERE d.image IS NOT NULL"
        params: tuple[float, ...] = ()
        if rated_only:
            sql += " AND EXISTS (SELECT 1 FROM ratings r WHERE r.diagram_id = d.id)"
        if missing_embedding and size is None:
            sql += " AND d.embedding IS NULL"
        elif missing_embedding:
            sql += " AND (d.embedding IS NULL OR length(d.embedding) != ?)"
            params += (4 * size,)
        if since is not None:
            sql += " AND d.created > ?"
            params += (since,)
        rows = await self.db.fetchall(sql + " ORDER BY d.created, d.position", params)
        return [(r[0], r[1], r[2]) for r in rows]

    async def set_embeddings(self, embeddings: list[tuple[str, bytes]]) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE diagrams SET embedding = ? WHERE id = ?",
                [(blob, diagram_id) for diagram_id, blob in embeddings],
            )

    async def replace_embeddings(self, embeddings: list[tuple[str, bytes]]) -> None:
        """After a switch of auto-encoder: these embeddings, and none for every other diagram
        (from the old one), in one transaction, so no row mixes the two."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE diagrams SET embedding = NULL")
            await conn.executemany(
                "UPDATE diagrams SET embedding = ? WHERE id = ?",
                [(blob, diagram_id) for diagram_id, blob in embeddings],
            )
