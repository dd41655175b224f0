"""Sources written for LangGraph (`*.py.txt`), run under LangGraph and under hitl with only import lines changed."""

from __future__ import annotations

import sys
import types


def load_source(source: str, replacements: dict[str, str], name: str) -> types.ModuleType:
    """`source` as module `name`, each import line in `replacements` (which it must hold) put in place by its
    value; registered in sys.modules, so typing.get_type_hints resolves the state's annotations there."""
    for line, with_line in replacements.items():
        assert line in source, f"the source lacks {line!r}"
        source = source.replace(line, with_line)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name, "exec"), module.__dict__)
    return module
