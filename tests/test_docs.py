"""The documentation stays true and findable: a short front page, generated pages up to date,
and no link that leads nowhere."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from helpers import load_script

pytestmark = pytest.mark.unit

TOP = Path(__file__).resolve().parent.parent
DOCS = TOP / "docs"
ASPECT_PAGES = ("processes", "ports", "database", "isdn")


def load_options_generator() -> ModuleType:
    return load_script(DOCS / "generate_options.py")


def test_the_options_page_is_generated_from_the_options():
    committed = (DOCS / "options.md").read_text(encoding="utf-8")
    assert committed == load_options_generator().generate(), (
        "docs/options.md differs from os4xmon/cli/options.py: regenerate it with "
        "python3 docs/generate_options.py > docs/options.md")


def test_the_options_page_documents_every_option_with_an_example():
    """docs/options.md lists every option of the plugin, each with an example."""
    from os4xmon.cli.options import OPTIONS

    page = (DOCS / "options.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for option in OPTIONS:
        long_flag = option.flags[-1] if option.on_command_line else option.key
        row = next((line for line in rows if f"`{long_flag}" in line.split(" | ")[0]), None)
        assert row is not None, f"{long_flag} is not in the table of docs/options.md"
        assert row.rstrip().endswith("` |"), f"{long_flag} has no example in docs/options.md"


def test_the_front_page_fits_on_a_few_screens():
    lines = (TOP / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines: move reference material into docs/"


def test_the_front_page_links_every_docs_page():
    readme = (TOP / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{p.name}" for p in
                                                 sorted(DOCS.glob("*.md")))])
def test_every_relative_link_leads_to_a_file(page: str):
    path = TOP / page
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{page} links {target}, which does not exist"


@pytest.mark.parametrize("aspect", ASPECT_PAGES)
def test_every_finding_of_an_aspect_says_what_to_do(aspect: str):
    text = (DOCS / f"{aspect}.md").read_text(encoding="utf-8")
    tables = [block for block in text.split("\n\n") if block.startswith("| finding")]
    assert tables, f"docs/{aspect}.md has no finding table"
    for table in tables:
        header, _, *rows = table.splitlines()
        assert header.rstrip(" |").endswith("what to do"), header
        for row in rows:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
            assert len(cells) == 3 and cells[2], f"docs/{aspect}.md: no what to do in {row}"


def documents() -> dict[str, str]:
    """Every page and contrib file an admin reads or copies: path -> text."""
    paths = [TOP / "README.md", *sorted(DOCS.glob("*.md")),
             *sorted(path for path in (TOP / "contrib").rglob("*") if path.is_file()
                     and path.suffix != ".py")]
    return {str(path.relative_to(TOP)): path.read_text(encoding="utf-8") for path in paths}


def test_one_example_pid_query_everywhere():
    from dbtools import PID_QUERY

    found: dict[str, list[str]] = {}
    for name, text in documents().items():
        for query in re.findall(r"pid-query\s*(?:=\s*|\s+')(SELECT[^'\n]*)", text):
            found.setdefault(query.strip(), []).append(name)
    assert found, "no example --pid-query found"
    assert set(found) == {PID_QUERY}, found


MONITORING_USERS = {"contrib/nrpe/check_os4x.rhel.cfg": "nrpe"}
"""Where NRPE runs as another user than nagios (RHEL); sudo and Checkmk's agent run as root."""


def test_one_story_for_the_config_files_owner_and_mode():
    """As the plugin's own warning says: owned by the user the plugin runs as, mode 0600 (root's
    file for sudo and for Checkmk's agent is root's; every other one the monitoring user's)."""
    installs = []
    for name, text in documents().items():
        for owner, mode, target in re.findall(
                r"install -o (\S+) -g \S+ +-m (\d+) \S*check_os4x\.ini (\S+)", text):
            installs.append((name, owner, mode, target))
            assert mode == "0600", (name, target, mode)
            runs_as_root = target.startswith(("/etc/check_os4x/", "/etc/check_mk/"))
            expected = "root" if runs_as_root else MONITORING_USERS.get(name, "nagios")
            assert owner == expected, (name, target, owner)
        for chown, chmod in re.findall(r"chown (\S+), chmod (\d+)", text):
            assert (chown, chmod) == ("nagios:nagios", "600"), name
    assert len(installs) >= 4, installs


@pytest.mark.unit
def test_every_test_a_doc_names_exists():
    """A guarantee is only as good as its test: every `test_file.py::test_name` (and the
    `::test_name` shorthand after it) in README.md and docs/ names a test that exists."""
    import ast

    tests = Path(__file__).parent
    defined: dict[str, set[str]] = {}
    for path in tests.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined[path.name] = {node.name for node in ast.walk(tree)
                              if isinstance(node, ast.FunctionDef) and node.name.startswith("test")}
    missing = []
    for doc in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]:
        for line in doc.read_text(encoding="utf-8").splitlines():
            current = None
            for match in re.finditer(r"(test_\w+\.py)(?:::(test_\w+))?|::(test_\w+)", line):
                file, name, shorthand = match.groups()
                if file:
                    current = file
                    if file not in defined:
                        missing.append(f"{doc.name}: {file}")
                name = name or shorthand
                if name and (current is None or name not in defined.get(current, set())):
                    missing.append(f"{doc.name}: {current}::{name}")
    assert missing == []
