"""The README's tables say what the program does: every issue code is listed with its
severity, as `forecourt codes` prints it."""

import re
from pathlib import Path

from forecourt.issues import CODES

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_issue_code_is_in_the_readme_with_its_severity():
    rows = dict(re.findall(r"^\| ([a-z-]+) \| (error|warning) \|", README, re.MULTILINE))
    missing = {code: severity for code, (severity, _) in CODES.items()
               if rows.get(code) != severity}
    assert not missing, f"README lacks or mislabels: {missing}"
