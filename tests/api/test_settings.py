from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import load_config, resolve_home
from resolver import ConfigError


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tether.toml"
    path.write_text(text)
    return path


def test_every_problem_is_reported_at_once(tmp_path):
    path = _config(
        tmp_path,
        '[sources.a]\nkind = "nope"\npath = "a.csv"\n'
        '[sources.b]\nkind = "customers"\n'
        "[linking]\nthreshold = 1.5\nmax_customer_ids = 0\ncolour = 1\n"
        'engine = "spark"\nconflict_guard = ["shoe_size"]\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = info.value.message
    for fragment in [
        "sources.a.kind",
        "sources.b.path",
        "linking.colour",
        "threshold",
        "max_customer_ids",
        "engine",
        "shoe_size",
    ]:
        assert fragment in message


def test_paths_are_relative_to_the_file_and_blocklist_is_normalised(tmp_path):
    path = _config(
        tmp_path,
        '[sources.crm]\nkind = "customers"\npath = "data/crm.csv"\n'
        '[sources.crm.columns]\nemail = "Mail"\n'
        '[linking]\nthreshold = 0.95\n[linking.blocklist]\nemail = [" No.Email+x@Gmail.com "]\n'
        'phone = ["07911 123456"]\n',
    )
    config = load_config(path)
    (source,) = config.sources
    assert source.path == tmp_path / "data" / "crm.csv"
    assert source.columns == {"email": "Mail"}
    assert config.linking.threshold == 0.95
    assert config.linking.blocklist == {
        "email": ("noemail@gmail.com",),
        "phone": ("+447911123456",),
    }


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="tether init"):
        load_config(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_config(tmp_path, "[sources\n"))


def test_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_home(None) == tmp_path / "env"
    monkeypatch.delenv("TETHER_HOME")
    assert resolve_home(None) == Path("tether-data")


def test_the_example_config_spells_out_the_default_consent_policy(tmp_path):
    from api.settings import EXAMPLE_CONFIG
    from consent.purposes import DEFAULT_POLICY

    path = tmp_path / "tether.toml"
    path.write_text(EXAMPLE_CONFIG)
    assert load_config(path).consent == DEFAULT_POLICY


def test_consent_problems_name_the_key(tmp_path):
    path = tmp_path / "tether.toml"
    path.write_text(
        '[sources.a]\nkind = "customers"\npath = "a.csv"\n[consent.defaults]\nad_targeting = 1\n'
    )
    with pytest.raises(ConfigError, match=r"consent\.defaults\.ad_targeting must be true or false"):
        load_config(path)
    path.write_text(
        '[sources.a]\nkind = "customers"\npath = "a.csv"\n[consent]\ngpc_purposes = ["ads"]\n'
    )
    with pytest.raises(ConfigError, match=r"consent\.gpc_purposes names unknown purpose"):
        load_config(path)
