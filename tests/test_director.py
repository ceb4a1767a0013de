"""The Icinga Director basket: generated from the option table, complete, and self-consistent.

Director imports a basket as JSON (Command, Datafield, DataList, ServiceTemplate); these tests
read it as Director would: every field a command or template names exists, every option is a
data field of the right type with the plugin's own description, the options with fixed values
have a data list, and the arguments are the ones contrib/icinga2/check_os4x-command.conf passes.
"""

from __future__ import annotations

import json
import re

import pytest
from deploy_helpers import CONTRIB
from helpers import load_script

from os4xmon.cli.options import OPTIONS
from os4xmon.core.settings import ASPECTS

pytestmark = pytest.mark.unit

BASKET = CONTRIB / "icinga2" / "director-basket.json"


def load_generator():
    return load_script(CONTRIB / "icinga2" / "generate.py")


def basket() -> dict:
    return json.loads(BASKET.read_text())


def test_committed_basket_is_what_the_generator_writes():
    assert BASKET.read_text() == load_generator().basket(), (
        "contrib/icinga2/director-basket.json is stale: python3 contrib/icinga2/generate.py "
        "--basket > contrib/icinga2/director-basket.json")


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.on_command_line],
                         ids=lambda option: option.dest)
def test_every_option_is_a_data_field_and_an_argument(option):
    document = basket()
    fields = {field["varname"]: field for field in document["Datafield"].values()}
    field = fields[f"os4x_{option.dest}"]
    assert field["description"] == option.help
    kind = field["datatype"].rsplit("DataType", 1)[1]
    if option.convert is None:
        assert kind == "Boolean"
    elif option.dest in ("checks", "db_type"):
        assert kind == "Datalist"
    argument = document["Command"]["os4x"]["arguments"][option.flags[-1]]
    key = "set_if" if option.convert is None else "value"
    assert argument[key] == f"$os4x_{option.dest}$"


def test_no_secret_is_a_field_or_an_argument():
    document = basket()
    varnames = {field["varname"] for field in document["Datafield"].values()}
    arguments = set(document["Command"]["os4x"]["arguments"])
    for option in OPTIONS:
        if not option.on_command_line:
            assert f"os4x_{option.dest}" not in varnames
            assert option.flags[-1] not in arguments


def test_data_lists_for_checks_and_database_type():
    document = basket()
    lists = document["DataList"]
    entries = {name: [entry["entry_name"] for entry in data["entries"]]
               for name, data in lists.items()}
    assert entries["check_os4x checks"] == list(ASPECTS)
    assert entries["check_os4x db-type"] == ["mysql", "postgresql"]
    for field in document["Datafield"].values():
        if field["datatype"].endswith("Datalist"):
            assert field["settings"]["datalist"] in lists


def test_a_service_template_per_aspect_whose_fields_exist():
    document = basket()
    templates = document["ServiceTemplate"]
    assert sorted(templates) == sorted(f"os4x-{aspect}" for aspect in ASPECTS)
    ids = {int(key) for key in document["Datafield"]}
    for aspect in ASPECTS:
        template = templates[f"os4x-{aspect}"]
        assert template["check_command"] == "os4x"
        assert template["vars"] == {"os4x_checks": aspect}
        assert {ref["datafield_id"] for ref in template["fields"]} <= ids
    assert {ref["datafield_id"] for ref in document["Command"]["os4x"]["fields"]} == ids


def test_the_arguments_are_those_of_the_icinga2_command():
    conf = (CONTRIB / "icinga2" / "check_os4x-command.conf").read_text()
    template = conf.split('object CheckCommand "os4x"')[0]
    flags = set(re.findall(r'^    "(--[a-z0-9-]+)" = \{', template, re.M))
    director = {flag for flag in basket()["Command"]["os4x"]["arguments"] if flag != "-v"}
    assert director == flags


def test_uuids_are_unique_and_stable():
    document = basket()
    uuids = [item["uuid"] for section in document.values() for item in section.values()]
    assert len(uuids) == len(set(uuids))
    assert load_generator().basket() == load_generator().basket()
