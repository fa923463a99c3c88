"""The specified folders install under one name: forecourt.sync, forecourt.validators, ..."""

import subprocess
import sys


def _run(code, cwd):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


def test_subpackages_import_under_forecourt(tmp_path):
    result = _run("import forecourt.sync.xlsx, forecourt.validators.schemas, "
                  "forecourt.workbook_templates, forecourt.macros", tmp_path)
    assert result.returncode == 0, result.stderr


def test_sync_and_validators_are_not_top_level_names(tmp_path):
    for name in ("sync", "validators"):
        result = _run(f"import {name}", tmp_path)
        assert result.returncode != 0, f"{name} must not be importable as a top-level package"


def test_command_and_module_both_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "forecourt", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0
    assert "exit codes" in result.stdout


def test_the_command_starts_without_pandas(tmp_path):
    """`forecourt run` reads the workbook in a background thread while pandas and pandera
    import; that only helps while importing the command does not import them first."""
    result = _run("import sys, forecourt, forecourt.cli, forecourt.sync.xlsx\n"
                  "heavy = sorted({'pandas', 'pandera', 'numpy'} & set(sys.modules))\n"
                  "assert not heavy, heavy\n"
                  "assert forecourt.read_book.__module__ == 'forecourt.book'", tmp_path)
    assert result.returncode == 0, result.stderr



def test_validators_do_not_import_the_model():
    """The model (forecourt.book) calls the validators; they read a book through protocols, so
    no import runs the other way, not even one inside a function or for type checking."""
    import ast
    from pathlib import Path

    import forecourt.validators

    folder = Path(forecourt.validators.__file__).parent
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}:{node.lineno}" for n in names
                      if n == "forecourt.book" or n.startswith("forecourt.book.")]
    assert not found, found
