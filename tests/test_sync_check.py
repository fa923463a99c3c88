"""``forecourt check`` warns about a column that looks like a cost or a margin and that the
sync would share with the team's Google Sheet, unless Settings keep it private."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl


def _book(path, private: str = "") -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Lead ID", "Received", "Name", "Phone", "Source", "Status", "Purchase price",
               "Margin %", "Colour"])
    ws.append(["L-1", "2026-12-01 09:00", "Ann", "+44 7700 900123", "WhatsApp", "New", 9000,
               0.1, "red"])
    stock = wb.create_sheet("Bestand")
    stock.append(["FIN", "Marke", "Einkaufspreis", "Preis"])
    stock.append(["WVWZZZ1KZAW000001", "VW", 8000, 9900])
    settings = wb.create_sheet("Settings")
    settings.append(["Setting", "Value"])
    if private:
        settings.append(["Private columns", private])
    wb.save(path)


def _warned(path) -> dict[str, str]:
    proc = subprocess.run([sys.executable, "-m", "forecourt", "check", str(path), "--json"],
                          capture_output=True, text=True, check=True)
    issues = json.loads(proc.stdout)["issues"]
    return {i["value"]: f"{i['column']}{i['row']}" for i in issues
            if i["code"] == "shared-cost-column"}


def test_check_warns_about_cost_and_margin_columns_that_would_be_shared(tmp_path):
    _book(tmp_path / "b.xlsx")
    assert _warned(tmp_path / "b.xlsx") == {"Purchase price": "G1", "Margin %": "H1",
                                            "Einkaufspreis": "C1"}


def test_columns_kept_private_are_not_warned_about(tmp_path):
    _book(tmp_path / "b.xlsx", private="purchase price;  Margin %, Einkaufspreis")
    assert _warned(tmp_path / "b.xlsx") == {}
