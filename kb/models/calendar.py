"""The group's calendar: working-group meetings and expert presentations (workshops and
consultation deadlines come from their own tables), and members' personal feed keys."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.models.base import Base, utcnow
from kb.models.resources import Resource, Visibility
from kb.models.users import User, _enum
from kb.models.vocab import Organisation


class MeetingKind(str, enum.Enum):
    MEETING = "meeting"  # the monthly working-group meeting
    PRESENTATION = "presentation"  # an expert presentation


meeting_organisations = Table(
    "meeting_organisations", Base.metadata,
    Column("meeting_id", ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), primary_key=True),
)


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind, "meeting_kind"),
                                              default=MeetingKind.MEETING)
    title: Mapped[str] = mapped_column(String(300))
    title_km: Mapped[str] = mapped_column(String(300), default="")
    date: Mapped[date] = mapped_column(index=True)
    start_time: Mapped[str] = mapped_column(String(5), default="")  # "HH:MM", local time
    end_time: Mapped[str] = mapped_column(String(5), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    agenda: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised for display
    visibility: Mapped[Visibility] = mapped_column(
        _enum(Visibility, "visibility"), default=Visibility.MEMBERS)
    minutes_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    minutes: Mapped[Resource | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    organisations: Mapped[list[Organisation]] = relationship(
        secondary=meeting_organisations, order_by="Organisation.short_name")

    def title_in(self, locale: str | None) -> str:
        if str(locale or "").startswith("km") and self.title_km:
            return self.title_km
        return self.title


class CalendarFeed(Base):
    """A member's personal calendar feed. The link carries a signed (user, version) pair, so
    nothing secret is stored; a new link raises the version and the old one stops working."""

    __tablename__ = "calendar_feeds"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
