from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.settings import Settings


def test_defaults_are_the_embedded_library_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'stamplib.db'}"
    assert settings.storage_url == f"file://{tmp_path / 'objects'}"


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="STAMPLIB_SECRET_KEY"):
        Settings(environment=environment)  # type: ignore[arg-type]


def test_environment_variables_configure_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAMPLIB_ENVIRONMENT", "production")
    monkeypatch.setenv("STAMPLIB_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("STAMPLIB_STORAGE_URL", "s3://specimens")
    monkeypatch.setenv("STAMPLIB_UPLOADS__MAX_BYTES", "1000")
    settings = Settings()
    assert settings.storage_url == "s3://specimens"
    assert settings.uploads.max_bytes == 1000
