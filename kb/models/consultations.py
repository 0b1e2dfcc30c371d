"""Consultations on draft policies: the draft section by section, questions, members' responses,
endorsements, and what the group did with the compiled feedback."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.models.base import Base, utcnow
from kb.models.resources import Resource, Visibility
from kb.models.users import User, _enum
from kb.models.vocab import Organisation


class ConsultationState(str, enum.Enum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"
    SUBMITTED = "submitted"


class Participation(str, enum.Enum):
    MEMBERS = "members"  # every signed-in member
    ORGANISATIONS = "organisations"  # members of the organisations named


consultation_organisations = Table(
    "consultation_organisations", Base.metadata,
    Column("consultation_id", ForeignKey("consultations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), primary_key=True),
)


class Consultation(Base):
    __tablename__ = "consultations"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The draft. Deleting the draft keeps the consultation: its sections are a copy of the text.
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    title_km: Mapped[str] = mapped_column(String(300), default="")
    opens: Mapped[date]
    closes: Mapped[date]  # the deadline: responses are taken until the end of this day
    visibility: Mapped[Visibility] = mapped_column(
        _enum(Visibility, "visibility"), default=Visibility.MEMBERS)
    participation: Mapped[Participation] = mapped_column(
        _enum(Participation, "participation"), default=Participation.MEMBERS)
    # Members see each other's responses while the consultation is open (else only their own).
    responses_shared: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(8), default="en")  # the draft's language
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set by whichever process sends the notice first (a conditional UPDATE): never sent twice.
    opening_notice_at: Mapped[datetime | None]
    deadline_notice_at: Mapped[datetime | None]
    # The compiled submission and what happened to it.
    cover_note: Mapped[str] = mapped_column(Text, default="")
    feedback_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"))
    sent_to: Mapped[str] = mapped_column(String(500), default="")
    sent_on: Mapped[date | None]
    follow_up: Mapped[str] = mapped_column(Text, default="")
    government_response_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"))

    resource: Mapped[Resource | None] = relationship(foreign_keys=[resource_id])
    feedback_resource: Mapped[Resource | None] = relationship(
        foreign_keys=[feedback_resource_id])
    government_response: Mapped[Resource | None] = relationship(
        foreign_keys=[government_response_id])
    created_by: Mapped[User | None] = relationship()
    organisations: Mapped[list[Organisation]] = relationship(
        secondary=consultation_organisations, order_by="Organisation.short_name")
    questions: Mapped[list[ConsultationQuestion]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan",
        order_by="ConsultationQuestion.position")
    sections: Mapped[list[ConsultationSection]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan",
        order_by="ConsultationSection.position")
    responses: Mapped[list[ConsultationResponse]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan",
        order_by="ConsultationResponse.id")

    def title_in(self, locale: str | None) -> str:
        if str(locale or "").startswith("km") and self.title_km:
            return self.title_km
        return self.title

    def state_on(self, today: date) -> ConsultationState:
        """Submitted once the editor recorded sending it; otherwise by the dates."""
        if self.sent_on is not None:
            return ConsultationState.SUBMITTED
        if today < self.opens:
            return ConsultationState.UPCOMING
        if today <= self.closes:
            return ConsultationState.OPEN
        return ConsultationState.CLOSED


class ConsultationQuestion(Base):
    __tablename__ = "consultation_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)

    consultation: Mapped[Consultation] = relationship(back_populates="questions")


class ConsultationSection(Base):
    """One part of the draft (an article, a chapter, a numbered heading or a paragraph)."""

    __tablename__ = "consultation_sections"
    __table_args__ = (UniqueConstraint("consultation_id", "anchor"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    anchor: Mapped[str] = mapped_column(String(80))
    heading: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")

    consultation: Mapped[Consultation] = relationship(back_populates="sections")


class ConsultationResponse(Base):
    """A member's comment on the whole draft, on a question or on one section."""

    __tablename__ = "consultation_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_sections.id"), index=True)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_questions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Set when the response is made on behalf of the author's organisation.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    text: Mapped[str] = mapped_column(Text)
    proposed_wording: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Moderation: hidden with a reason, never deleted.
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str] = mapped_column(Text, default="")

    consultation: Mapped[Consultation] = relationship(back_populates="responses")
    section: Mapped[ConsultationSection | None] = relationship()
    question: Mapped[ConsultationQuestion | None] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id])
    organisation: Mapped[Organisation | None] = relationship()
    endorsements: Mapped[list[ResponseEndorsement]] = relationship(
        back_populates="response", cascade="all, delete-orphan",
        order_by="ResponseEndorsement.id")

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None


class ResponseEndorsement(Base):
    """"My organisation supports this": one per organisation and response."""

    __tablename__ = "response_endorsements"
    __table_args__ = (UniqueConstraint("response_id", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_responses.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    response: Mapped[ConsultationResponse] = relationship(back_populates="endorsements")
    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()
