"""Data protection tables, on the shared declarative `Base` (one metadata, one Alembic history).

- `retention_runs`: what each run of the retention schedule deleted or anonymised (counts per
  store, never the data), when, started by whom (`python -m bot.cli retention --run`, or the
  ticket worker's daily schedule).
- `retention_marks`: how far the retention job has got through stores it works through in
  order (Rasa's tracker events: the last event id whose text it has redacted).
- `data_subject_requests`: subject access, rectification and erasure requests: who asked for
  whom, what was done, what was kept and under which exception, the export's digest.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, _enum, utcnow


class RetentionRun(Base):
    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                    index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_by: Mapped[str] = mapped_column(String(64))  # "cli", "worker"
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(16))  # "running", "done", "failed"
    report: Mapped[str] = mapped_column(Text, default="{}")  # JSON: store -> counts


class RetentionMark(Base):
    __tablename__ = "retention_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RequestKind(str, enum.Enum):
    ACCESS = "access"  # subject access (UK GDPR article 15)
    RECTIFICATION = "rectification"  # article 16
    ERASURE = "erasure"  # article 17


class DataSubjectRequest(Base):
    __tablename__ = "data_subject_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind, "data_subject_request_kind"))
    handled_by: Mapped[str] = mapped_column(String(64))  # console username or "cli"
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # JSON: what was exported, erased or corrected, and what was kept under which exception.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
