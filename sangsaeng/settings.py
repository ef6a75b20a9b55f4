"""Process settings from the environment (INTERFACES §3) — built lazily, never at import time."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from sangsaeng.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
MISPARSED_URL = "(database URL: write a '@' in the password as %40)"
_PLACEHOLDER_REFUSED = {
    "smtp_password": "SANGSAENG_SMTP_PASSWORD is a placeholder; set the real secret",
    "signing_key_passphrase": "예시용 값입니다: 서명 키의 실제 암호를 넣으세요"}
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "password", "secret", "xxx"}


class Settings(BaseSettings):
    """Everything configurable per process; secrets only from the environment."""

    model_config = SettingsConfigDict(env_prefix="SANGSAENG_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="where generated files go")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under var")
    config_dir: Path = Field(default=REPO_ROOT / "config", description="program.toml and rounds/")
    templates_dir: Path = Field(default=REPO_ROOT / "templates", description="Jinja2 templates")
    smtp_host: str | None = Field(default=None, description="SMTP server; none = embedded")
    mail_embedded: Literal["files", "smtp"] = Field(
        default="files", description="with no SMTP host: write var/mail/*.eml directly (files) "
                                     "or through an embedded SMTP server on loopback (smtp)")
    smtp_port: int | None = Field(default=None, ge=1, le=65535, description="default 25/587/465")
    smtp_tls: Literal["none", "starttls", "ssl"] | None = Field(
        default=None, description="none on loopback, else starttls")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_block: str | None = Field(
        default=None, description="name of a Prefect Secret block holding the SMTP password")
    smtp_connections: int = Field(default=4, ge=1, le=32, description="persistent connections")
    smtp_rate: float = Field(default=0, ge=0, description="messages per second; 0 = no limit")
    smtp_timeout: float = Field(default=30, gt=0, description="seconds per SMTP command")
    mail_from: str | None = Field(default=None, description="'Name <address>' or an address")
    mail_lease_seconds: int = Field(default=300, ge=1, description="a claimed row's lease")
    mail_backoff: str = Field(default="60,300,1800,7200",
                              description="seconds before retry 1, 2, 3, … after a 4xx")
    mail_give_up_hours: float = Field(default=48, gt=0, description="then a 4xx row fails")
    unsubscribe_url: str | None = Field(
        default=None, description="https base URL for List-Unsubscribe (token appended)")
    exports_port: int = Field(
        default=4201, ge=0, le=65535,
        description="port of the exports' HTTP server that `serve` starts on 127.0.0.1 "
                    "(0 = any free port)")
    exports_url: str | None = Field(
        default=None, description="base URL of `<var>/exports/` in the status artifact's links; "
                                  "default http://127.0.0.1:<exports_port>")
    upload_max_mb: float = Field(
        default=20, gt=0, le=1024,
        description="largest upload on `serve`'s upload page (/upload), in MB (2^20 bytes)")
    upload_unpacked_max_mb: float = Field(
        default=200, gt=0, le=10240,
        description="most a ZIP upload (or a workbook) may hold unpacked, in MB")
    public_port: int = Field(
        default=4202, ge=0, le=65535,
        description="port of the public verification app (`serve`, `verify-site`); 0: any free")
    public_rate_per_minute: int = Field(
        default=120, ge=0, le=1_000_000,
        description="requests a client may make to the public app per minute (bursts up to "
                    "as many); over it a 429; 0: no limit (behind a proxy that limits)")
    verify_url: str | None = Field(
        default=None, description="base of the verification address printed as a QR code on "
                                  "certificates (number appended): the public app's address "
                                  "as buyers reach it; default http://127.0.0.1:<public_port>"
                                  "/certificates/ (this machine only)")
    allow_local_verify_url: bool = Field(
        default=False, description="a served installation (a work pool's workers) issues "
                                   "certificates even when SANGSAENG_VERIFY_URL is a loopback "
                                   "or private address (an office network only)")
    signing_key: Path | None = Field(
        default=None, description="PEM file of the office's private key that signs every "
                                  "certificate PDF (PAdES); none: a demo pair under "
                                  "<var>/signing/demo/")
    signing_cert: Path | None = Field(
        default=None, description="PEM file of the certificate of SANGSAENG_SIGNING_KEY (the "
                                  "signer a PDF reader shows)")
    signing_key_passphrase: SecretStr | None = Field(
        default=None, description="passphrase of an encrypted SANGSAENG_SIGNING_KEY "
                                  "(environment only)")

    @field_validator("smtp_password", "signing_key_passphrase")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None, info: ValidationInfo
                        ) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError(_PLACEHOLDER_REFUSED[str(info.field_name)])
        return value

    @model_validator(mode="after")
    def _key_with_its_certificate(self) -> Settings:
        if (self.signing_key is None) != (self.signing_cert is None):
            raise ValueError("SANGSAENG_SIGNING_KEY와 SANGSAENG_SIGNING_CERT는 함께 설정합니다 "
                             "(둘 다 없으면 시연용 서명 키를 씁니다)")
        return self

    @field_validator("mail_backoff")
    @classmethod
    def _backoff_list(cls, value: str) -> str:
        steps = [part.strip() for part in value.split(",")]
        if not steps or not all(part.isdigit() and int(part) > 0 for part in steps):
            raise ValueError("expected seconds as positive whole numbers, e.g. 60,300,1800,7200")
        return value

    @field_validator("exports_url", "verify_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, e.g. http://127.0.0.1:4201")
        return value

    @property
    def exports_dir(self) -> Path:
        """Where each round's exports are written (`<var>/exports/<round>/`) and served from."""
        return self.var_dir / "exports"

    @property
    def exports_base_url(self) -> str:
        """The URL of `exports_dir` in links (no trailing slash)."""
        return (self.exports_url or f"http://127.0.0.1:{self.exports_port}").rstrip("/")

    def verification_address(self, number: str) -> str:
        """INTERFACES §6: where a certificate is verified (its QR code): SANGSAENG_VERIFY_URL,
        else the public app on this machine (`/certificates/`), plus the number."""
        return f"{self.verify_base.rstrip('/')}/{number}"

    @property
    def verify_base(self) -> str:
        """SANGSAENG_VERIFY_URL, else the public app's `/certificates/` on this machine."""
        return self.verify_url or f"http://127.0.0.1:{self.public_port}/certificates/"

    def verify_url_reach(self) -> str | None:
        """Where alone the QR's address opens: "이 컴퓨터" for a loopback host (`localhost`
        too), "내부망" for a private or link-local IP; None for any other host (not resolved)."""
        host = (urlsplit(self.verify_base).hostname or "").rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            return "이 컴퓨터"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        if address.is_loopback or address.is_unspecified:
            return "이 컴퓨터"
        return "내부망" if address.is_private or address.is_link_local else None

    @property
    def signing_dir(self) -> Path:
        """Where the demo signing pair is made on first use (`<var>/signing/`)."""
        return self.var_dir / "signing"

    @property
    def mail_dir(self) -> Path:
        """Where the embedded delivery stores each message as an `.eml` file (`<var>/mail/`)."""
        return self.var_dir / "mail"

    @property
    def inbox_dir(self) -> Path:
        """Where uploaded files are kept: `<var>/inbox/<round>/<time>-<kind>/`."""
        return self.var_dir / "inbox"

    @property
    def certificates_dir(self) -> Path:
        """INTERFACES §5: `<var>/certificates/<round>/<number>-v<version>.pdf`."""
        return self.var_dir / "certificates"

    @property
    def backoff_seconds(self) -> tuple[int, ...]:
        """Delays before the 1st, 2nd, … retry after a temporary (4xx) failure."""
        return tuple(int(part) for part in self.mail_backoff.split(","))

    @property
    def redacted_database_url(self) -> str:
        """The database URL as it may be shown: no password, in the userinfo or the query."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.resolved_database_url)
        except ArgumentError:
            return "(unparseable database URL)"
        if url.host and "@" in url.host:
            return MISPARSED_URL
        url = url.difference_update_query(["password"])
        return url.render_as_string(hide_password=True)

    def scrub(self, text: str) -> str:
        """`text` without the database password (drivers may echo parts of the URL)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.resolved_database_url)
        except ArgumentError:
            return text
        secrets = [url.password, url.query.get("password")]
        for secret in secrets:
            if isinstance(secret, str) and secret:
                text = text.replace(secret, "***")
        return text

    @property
    def resolved_database_url(self) -> str:
        """The program database: SANGSAENG_DATABASE_URL or a SQLite file under the var dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'sangsaeng.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings (cached; tests call `get_settings.cache_clear()` after changing env)."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule between settings: its message names them
            raise ConfigError(str(first["msg"]).removeprefix("Value error, ")) from None
        name = "SANGSAENG_" + "_".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"environment variable {name}: {first['msg']}") from None
