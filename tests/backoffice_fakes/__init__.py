"""Local fakes of Oracle HCM Cloud, SAP SuccessFactors and Oracle Fusion ERP, served over HTTP
and seeded from a records demo database, and the adapter configurations that use them.

    with fake_systems(db, TODAY, "oracle") as running:
        office = running.office          # BackOffice built from BackOfficeSettings
        running.hcm.server.latency = 0.2  # faults per fake (see server.py)

Configurations: "sql" (no fakes), "oracle" (people, absence and payslips on Oracle HCM, the
rest of payroll on its SQL fallback, finance on Oracle ERP), "successfactors" (people and
absence on SuccessFactors, the rest SQL: its OData API has no payslips). `TEST_BACKOFFICE`
names the configuration that `records_database` plugs in for the tests that run "on each
adapter" (the access battery, the per-intent tests).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.backoffice.configure import build_from_settings
from bot.backoffice.ports import BackOffice
from bot.backoffice.registry import use_backoffice
from bot.backoffice.vendors import forget_systems
from bot.config import BackOfficeSettings, Settings
from bot.storage.database import Database

from . import oracle_erp, oracle_hcm, successfactors
from .organisation import export

CONFIGURATIONS = ("sql", "oracle", "successfactors")


@dataclass
class RunningFakes:
    office: BackOffice
    env: dict[str, str]
    hcm: Any = None
    sf: Any = None
    erp: Any = None
    all: list[Any] = field(default_factory=list)

    @property
    def hr(self) -> Any:
        """The fake serving people and absence in this configuration."""
        return self.hcm or self.sf


def environment(configuration: str, hcm: Any = None, sf: Any = None, erp: Any = None) -> dict[str, str]:
    """The BACKOFFICE_* variables that point the services at the fakes."""
    env: dict[str, str] = {}
    if hcm is not None:
        env.update(BACKOFFICE_PEOPLE="oracle_hcm", BACKOFFICE_ABSENCE="oracle_hcm",
                   BACKOFFICE_PAYROLL="oracle_hcm",
                   ORACLE_HCM_URL=hcm.server.url,
                   ORACLE_HCM_TOKEN_URL=f"{hcm.server.url}/oauth2/v1/token",
                   ORACLE_HCM_CLIENT_ID=oracle_hcm.CLIENT_ID,
                   ORACLE_HCM_CLIENT_SECRET=oracle_hcm.CLIENT_SECRET,
                   ORACLE_HCM_SCOPE="urn:opc:resource:fa:instanceid=fake")
    if sf is not None:
        env.update(BACKOFFICE_PEOPLE="successfactors", BACKOFFICE_ABSENCE="successfactors",
                   SF_API_URL=sf.server.url, SF_COMPANY_ID=successfactors.COMPANY,
                   SF_CLIENT_ID=successfactors.CLIENT_ID, SF_USER_ID=successfactors.USER_ID,
                   SF_PRIVATE_KEY=successfactors.PRIVATE_KEY)
    if erp is not None:
        env.update(BACKOFFICE_FINANCE="oracle_erp", ORACLE_ERP_URL=erp.server.url,
                   ORACLE_ERP_TOKEN_URL=f"{erp.server.url}/oauth2/v1/token",
                   ORACLE_ERP_CLIENT_ID=oracle_erp.CLIENT_ID,
                   ORACLE_ERP_CLIENT_SECRET=oracle_erp.CLIENT_SECRET)
    return env


@contextmanager
def fake_systems(db: Database, today: dt.date, configuration: str) -> Iterator[RunningFakes]:
    """Start the fakes a configuration needs, seeded from `db`; build its BackOffice."""
    if configuration not in CONFIGURATIONS:
        raise ValueError(f"unknown back-office configuration {configuration!r}")
    organisation = export(db, today) if configuration != "sql" else None
    hcm = oracle_hcm.OracleHcmFake(organisation, today) if configuration == "oracle" else None  # type: ignore[arg-type]
    sf = successfactors.SuccessFactorsFake(organisation, today) if configuration == "successfactors" else None  # type: ignore[arg-type]
    erp = oracle_erp.OracleErpFake(organisation, today) if configuration == "oracle" else None  # type: ignore[arg-type]
    env = environment(configuration, hcm, sf, erp)
    settings = Settings(database_url=db.url, backoffice=BackOfficeSettings.from_env(env))
    running = RunningFakes(build_from_settings(db, settings), env, hcm, sf, erp,
                           [f for f in (hcm, sf, erp) if f is not None])
    try:
        yield running
    finally:
        forget_systems()
        for fake in running.all:
            fake.close()


@contextmanager
def plugged_in(db: Database, today: dt.date, configuration: str | None = None) -> Iterator[RunningFakes]:
    """`fake_systems`, with its BackOffice plugged in for every service (use_backoffice)."""
    chosen = configuration or os.environ.get("TEST_BACKOFFICE") or "sql"
    with fake_systems(db, today, chosen) as running:
        use_backoffice(lambda _db: running.office)
        try:
            yield running
        finally:
            use_backoffice(None)
