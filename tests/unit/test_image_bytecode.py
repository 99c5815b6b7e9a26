"""Bytecode for the recorder's image: unchecked-hash .pyc files (PEP 552) that name their in-image path, the same
bytes for the same sources, and kept in a layer only when asked for."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from toolchain.images import bytecode
from toolchain.images.trees import tree_entries


def sources(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "m.py").write_text("NAMES = {'alpha', 'beta', 'gamma'}\n\ndef f():\n    return 'x' in NAMES\n")
    return root


def test_compiled_files_are_unchecked_hash_name_the_image_path_and_are_the_same_each_time(tmp_path: Path) -> None:
    if bytecode.host_tag() is None:
        pytest.skip("this Python's bytecode is not CPython 3.11's: nothing is compiled (tested by the key instead)")
    one, two = sources(tmp_path / "one"), sources(tmp_path / "two")
    assert bytecode.compile_tree(one, "/opt/onceonly/app") and bytecode.compile_tree(two, "/opt/onceonly/app")
    pyc = one / "pkg" / "__pycache__" / "m.cpython-311.pyc"
    data = pyc.read_bytes()
    assert data[:4] == bytecode.DEBIAN_MAGIC
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, check_source off: unchecked
    assert marshal.loads(data[16:]).co_filename == "/opt/onceonly/app/pkg/m.py"
    assert data == (two / "pkg" / "__pycache__" / "m.cpython-311.pyc").read_bytes()
    kept = {e.path for e in tree_entries(one, bytecode=True).entries}
    left = {e.path for e in tree_entries(one).entries}
    assert "pkg/__pycache__/m.cpython-311.pyc" in kept and not any("__pycache__" in p for p in left)
