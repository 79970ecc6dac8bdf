"""Airflow discovers the provider and accepts its metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema

from airflow_provider_instagram.account.extras import ACCOUNT_KEYS, AUTO_REFRESH
from airflow_provider_instagram.get_provider_info import RECORD_SECTION, WRITTEN_BY_PROVIDER, get_provider_info
from tests.support.trigger_form import required_in_form


def test_provider_info_passes_airflows_schema() -> None:
    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_connection_form_passes_the_provider_yaml_schema() -> None:
    """``conn-fields`` and ``ui-field-behaviour`` are checked against provider.yaml's own definitions."""
    yaml_schema = json.loads(resources.files("airflow").joinpath("provider.yaml.schema.json").read_text())
    connection_schema = yaml_schema["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], {**yaml_schema, **connection_schema})
    behaviour_schema = json.loads(
        resources.files("airflow").joinpath("customized_form_field_behaviours.schema.json").read_text()
    )
    for connection_type in get_provider_info()["connection-types"]:
        behaviour = connection_type["ui-field-behaviour"]
        jsonschema.validate(
            {"hidden_fields": behaviour["hidden-fields"], "relabeling": behaviour["relabeling"],
             "placeholders": behaviour["placeholders"]}, behaviour_schema,
        )  # fmt: skip


def test_each_form_labels_its_password_for_what_it_holds() -> None:
    """The account's password is its token; the app's is the app secret (the issue: one form said "token" for both)."""
    account, app = get_provider_info()["connection-types"]
    assert account["conn-fields"]["client_secret"]["schema"]["format"] == "password"
    assert "token" in account["ui-field-behaviour"]["relabeling"]["password"].lower()
    assert app["connection-type"] == "instagram_app"
    assert app["ui-field-behaviour"]["relabeling"]["password"] == "App secret"
    assert app["ui-field-behaviour"]["relabeling"]["login"] == "Instagram app id"
    assert "client_secret" not in app["conn-fields"] and "redirect_uri" in app["conn-fields"]


def test_the_account_form_labels_the_record_the_provider_writes() -> None:
    """Each key of the account's record gets a label, a description saying the provider writes it, and a section
    of its own, instead of an unlabeled box named after the raw key; the form never requires one."""
    account, app = get_provider_info()["connection-types"]
    fields = account["conn-fields"]
    assert set(ACCOUNT_KEYS) <= set(fields)
    for key in ACCOUNT_KEYS:
        field = fields[key]
        assert field["label"] and field["label"] != key
        assert field["description"].endswith(WRITTEN_BY_PROVIDER) and "do not edit" in field["description"]
        assert field["schema"]["section"] == RECORD_SECTION
        assert not required_in_form(field["schema"]), key
    assert fields[AUTO_REFRESH]["schema"] == {"type": ["boolean", "null"], "default": True}  # a human's switch
    assert "section" not in fields[AUTO_REFRESH]["schema"] and "do not edit" not in fields[AUTO_REFRESH]["description"]
    assert not set(ACCOUNT_KEYS) & set(app["conn-fields"]), "an app connection has no account record"


def _airflow_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def test_airflow_providers_list_shows_the_provider(tmp_path: Path) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "providers", "list", "-o", "json"], env=_airflow_env(tmp_path),
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    listed = json.loads(result.stdout[result.stdout.index("[") :])
    ours = [p for p in listed if p["package_name"] == "airflow-provider-instagram"]
    assert ours
    assert ours[0]["version"] == "0.1.0"


def test_providers_manager_registers_the_connection_form(tmp_path: Path) -> None:
    code = (
        "from airflow.providers_manager import ProvidersManager as P; import json; p = P();"
        "w = {k: v.field['schema'] for k, v in p.connection_form_widgets.items() if 'instagram' in k};"
        "s = {k: v.is_sensitive for k, v in p.connection_form_widgets.items() if 'instagram' in k};"
        "print(json.dumps({'hook': p.hooks['instagram'].hook_class_name if p.hooks.get('instagram') else None,"
        "'app_hook': p.hooks['instagram_app'].hook_class_name if p.hooks.get('instagram_app') else None,"
        "'widgets': w, 'sensitive': s, 'behaviour': p.field_behaviours.get('instagram')}))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=_airflow_env(tmp_path),
                            capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["hook"] == "airflow_provider_instagram.hooks.instagram.InstagramHook"
    assert info["widgets"]["extra__instagram__client_secret"]["title"] == "App secret"
    assert info["widgets"]["extra__instagram__expires_at"]["title"] == "Token expires at"
    assert info["widgets"]["extra__instagram__expires_at"]["section"] == "Account record (written by the provider)"
    assert "extra__instagram_app__expires_at" not in info["widgets"]
    assert info["sensitive"]["extra__instagram__client_secret"] is True
    assert "extra" in info["behaviour"]["hidden_fields"]
    assert info["app_hook"] == "airflow_provider_instagram.hooks.app.InstagramAppHook"
    assert info["widgets"]["extra__instagram_app__redirect_uri"]["title"] == "Redirect URI"


def test_the_provider_runtime_never_imports_the_emulator() -> None:
    code = (
        "import sys; import airflow_provider_instagram.hooks.instagram, airflow_provider_instagram.get_provider_info;"
        "print([m for m in sys.modules if m.startswith('airflow_provider_instagram.emulator')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_airflow_lists_the_plugin(tmp_path: Path) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "plugins", "-o", "json"], env=_airflow_env(tmp_path),
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    listed = json.loads(result.stdout[result.stdout.index("[") :])
    ours = [p for p in listed if p["name"] == "instagram"]
    assert ours and "/instagram" in json.dumps(ours[0])


def test_importing_the_plugin_builds_no_app() -> None:
    """Airflow imports every plugin in every task process: that must not cost the FastAPI app and its routes."""
    code = (
        "import sys; import airflow_provider_instagram.plugin as p; assert p.InstagramPlugin.fastapi_apps;"
        "print(sorted(m for m in sys.modules if m.startswith('airflow_provider_instagram.plugin.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
