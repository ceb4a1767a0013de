"""os4xmon.core.record behaves like the dataclasses that mypy checks it as, for what the plugin
uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from os4xmon.core.record import FrozenInstanceError, dataclass, field, fields

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sample:
    name: str
    count: int = 0
    tags: dict = field(default_factory=dict, compare=False)
    secret: str = field(default="", repr=False)


def test_defaults_factories_and_fields():
    first, second = Sample("a"), Sample("a")
    assert (first.count, first.tags, first.secret) == (0, {}, "")
    assert first.tags is not second.tags  # a new dict for each record
    assert [item.name for item in fields(Sample)] == ["name", "count", "tags", "secret"]


def test_equality_hash_repr_and_immutability():
    assert Sample("a", 1, {"x": 1}) == Sample("a", 1, {"y": 2})  # tags not compared
    assert Sample("a", 1) != Sample("a", 2)
    assert hash(Sample("a", 1)) == hash(Sample("a", 1))
    assert repr(Sample("a", 1, secret="hidden")) == "Sample(name='a', count=1, tags={})"
    with pytest.raises(FrozenInstanceError):
        Sample("a").count = 3  # type: ignore[misc]


def test_missing_argument_is_a_type_error():
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]


def test_a_check_run_imports_neither_typing_nor_dataclasses_nor_drivers():
    probe = ("import sys, atexit\n"
             "atexit.register(lambda: sys.stderr.write(' '.join(sorted(sys.modules))))\n"
             "from os4xmon.cli.main import main\n"
             "main(['--checks', 'processes,ports'])\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd="/")
    modules = set(done.stderr.split())
    assert {"os4xmon.checks.processes", "os4xmon.checks.ports",
            "os4xmon.sources.netlink"} <= modules, modules
    for heavy in ("typing", "dataclasses", "inspect", "configparser", "psutil", "ssl",
                  "pymysql", "psycopg2", "socket"):
        assert heavy not in modules, heavy


@pytest.mark.parametrize("entry", ["from os4xmon.cli import run\nrun()",
                                   "import runpy\nrunpy.run_path('check_os4x.py', "
                                   "run_name='__main__')"],
                         ids=["console script", "entry file"])
def test_the_collector_rests_while_the_modules_load_and_works_during_the_run(entry):
    """Both entries turn the garbage collector off before the imports; main() turns it back
    on before anything is read (a long run may make garbage)."""
    probe = ("import atexit, gc, sys\n"
             "import nagiosplugin.check\n"
             "seen = []\n"
             "original = nagiosplugin.check.Check.__call__\n"
             "def call(self):\n"
             "    seen.append(gc.isenabled())\n"
             "    return original(self)\n"
             "nagiosplugin.check.Check.__call__ = call\n"
             "import importlib.abc\n"
             "class Watch(importlib.abc.MetaPathFinder):\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'os4xmon.cli.main':\n"
             "            seen.append(gc.isenabled())\n"
             "sys.meta_path.insert(0, Watch())\n"
             "atexit.register(lambda: sys.stderr.write(repr(seen)))\n"
             "sys.argv = ['check_os4x', '--checks', 'processes']\n" + entry + "\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd=str(ROOT))
    assert done.stderr.strip().endswith("[False, True]"), done.stdout + done.stderr


def test_arguments_are_bound_as_dataclasses_binds_them():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Real:
        name: str
        count: int = 0
        tags: dict = dataclasses.field(default_factory=dict, compare=False)
        secret: str = dataclasses.field(default="", repr=False)

    calls: list[tuple[tuple, dict]] = [
        (("a",), {}), (("a", 2), {}), (("a", 2, {"x": 1}, "s"), {}), ((), {"name": "a"}),
        (("a",), {"secret": "s", "count": 3}), ((), {"count": 1, "name": "b"}),
        ((), {}), (("a", 1, {}, "s", "extra"), {}), (("a",), {"name": "b"}),
        (("a",), {"colour": "red"}), ((), {"count": 1}),
    ]
    for args, kwargs in calls:
        try:
            expected = dataclasses.astuple(Real(*args, **kwargs))
        except TypeError:
            with pytest.raises(TypeError):
                Sample(*args, **kwargs)
            continue
        made = Sample(*args, **kwargs)
        assert tuple(getattr(made, item.name) for item in fields(Sample)) == expected
