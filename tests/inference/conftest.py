import pytest


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Every test gets its own user folders (models, cache, config)."""
    home = tmp_path / "home"
    monkeypatch.setenv("MICROCLIMATE_HOME", str(home))
    return home
