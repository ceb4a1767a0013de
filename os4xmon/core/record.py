"""Frozen record classes for the plugin's data, without the import cost of ``dataclasses``.

``import dataclasses`` pulls in ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``): about
6 ms of a 50 ms plugin run, paid on every host every minute. The plugin's records need only
fields with defaults, ``field(default_factory=..., repr=..., compare=...)``, ``fields()``,
equality and immutability, so this module builds exactly that. Type checkers see the real
``dataclasses`` (the TYPE_CHECKING branch), so mypy checks every record as a dataclass;
tests/test_record.py checks that both behave alike.

Not supported, because no record needs it (mypy would accept these, so do not use them in
``os4xmon/``): ``dataclass()`` arguments other than ``frozen`` (``order``, ``eq=False``,
``init=False``, ``unsafe_hash``, ``kw_only``, ``slots``, ``match_args``); ``field(init=...,
hash=..., metadata=..., kw_only=...)``; ``__post_init__`` and ``InitVar``; ``replace()``,
``asdict()``, ``astuple()`` and ``is_dataclass()``; the check that a field without default
does not follow one with a default; the ``repr`` of an undecorated subclass (it shows the
decorated class's name). ``ClassVar`` annotations are skipped as dataclasses does.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing is what we avoid
if TYPE_CHECKING:
    from dataclasses import FrozenInstanceError, dataclass, field, fields
else:
    _MISSING = object()

    class FrozenInstanceError(AttributeError):
        """Raised on assignment to a field of a frozen record."""

    class Field:
        __slots__ = ("compare", "default", "default_factory", "name", "repr")

        def __init__(self, default=_MISSING, default_factory=_MISSING, repr=True,
                     compare=True):
            self.name = ""
            self.default = default
            self.default_factory = default_factory
            self.repr = repr
            self.compare = compare

    def field(*, default=_MISSING, default_factory=_MISSING, repr=True, compare=True):
        return Field(default, default_factory, repr, compare)

    def fields(record):
        return record.__record_fields__

    def _frozen_setattr(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def _initializer(specs):
        """``__init__`` for these fields: positional or keyword, defaults, factories.

        Built from dicts, not from generated source: ``exec`` compiled every record class anew
        on every run (5 ms on a slow machine); the dicts cost 0.3 µs more per record made."""
        names = tuple(spec.name for spec in specs)
        known = frozenset(names)
        defaults = {spec.name: spec.default for spec in specs if spec.default is not _MISSING}
        factories = tuple((spec.name, spec.default_factory) for spec in specs
                          if spec.default_factory is not _MISSING)
        defaults.update((name, _MISSING) for name, _ in factories)

        def __init__(self, *args, **kwargs):
            if len(args) == len(names) and not kwargs:  # every field, in order: a hot loop's way
                self.__dict__.update(zip(names, args))
                return
            if len(args) > len(names):
                raise TypeError(f"__init__() takes {len(names) + 1} positional arguments but "
                                f"{len(args) + 1} were given")
            values = dict(defaults)
            values.update(zip(names, args))
            if kwargs:
                for name in kwargs:
                    if name not in known:
                        raise TypeError(f"__init__() got an unexpected keyword argument {name!r}")
                    if name in names[:len(args)]:
                        raise TypeError(f"__init__() got multiple values for argument {name!r}")
                values.update(kwargs)
            if len(values) < len(names):
                missing = ", ".join(repr(name) for name in names if name not in values)
                raise TypeError(f"__init__() missing required arguments: {missing}")
            for name, factory in factories:
                if values[name] is _MISSING:
                    values[name] = factory()
            self.__dict__.update(values)

        return __init__

    def _build(cls, frozen):
        own = []
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 (own fields only, no typing import)
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            declared = cls.__dict__.get(name, _MISSING)
            spec = declared if isinstance(declared, Field) else Field(default=declared)
            spec.name = name
            if isinstance(declared, Field):
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
            own.append(spec)
        inherited = list(getattr(cls, "__record_fields__", ()))
        specs = tuple(inherited + own)
        cls.__record_fields__ = specs

        cls.__init__ = _initializer(specs)

        compared = tuple(spec.name for spec in specs if spec.compare)
        shown = tuple(spec.name for spec in specs if spec.repr)

        def key(self):
            return tuple(getattr(self, name) for name in compared)

        def __eq__(self, other):
            if other.__class__ is not self.__class__:
                return NotImplemented
            return key(self) == key(other)

        def __repr__(self):
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
            return f"{cls.__qualname__}({values})"

        cls.__eq__ = __eq__
        cls.__repr__ = __repr__
        if frozen:
            cls.__setattr__ = _frozen_setattr
            cls.__hash__ = lambda self: hash(key(self))
        else:
            cls.__hash__ = None
        return cls

    def dataclass(cls=None, *, frozen=False):
        if cls is None:
            return lambda real: _build(real, frozen)
        return _build(cls, frozen)

__all__ = ["FrozenInstanceError", "dataclass", "field", "fields"]
