from forecourt.cli import entry

entry()
