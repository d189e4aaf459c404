"""The public names: literal ``__all__`` lists a type checker can read, every update and command class exported."""
import ast
import importlib
import inspect
from pathlib import Path

import pytest

import realtime_sync
from realtime_sync import protocol
from realtime_sync.protocol import updates

PACKAGE = Path(realtime_sync.__file__).parent
PUBLIC_MODULES = ["realtime_sync", "realtime_sync.protocol", "realtime_sync.errors",
                  "realtime_sync.tools", "realtime_sync.audio", "realtime_sync.testing", "realtime_sync.observers"]


def _update_classes():
    return {cls for name, cls in vars(updates).items()
            if inspect.isclass(cls) and issubclass(cls, updates.ConversationUpdate) and not name.startswith("_")}


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_a_literal_list_of_names_that_exist(module_name):
    module = importlib.import_module(module_name)
    source = Path(module.__file__).read_text(encoding="utf-8")
    assigned = [node for node in ast.parse(source).body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)]
    assert len(assigned) == 1, f"{module_name}: __all__ assigned {len(assigned)} times"
    value = assigned[0].value
    assert isinstance(value, ast.List) and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                               for e in value.elts), f"{module_name}: __all__ is not a literal list"
    names = [e.value for e in value.elts]
    assert len(names) == len(set(names)), f"{module_name}: duplicate names in __all__"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{module_name}: __all__ names missing attributes: {missing}"


def test_every_update_class_is_exported():
    classes = _update_classes()
    assert len(classes) > 45  # every GA server event, plus the base and unknown classes
    for cls in classes:
        assert cls.__name__ in realtime_sync.__all__, cls.__name__
        assert getattr(realtime_sync, cls.__name__) is cls
        assert cls.__name__ in protocol.__all__
    for cls in protocol.UPDATE_CLASSES.values():
        assert cls in classes


def test_every_command_class_is_exported():
    for cls in protocol.COMMAND_CLASSES.values():
        assert getattr(realtime_sync, cls.__name__) is cls and cls.__name__ in realtime_sync.__all__


def test_every_exception_lives_in_errors():
    from realtime_sync import errors

    for module_path in PACKAGE.rglob("*.py"):
        if "testing" in module_path.relative_to(PACKAGE).parts:
            continue  # the simulator's own check failures are not library errors
        tree = ast.parse(module_path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Error") or node.name.endswith("Exception")):
                assert module_path.name == "errors.py" and module_path.parent == PACKAGE, \
                    f"exception {node.name} defined in {module_path.relative_to(PACKAGE)}"
    for name in errors.__all__:
        obj = getattr(errors, name)
        if inspect.isclass(obj):
            assert issubclass(obj, errors.RealtimeError) and getattr(realtime_sync, name) is obj


def test_layout_has_no_private_top_level_modules():
    private = [p.name for p in PACKAGE.glob("_*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not private, f"private modules at the top of realtime_sync/: {private}"


def test_the_import_stays_light_and_lazy_names_resolve():
    """``import realtime_sync`` loads neither dataclasses-json, marshmallow, websocket-client, requests nor the
    feature modules; each lazily exported name resolves to the object its module defines."""
    import subprocess
    import sys

    code = ("import sys, realtime_sync; heavy = ('dataclasses_json', 'marshmallow', 'websocket', 'ssl', "
            "'realtime_sync.tools', 'realtime_sync.turns', 'realtime_sync.playback', 'requests', "
            "'realtime_sync.rest', 'realtime_sync.webhooks'); "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    import importlib

    import realtime_sync

    for name, module in realtime_sync._LAZY.items():
        assert name in realtime_sync.__all__
        assert getattr(realtime_sync, name) is getattr(importlib.import_module(f"realtime_sync.{module}"), name)
    with pytest.raises(AttributeError):
        realtime_sync.NotAName
