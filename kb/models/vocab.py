"""Controlled vocabularies, each with an English and a Khmer name."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.models.base import Base


class Bilingual:
    """A record named in English and Khmer; `name(locale)` picks the reader's language."""

    def name(self, locale: str | None = "en") -> str:
        if str(locale or "en").startswith("km") and self.name_km:
            return self.name_km
        return self.name_en or self.name_km


class Objective(Bilingual, Base):
    """One of the group's three objectives; `number` (1, 2, 3) is the public identifier."""

    __tablename__ = "objectives"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    name_en: Mapped[str] = mapped_column(String(500))
    name_km: Mapped[str] = mapped_column(String(500), default="")
    short_en: Mapped[str] = mapped_column(String(120), default="")
    short_km: Mapped[str] = mapped_column(String(120), default="")

    def short(self, locale: str | None = "en") -> str:
        if str(locale or "en").startswith("km") and self.short_km:
            return self.short_km
        return self.short_en or self.name(locale)


class ResourceKind(Bilingual, Base):
    __tablename__ = "resource_kinds"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_km: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)


class Organisation(Bilingual, Base):
    """A member organisation; `short_name` (e.g. "CARD") is what the API and import use."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    short_name: Mapped[str] = mapped_column(String(60), unique=True)
    name_en: Mapped[str] = mapped_column(String(300), default="")
    name_km: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, locale: str | None = "en") -> str:
        return super().name(locale) or self.short_name


class Province(Bilingual, Base):
    __tablename__ = "provinces"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_km: Mapped[str] = mapped_column(String(120))
    districts: Mapped[list[District]] = relationship(
        back_populates="province", order_by="District.code"
    )


class District(Bilingual, Base):
    __tablename__ = "districts"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_km: Mapped[str] = mapped_column(String(120))
    province: Mapped[Province] = relationship(back_populates="districts")
    communes: Mapped[list[Commune]] = relationship(
        back_populates="district", order_by="Commune.code"
    )


class Commune(Bilingual, Base):
    __tablename__ = "communes"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_km: Mapped[str] = mapped_column(String(120))
    district: Mapped[District] = relationship(back_populates="communes")

    @property
    def province(self) -> Province:
        return self.district.province


class GlossaryEntry(Bilingual, Base):
    """A term of the reform's vocabulary with its equivalents: a search for any of them finds
    documents that use any other (D&D finds "decentralisation and deconcentration", "commune
    council" finds ក្រុមប្រឹក្សាឃុំ). `variants` holds further spellings and abbreviations, one
    per line."""

    __tablename__ = "glossary_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200), unique=True)
    name_km: Mapped[str] = mapped_column(String(200), default="")
    variants: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")

    def expressions(self) -> list[str]:
        """Every way of saying this term, the English and Khmer names first."""
        found = [self.name_en, self.name_km] + self.variants.splitlines()
        seen, out = set(), []
        for expression in (e.strip() for e in found):
            if expression and expression.casefold() not in seen:
                seen.add(expression.casefold())
                out.append(expression)
        return out
