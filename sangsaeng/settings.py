"""Process settings from the environment (INTERFACES §3) — built lazily, never at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "password", "secret", "xxx"}


class Settings(BaseSettings):
    """Everything configurable per process; secrets only from the environment."""

    model_config = SettingsConfigDict(env_prefix="SANGSAENG_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="where generated files go")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under var")
    config_dir: Path = Field(default=REPO_ROOT / "config", description="program.toml and rounds/")
    templates_dir: Path = Field(default=REPO_ROOT / "templates", description="Jinja2 templates")
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_tls: str | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str | None = None

    @field_validator("smtp_password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("SANGSAENG_SMTP_PASSWORD is a placeholder; set the real secret")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The program database: SANGSAENG_DATABASE_URL or a SQLite file under the var dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'sangsaeng.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings (cached; tests call `get_settings.cache_clear()` after changing env)."""
    return Settings()
