"""Builds a vendor adapter for one business area from `BackOfficeSettings`.

The systems' clients are shared between the areas one system serves (Oracle HCM for people
and absence share one client, breaker and identity map), once per helpdesk database.
"""

from __future__ import annotations

import threading
from typing import Any

from bot.config import BackOfficeSettings, ConfigurationError
from bot.storage.database import Database

from .http import ClientCredentials, JsonApi, SamlBearer

_lock = threading.Lock()
_systems: dict[tuple[int, str], Any] = {}


def _require(config: BackOfficeSettings, *names: str) -> None:
    missing = [n.upper() for n in names if not getattr(config, n)]
    if missing:
        raise ConfigurationError(f"the back office needs {', '.join(missing)}")


def _system(db: Database, config: BackOfficeSettings, name: str) -> Any:
    with _lock:
        key = (id(db), name)
        if key in _systems:
            return _systems[key]
        limits = dict(attempt_limit=config.attempt_timeout_seconds,
                      write_limit=max(config.attempt_timeout_seconds, 2.0))
        if name == "oracle_hcm":
            from .oracle_hcm import OracleHcm

            _require(config, "oracle_hcm_url", "oracle_hcm_token_url", "oracle_hcm_client_id",
                     "oracle_hcm_client_secret")
            tokens = ClientCredentials(config.oracle_hcm_token_url, config.oracle_hcm_client_id,
                                       config.oracle_hcm_client_secret, config.oracle_hcm_scope)
            system: Any = OracleHcm(db, JsonApi("the HR system", config.oracle_hcm_url, tokens, **limits))
        elif name == "successfactors":
            from .successfactors import SuccessFactors

            _require(config, "sf_api_url", "sf_company_id", "sf_client_id", "sf_user_id",
                     "sf_private_key")
            tokens = SamlBearer(config.sf_api_url, config.sf_company_id, config.sf_client_id,
                                config.sf_user_id, config.sf_private_key)
            system = SuccessFactors(db, JsonApi("the HR system", config.sf_api_url, tokens, **limits))
        elif name == "oracle_erp":
            from .oracle_erp import OracleErp

            _require(config, "oracle_erp_url", "oracle_erp_token_url", "oracle_erp_client_id",
                     "oracle_erp_client_secret")
            tokens = ClientCredentials(config.oracle_erp_token_url, config.oracle_erp_client_id,
                                       config.oracle_erp_client_secret, config.oracle_erp_scope)
            system = OracleErp(db, JsonApi("the finance system", config.oracle_erp_url, tokens,
                                           **limits))
        else:
            raise ConfigurationError(f"unknown back-office adapter {name!r}")
        _systems[key] = system
        return system


def adapter_for(db: Database, config: BackOfficeSettings, name: str, area: str) -> Any:
    system = _system(db, config, name)
    return system.adapter(area)


def forget_systems() -> None:
    """Drop the built clients (tests that point the same database at another fake)."""
    with _lock:
        for system in _systems.values():
            system.api.close()
        _systems.clear()
