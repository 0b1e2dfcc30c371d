"""Trainers' workshop packs: an ordered agenda of resources with the trainer's notes."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.models.base import Base, utcnow
from kb.models.resources import Resource
from kb.models.users import User, _enum
from kb.models.vocab import Commune


class WorkshopVisibility(str, enum.Enum):
    PRIVATE = "private"  # owner and editors
    MEMBERS = "members"  # signed-in users
    PUBLIC = "public"  # anyone with the link


class Workshop(Base):
    __tablename__ = "workshops"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    date: Mapped[date | None]
    location: Mapped[str] = mapped_column(String(300), default="")
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("communes.code"))
    audience: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    visibility: Mapped[WorkshopVisibility] = mapped_column(
        _enum(WorkshopVisibility, "workshop_visibility"), default=WorkshopVisibility.PRIVATE)
    share_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()
    commune: Mapped[Commune | None] = relationship()
    items: Mapped[list[WorkshopItem]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", order_by="WorkshopItem.position")


class WorkshopItem(Base):
    """One resource in a workshop's agenda: each resource at most once per workshop (the unique
    index), at a position from 1 that the services renumber with the workshop's row locked."""

    __tablename__ = "workshop_items"
    __table_args__ = (Index("uq_workshop_items_workshop_id_resource_id", "workshop_id",
                            "resource_id", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    session: Mapped[str] = mapped_column(String(200), default="")  # agenda session heading
    start_time: Mapped[str] = mapped_column(String(5), default="")  # "HH:MM"
    duration_minutes: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")

    workshop: Mapped[Workshop] = relationship(back_populates="items")
    resource: Mapped[Resource] = relationship()
