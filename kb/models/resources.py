"""Resources (the documents, presentations and practices the group keeps) and their files."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.models.base import Base, utcnow
from kb.models.users import User, _enum
from kb.models.vocab import Commune, District, Objective, Organisation, Province, ResourceKind


class Status(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class Visibility(str, enum.Enum):
    PUBLIC = "public"
    MEMBERS = "members"  # signed-in users only


class ExtractionState(str, enum.Enum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"


LANGUAGES = ("en", "km")

resource_objectives = Table(
    "resource_objectives", Base.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("objective_id", ForeignKey("objectives.id"), primary_key=True),
)

resource_tags = Table(
    "resource_tags", Base.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class Tag(Base):
    """A free keyword. Tags are matched without regard to case ("Water" is "WATER"): `name_key`
    is the name in that form (kb.services.rows.folded), unique, so the database refuses a second
    spelling even when two people create the tag at the same moment."""

    __tablename__ = "tags"
    __table_args__ = (Index("uq_tags_name_key", "name_key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Case folding may lengthen a name (ß -> ss), hence more room than the name has.
    name_key: Mapped[str] = mapped_column(String(300))


class ResourceLanguage(Base):
    __tablename__ = "resource_languages"
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)


class ResourceAuthor(Base):
    """An author or presenter, in the order the resource names them."""

    __tablename__ = "resource_authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (Index("ix_resources_status_visibility", "status", "visibility"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    # True while the title is only a guess from the file name; the file's own title replaces it.
    title_from_file: Mapped[bool] = mapped_column(default=False)
    alt_title: Mapped[str] = mapped_column(String(500), default="")  # the other language's title
    summary_source: Mapped[str] = mapped_column(Text, default="")  # as typed (Markdown or HTML)
    summary_html: Mapped[str] = mapped_column(Text, default="")  # sanitised, safe to render
    event: Mapped[str] = mapped_column(String(300), default="")  # where it was presented
    source_url: Mapped[str] = mapped_column(String(1000), default="")
    kind_id: Mapped[int] = mapped_column(ForeignKey("resource_kinds.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    date: Mapped[date | None]
    visibility: Mapped[Visibility] = mapped_column(
        _enum(Visibility, "visibility"), default=Visibility.PUBLIC)
    status: Mapped[Status] = mapped_column(_enum(Status, "resource_status"), default=Status.DRAFT)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("provinces.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"), index=True)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("communes.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]

    kind: Mapped[ResourceKind] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    owner: Mapped[User] = relationship()
    province: Mapped[Province | None] = relationship()
    district: Mapped[District | None] = relationship()
    commune: Mapped[Commune | None] = relationship()
    objectives: Mapped[list[Objective]] = relationship(
        secondary=resource_objectives, order_by="Objective.number")
    tags: Mapped[list[Tag]] = relationship(secondary=resource_tags, order_by="Tag.name")
    language_rows: Mapped[list[ResourceLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="ResourceLanguage.code")
    authors: Mapped[list[ResourceAuthor]] = relationship(
        cascade="all, delete-orphan", order_by="ResourceAuthor.position")
    files: Mapped[list[ResourceFile]] = relationship(
        back_populates="resource", cascade="all, delete-orphan",
        order_by="(ResourceFile.position, ResourceFile.version)")
    history: Mapped[list[ResourceEvent]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="ResourceEvent.at")

    @property
    def languages(self) -> list[str]:
        return [row.code for row in self.language_rows]

    @property
    def current_files(self) -> list[ResourceFile]:
        """The newest version of each attached file."""
        return [f for f in self.files if f.replaced_by_id is None]


class ResourceFile(Base):
    """A stored file. Bytes live in the content-addressed store under their sha256, and the
    database keeps each sha256 once (the unique index below): of two uploads of the same bytes
    at once, one is refused as a later one would be."""

    __tablename__ = "resource_files"
    __table_args__ = (
        # Rows stored twice before the index existed are kept, marked, and left out of it.
        Index("uq_resource_files_sha256", "sha256", unique=True,
              sqlite_where=text("NOT legacy_duplicate"),
              postgresql_where=text("NOT legacy_duplicate")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("resource_files.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(120))
    extraction_state: Mapped[ExtractionState] = mapped_column(
        _enum(ExtractionState, "extraction_state"), default=ExtractionState.PENDING)
    extraction_error: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")  # extracted, normalised text
    properties: Mapped[dict] = mapped_column(JSON, default=dict)  # title, author, date from the file
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # True for a copy of bytes another row holds, stored before the checksum was unique;
    # `kb check` lists them. New rows are never duplicates.
    legacy_duplicate: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Whether its first-page preview is in the file store, recorded when the file is read so
    # that pages never ask the store; None for files read before this was recorded.
    has_thumbnail: Mapped[bool | None] = mapped_column(default=False)

    resource: Mapped[Resource] = relationship(back_populates="files")


class ResourceEvent(Base):
    """One step of a resource's history: created, submitted, approved, rejected, published..."""

    __tablename__ = "resource_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")

    resource: Mapped[Resource] = relationship(back_populates="history")
    actor: Mapped[User | None] = relationship()
