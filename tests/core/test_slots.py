"""A breaker's fields are slots: every field the machine's classes assign is declared."""

from __future__ import annotations

import ast
import inspect

from breaker_core import CircuitBreaker
from breaker_core.machine_state import MachineState


def assigned_fields(cls: type) -> set[str]:
    """Names of the ``self.<name>`` attributes that ``cls``'s own methods assign."""
    tree = ast.parse(inspect.getsource(cls))
    names = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if (
                    isinstance(part, ast.Attribute)
                    and isinstance(part.value, ast.Name)
                    and part.value.id == "self"
                ):
                    names.add(part.attr)
    return names


def test_every_field_a_breaker_class_assigns_is_a_slot():
    classes = [cls for cls in CircuitBreaker.__mro__ if cls is not object]
    assert MachineState in classes
    declared = {name for cls in classes for name in cls.__dict__.get("__slots__", ())}
    missing = {
        f"{cls.__name__}.{name}" for cls in classes for name in assigned_fields(cls) - declared
    }
    assert not missing, f"assigned but not in a __slots__: {sorted(missing)}"


def test_a_breaker_has_no_instance_dict_and_can_be_held_weakly():
    import weakref

    breaker = CircuitBreaker("inventory")
    assert not hasattr(breaker, "__dict__")
    assert weakref.ref(breaker)() is breaker
