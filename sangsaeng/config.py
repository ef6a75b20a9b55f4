"""Program and round configuration (INTERFACES §1), validated into pydantic models."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sangsaeng.domain.clock import KST
from sangsaeng.errors import ConfigError

_ROUND_ID = re.compile(r"^\d{4}-\d+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgramInfo(_Model):
    name: str = Field(description="program name shown in notices and reports")
    ministry: str = Field(description="the ministry running the program")
    office_name: str = Field(description="program office (sender identity)")
    office_email: str = Field(description="program office address")
    office_phone: str = Field(description="program office phone")
    support_years: int = Field(ge=1, description="R1: default support period in years")


class CalendarConfig(_Model):
    extra_holidays: tuple[date, ...] = Field(default=(), description="T3: extra closed days")


class ScreeningConfig(_Model):
    supplement_business_days: int = Field(ge=1, description="S1: business days for supplements")
    startup_years: int = Field(ge=1, description="C4: startup horizon in years")
    required_application_documents: tuple[str, ...] = Field(description="§4.6 per application")
    required_lead_documents: tuple[str, ...] = Field(description="§4.6 per lead company")


class ReviewConfig(_Model):
    cutoff: Decimal = Field(ge=0, description="V7: minimum score")
    item_floor_ratio: Decimal = Field(ge=0, le=1, description="V7: per-criterion floor ratio")
    min_reviews: int = Field(ge=1, description="V4: valid reviews needed")
    trim_at: int = Field(ge=3, description="V5: trim high and low from this many reviews")
    conflict_years: int = Field(ge=0, description="V3: horizon of past affiliations")
    tie_break_criteria: tuple[str, ...] = Field(description="V8: tie-breaks after the score")


class ReviewOverrides(_Model):
    cutoff: Decimal | None = Field(default=None, ge=0, description="V7 override")
    item_floor_ratio: Decimal | None = Field(default=None, ge=0, le=1, description="V7 override")
    min_reviews: int | None = Field(default=None, ge=1, description="V4 override")
    trim_at: int | None = Field(default=None, ge=3, description="V5 override")


class CriterionConfig(_Model):
    key: str = Field(description="column name in scores.csv")
    name: str = Field(description="Korean name")
    max: Decimal = Field(gt=0, description="V1: maximum points")


class TrackConfig(_Model):
    code: str = Field(pattern=r"^[A-Z]{2}$", description="C6: certificate code")
    name: str = Field(description="Korean name")
    label: str = Field(description="short label used by the announcement")


class CertificatesConfig(_Model):
    issuer: str = Field(default="중소벤처기업부장관", min_length=1,
                        description="K4: the issuing authority printed on certificates")
    expiry_reminder_days: tuple[int, ...] = Field(
        default=(90, 30), min_length=1, description="K6 [A]: days before valid_to")


class SupportConfig(_Model):
    """After the selection (PROGRAM_RULES §8): the [A] values of the support programmes."""

    listing_reminder_days: int = Field(
        default=14, ge=1, description="M1b [A]: days in a listing step before a reminder, "
                                      "and between two reminders of the same step")
    listing_escalate_days: int = Field(
        default=60, ge=1, description="M1c [A]: days in a listing step before it is escalated")
    cost_cap_krw: int = Field(default=15_000_000, ge=1, description=(
        "M2 [N]: certification-cost support per value-track project, whole KRW"))


class PrivacyConfig(_Model):
    """개인정보 (issue 27, docs/privacy.md): how long each kind of personal data is kept (then
    destroyed by `privacy purge` and the daily dues run), and what the access log's monthly
    inspection flags."""

    access_log_years: int = Field(default=2, ge=1, description=(
        "[A] years the access log is kept (안전성 확보조치 기준: 1 year, 2 for 50,000 or more "
        "data subjects)"))
    large_download: int = Field(default=1000, ge=1, description=(
        "[A] data subjects in one download from which the inspection flags it"))
    many_rounds: int = Field(default=3, ge=2, description=(
        "[A] rounds whose data one operator downloads in a month from which it is flagged"))
    unselected_years: int = Field(default=3, ge=1, description=(
        "[A] years after a round closes that the personal data of its applications not "
        "selected (and of its reviewers, and its uploaded package) is kept"))
    selected_years: int = Field(default=5, ge=1, description=(
        "[A] years after a selected project's certificates end (expire or are cancelled) that "
        "its personal data is kept"))
    mail_months: int = Field(default=6, ge=1, description=(
        "[A] months after delivery (or its failure) that a notice's recipient, its body and "
        "its .eml file are kept"))


class ProgramConfig(_Model):
    program: ProgramInfo
    calendar: CalendarConfig
    screening: ScreeningConfig
    review: ReviewConfig
    criteria: tuple[CriterionConfig, ...] = Field(min_length=1, description="V1 default criteria")
    criteria_by_track: dict[str, tuple[CriterionConfig, ...]] = Field(default_factory=dict)
    tracks: dict[str, TrackConfig]
    certificates: CertificatesConfig = CertificatesConfig()
    support: SupportConfig = SupportConfig()
    privacy: PrivacyConfig = PrivacyConfig()

    def criteria_for(self, track: str) -> tuple[CriterionConfig, ...]:
        """V1: the criteria of a track, in order."""
        return self.criteria_by_track.get(track, self.criteria)


class RoundConfig(_Model):
    id: str = Field(description="R1: round id YYYY-N")
    title: str = Field(min_length=1, description="title of the call")
    opens_at: datetime = Field(description="opening instant (naive = KST)")
    closes_at: datetime = Field(description="closing instant (naive = KST); T2")
    tracks: tuple[str, ...] = Field(min_length=1, description="offered tracks")
    support_years: int | None = Field(default=None, ge=1, description="R1: support period")
    review: ReviewOverrides = Field(default_factory=ReviewOverrides)
    quota: dict[str, int] = Field(default_factory=dict, description="V9: per-track quotas")

    @field_validator("id")
    @classmethod
    def _round_id(cls, value: str) -> str:
        if not _ROUND_ID.match(value):
            raise ValueError("round id must look like YYYY-N, e.g. 2022-2")
        return value

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _kst(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=KST) if value.tzinfo is None else value  # T1

    @model_validator(mode="after")
    def _consistent(self) -> RoundConfig:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        unknown = sorted(set(self.quota) - set(self.tracks))
        if unknown:
            raise ValueError(f"quota for tracks the round does not offer: {', '.join(unknown)}")
        if any(q < 1 for q in self.quota.values()):
            raise ValueError("quotas must be at least 1")
        return self


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _explain(path: Path, exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(f"{path}: {where}: {first['msg']}{more}")


def load_program(config_dir: Path) -> ProgramConfig:
    """Read `program.toml` from the config folder."""
    path = config_dir / "program.toml"
    try:
        return ProgramConfig.model_validate(_read_toml(path))
    except ValidationError as exc:
        raise _explain(path, exc) from None


def load_round(path: Path, program: ProgramConfig) -> RoundConfig:
    """Read and validate a round file against the program's tracks."""
    try:
        config = RoundConfig.model_validate(_read_toml(path))
    except ValidationError as exc:
        raise _explain(path, exc) from None
    unknown = [t for t in config.tracks if t not in program.tracks]
    if unknown:
        raise ConfigError(f"{path}: tracks: unknown track(s) {', '.join(unknown)}")
    return config


def effective_review(program: ProgramConfig, config: RoundConfig) -> ReviewConfig:
    """R3: the review settings a round uses — program defaults with the round's overrides."""
    overrides = config.review.model_dump(exclude_none=True)
    return program.review.model_copy(update=overrides)
