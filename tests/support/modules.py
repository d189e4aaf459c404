"""Loading a file that is not in a package (a script, an example app) as a module, as tests need it."""
import importlib.util
import os
from types import ModuleType

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_file(path: str, name: str) -> ModuleType:
    """Execute ``path`` as a fresh module called ``name`` and return it."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_script(filename: str) -> ModuleType:
    """``scripts/<filename>`` as a module (its ``main(argv)`` can then run in the test's process)."""
    return load_file(os.path.join(ROOT, "scripts", filename), os.path.splitext(filename)[0] + "_script")
