"""One settings class for StampLib, read from `STAMPLIB_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "stamplib-development-secret-do-not-use"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class UploadLimits(BaseModel):
    """Bounds on what an uploaded image may be, checked before any pixel is decoded."""

    max_bytes: int = Field(default=30 * 1024 * 1024, gt=0)
    max_pixels: int = Field(default=60_000_000, gt=0)
    max_side: int = Field(default=20_000, gt=0)
    max_bundle_bytes: int = Field(default=1024**3, gt=0)  # a bulk-ingestion ZIP


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STAMPLIB_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Environment = Environment.DEVELOPMENT
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    data_dir: Path = Path("data")
    database_url: str = ""
    storage_url: str = ""
    s3_endpoint: str = ""
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = False
    s3_region: str = ""
    model: str = "stamplib-stamp"
    model_weights: Path | None = None
    auto_migrate: bool = True
    page_size_max: int = Field(default=200, gt=0)
    query_retention_days: int = Field(default=30, ge=0)  # officers' photos, then deleted
    index_exact_up_to: int = Field(default=50_000, ge=0)  # beyond: approximate (IVF) search
    # specimens whose local features a search process keeps in memory (~0.22 MB each)
    features_kept: int = Field(default=20_000, ge=0)
    uploads: UploadLimits = UploadLimits()

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'stamplib.db'}"
        if not self.storage_url:
            self.storage_url = f"file://{(self.data_dir / 'objects').resolve()}"
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment is not Environment.DEVELOPMENT:
            secret = self.secret_key.get_secret_value()
            if secret == DEVELOPMENT_SECRET or len(secret) < 32:
                raise ValueError(
                    "STAMPLIB_SECRET_KEY must be set to a random value of at least 32 characters "
                    f"when STAMPLIB_ENVIRONMENT is {self.environment.value!r}"
                )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
