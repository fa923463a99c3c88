"""Tests of the Google Sheets/Drive stand-in (tests/sheets_standin.py).

Why: forecourt's Sheet backend is tested against the stand-in instead of Google, so the
stand-in must answer as Google does. First against reality: every request of the 20
recorded real sessions is replayed and must get the recorded status and JSON body (ids the
stand-in picks itself mapped, nothing else loosened). Then the behaviours the recordings do
not show but the sync relies on, from Google's public API reference: conditional formats,
spreadsheet properties, all-or-nothing batchUpdate, the 10-million-cell limit, the payload
limit, the per-minute quota with Retry-After, injected 5xx, another user editing between a
read and a write, and the call log. Last, the real gspread client drives it over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sheets_replay
import sheets_standin

HERE = Path(__file__).resolve().parent
RECORDINGS = sheets_replay.recordings_dir()
RECORDING_FILES = sorted(RECORDINGS.glob("*.json")) if RECORDINGS else []
SCORES: dict[str, tuple[int, int]] = {}


@pytest.fixture
def standin():
    """A fresh stand-in on 127.0.0.1 and a session to talk to it; stopped afterwards."""
    server, base = sheets_standin.start(port=0)
    session = sheets_replay.http_session()  # requests if installed, else the stdlib
    try:
        yield Client(base, session)
    finally:
        session.close()
        sheets_standin.stop(server)


class Client:
    """Plain HTTP to the stand-in, in Google's paths."""

    def __init__(self, base: str, session):
        self.base, self.session = base, session

    def call(self, method: str, path: str, **kw):
        return self.session.request(method, self.base + path, timeout=30, **kw)

    def create(self, title: str = "Book") -> str:
        r = self.call("POST", "/drive/v3/files", params={"supportsAllDrives": "true"},
                      json={"name": title, "mimeType": sheets_standin.SPREADSHEET_MIME})
        assert r.status_code == 200, r.text
        return r.json()["id"]

    def batch(self, sid: str, *requests_, expect: int = 200) -> dict:
        r = self.call("POST", f"/v4/spreadsheets/{sid}:batchUpdate",
                      json={"requests": list(requests_)})
        assert r.status_code == expect, r.text
        return r.json()

    def get(self, sid: str, **params) -> dict:
        r = self.call("GET", f"/v4/spreadsheets/{sid}", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def values(self, sid: str, rng: str, **params):
        return self.call("GET", f"/v4/spreadsheets/{sid}/values/{rng}", params=params)

    def put(self, sid: str, rng: str, values, option: str = "RAW", **params):
        return self.call("PUT", f"/v4/spreadsheets/{sid}/values/{rng}",
                         params={"valueInputOption": option, **params},
                         json={"values": values})

    def control(self, method: str, name: str, **body):
        r = self.call(method, f"/_standin/{name}", json=body if method == "POST" else None)
        assert r.status_code == 200, r.text
        return r.json()


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


# ---------------------------------------------------------------------------------------
# Against reality: the recordings
# ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not RECORDING_FILES, reason="sheets-api-recordings not found beside the "
                                                "repository")
@pytest.mark.parametrize("recording", RECORDING_FILES, ids=[p.stem for p in RECORDING_FILES])
def test_replay_matches_the_recorded_real_api(recording: Path):
    """Every recorded request, replayed in order on a fresh stand-in, gets the recorded
    status and body (ids the stand-in chose mapped one to one)."""
    outcomes = sheets_replay.replay_with_fresh_standin(recording)
    matched = sum(o.ok for o in outcomes)
    SCORES[recording.stem] = (matched, len(outcomes))
    misses = [f"#{o.index} {o.method} {o.uri}: {o.why}" for o in outcomes if not o.ok]
    assert not misses, f"{matched}/{len(outcomes)} matched:\n" + "\n".join(misses)


@pytest.mark.skipif(not RECORDING_FILES, reason="sheets-api-recordings not found")
def test_replay_score_is_complete(capsys):
    """The score over all recordings (printed; run with -s to see it) is 100%."""
    for recording in RECORDING_FILES:
        if recording.stem not in SCORES:
            outcomes = sheets_replay.replay_with_fresh_standin(recording)
            SCORES[recording.stem] = (sum(o.ok for o in outcomes), len(outcomes))
    matched = sum(m for m, _ in SCORES.values())
    total = sum(t for _, t in SCORES.values())
    with capsys.disabled():
        print(f"\nSheets stand-in replay score: {matched}/{total} requests over "
              f"{len(SCORES)} recordings")
    assert total > 300 and matched == total


@pytest.mark.skipif(not RECORDING_FILES, reason="sheets-api-recordings not found")
def test_replay_through_the_stdlib_client_too():
    """Where requests is not installed the tests talk HTTP through the standard library;
    that client must see the same answers."""
    recording = next(p for p in RECORDING_FILES if "batch_update" in p.stem)
    server, base = sheets_standin.start(port=0, account_email=sheets_replay.RECORDING_ACCOUNT)
    try:
        outcomes = sheets_replay.replay(recording, base, sheets_replay.UrllibSession())
    finally:
        sheets_standin.stop(server)
    assert [o.why for o in outcomes if not o.ok] == []


# ---------------------------------------------------------------------------------------
# Starting it
# ---------------------------------------------------------------------------------------


def test_command_line_prints_its_url_first_and_serves_both_hosts_paths():
    """`python tests/sheets_standin.py --port 0` from the repository root: the first line on
    stdout is the base URL on 127.0.0.1; Sheets and Drive paths answer on that one port,
    with or without an Authorization header."""
    proc = subprocess.Popen([sys.executable, str(HERE / "sheets_standin.py"), "--port", "0"],
                            cwd=HERE.parent, stdout=subprocess.PIPE, text=True)
    session = sheets_replay.http_session()
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        created = session.post(f"{base}/drive/v3/files", timeout=10,
                               json={"name": "x", "mimeType": sheets_standin.SPREADSHEET_MIME})
        assert created.status_code == 200
        sid = created.json()["id"]
        got = session.get(f"{base}/v4/spreadsheets/{sid}", timeout=10,
                          headers={"Authorization": "Bearer anything"})
        assert got.json()["sheets"][0]["properties"]["title"] == "Sheet1"
    finally:
        session.close()
        proc.terminate()
        proc.wait(timeout=10)


def test_binds_loopback_only():
    server, base = sheets_standin.start(port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert base == f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        sheets_standin.stop(server)


# ---------------------------------------------------------------------------------------
# Conditional formats and spreadsheet properties
# ---------------------------------------------------------------------------------------

RED = {"red": 1, "green": 0.8, "blue": 0.8}


def rule(formula: str, color=RED, rows=(1, 100), sheet_id: int = 0) -> dict:
    return {"ranges": [{"sheetId": sheet_id, "startRowIndex": rows[0], "endRowIndex": rows[1],
                        "startColumnIndex": 0, "endColumnIndex": 5}],
            "booleanRule": {"condition": {"type": "CUSTOM_FORMULA",
                                          "values": [{"userEnteredValue": formula}]},
                            "format": {"backgroundColor": color}}}


def test_conditional_format_rules_add_update_delete_and_read_back(standin):
    """Rules keep their order (``index`` inserts), read back under a ``fields`` mask with the
    format as Google echoes it, update in place or move, and delete by index replying with
    the deleted rule; deleting from the highest index down in one batch."""
    sid = standin.create()
    standin.batch(sid,
                  {"addConditionalFormatRule": {"rule": rule("=$E2<TODAY()"), "index": 0}},
                  {"addConditionalFormatRule": {"rule": rule("=$E2=TODAY()"), "index": 1}},
                  {"addConditionalFormatRule": {"rule": rule("=team()"), "index": 0}})
    mask = "sheets(properties(sheetId,title,gridProperties),conditionalFormats)"
    meta = standin.get(sid, fields=mask)
    assert set(meta) == {"sheets"}
    sheet = meta["sheets"][0]
    assert sheet["properties"] == {"sheetId": 0, "title": "Sheet1", "gridProperties": {
        "rowCount": 1000, "columnCount": 26}}
    formulas = [r["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
                for r in sheet["conditionalFormats"]]
    assert formulas == ["=team()", "=$E2<TODAY()", "=$E2=TODAY()"]
    first = sheet["conditionalFormats"][1]
    assert first["ranges"] == [{"startRowIndex": 1, "endRowIndex": 100,
                                "startColumnIndex": 0, "endColumnIndex": 5}]
    assert first["booleanRule"]["format"] == {
        "backgroundColor": RED, "backgroundColorStyle": {"rgbColor": RED}}

    moved = standin.batch(sid, {"updateConditionalFormatRule": {
        "sheetId": 0, "index": 0, "newIndex": 2}})["replies"][0]["updateConditionalFormatRule"]
    assert moved["newIndex"] == 2 and "oldIndex" not in moved  # zero is left out
    replaced = standin.batch(sid, {"updateConditionalFormatRule": {
        "sheetId": 0, "index": 0, "rule": rule("=$E2>TODAY()")}})["replies"][0]
    assert replaced["updateConditionalFormatRule"]["oldRule"]["booleanRule"]["condition"][
        "values"] == [{"userEnteredValue": "=$E2<TODAY()"}]

    replies = standin.batch(sid, *[{"deleteConditionalFormatRule": {"sheetId": 0, "index": i}}
                                   for i in (2, 1)])["replies"]
    deleted = [r["deleteConditionalFormatRule"]["rule"]["booleanRule"]["condition"]["values"]
               [0]["userEnteredValue"] for r in replies]
    assert deleted == ["=team()", "=$E2=TODAY()"]
    left = standin.get(sid, fields="sheets.conditionalFormats")["sheets"][0]
    assert len(left["conditionalFormats"]) == 1

    bad = standin.batch(sid, {"deleteConditionalFormatRule": {"sheetId": 0, "index": 5}},
                        expect=400)
    assert bad["error"]["message"].startswith(
        "Invalid requests[0].deleteConditionalFormatRule: ")
    standin.batch(sid, {"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}})
    assert "conditionalFormats" not in standin.get(sid)["sheets"][0]


def test_spreadsheet_properties_auto_recalc_time_zone_and_now(standin):
    """updateSpreadsheetProperties sets autoRecalc and timeZone; spreadsheets.get returns
    them; NOW() is evaluated in the spreadsheet's own time zone."""
    sid = standin.create()
    props = standin.get(sid)["properties"]
    assert (props["timeZone"], props["autoRecalc"], props["locale"]) == (
        "Etc/GMT", "ON_CHANGE", "en_US")
    standin.batch(sid, {"updateSpreadsheetProperties": {
        "properties": {"autoRecalc": "MINUTE", "timeZone": "Europe/Berlin"},
        "fields": "autoRecalc,timeZone"}})
    props = standin.get(sid, fields="properties(timeZone,autoRecalc)")["properties"]
    assert props == {"timeZone": "Europe/Berlin", "autoRecalc": "MINUTE"}

    standin.control("POST", "clock", now="2024-07-01T22:30:00Z")  # 00:30 next day in Berlin
    assert standin.put(sid, "A1", [["=NOW()", "=TODAY()"]], "USER_ENTERED").status_code == 200
    values = standin.values(sid, "A1:B1", valueRenderOption="UNFORMATTED_VALUE").json()
    assert values["values"] == [[45475 + 0.5 / 24, 45475]]
    shown = standin.values(sid, "A1:B1").json()["values"]
    assert shown == [["7/2/2024 0:30:00", "7/2/2024"]]

    bad = standin.batch(sid, {"updateSpreadsheetProperties": {
        "properties": {"timeZone": "Mars/Olympus"}, "fields": "timeZone"}}, expect=400)
    assert "Invalid requests[0].updateSpreadsheetProperties" in bad["error"]["message"]
    bad = standin.call("POST", f"/v4/spreadsheets/{sid}:batchUpdate", json={"requests": [
        {"updateSpreadsheetProperties": {"properties": {"autoRecalc": "SOMETIMES"},
                                         "fields": "autoRecalc"}}]})
    assert bad.status_code == 400 and "auto_recalc" in error_of(bad)["message"]


# ---------------------------------------------------------------------------------------
# All or nothing, limits
# ---------------------------------------------------------------------------------------


def test_batch_update_is_all_or_nothing(standin):
    """One failing request (a bad sheetId) and none of the batch applies: 400, Google's
    'Invalid requests[i].kind: ...' wording, the spreadsheet as before."""
    sid = standin.create()
    before = standin.get(sid, includeGridData="true")
    bad = standin.batch(sid,
                        {"addSheet": {"properties": {"title": "Issues"}}},
                        {"repeatCell": {"range": {"sheetId": 0}, "cell": {"userEnteredFormat": {
                            "textFormat": {"bold": True}}}, "fields": "userEnteredFormat"}},
                        {"addConditionalFormatRule": {"rule": rule("=1")}},
                        {"updateSheetProperties": {"properties": {"sheetId": 999, "title": "x"},
                                                   "fields": "title"}}, expect=400)
    assert bad == {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                             "Invalid requests[3].updateSheetProperties: No grid with id: 999"}}
    assert standin.get(sid, includeGridData="true") == before

    r = standin.call("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", json={
        "valueInputOption": "RAW", "data": [{"range": "Sheet1!A1", "values": [["kept?"]]},
                                            {"range": "Nope!A1", "values": [["x"]]}]})
    assert r.status_code == 400
    assert error_of(r)["message"] == "Unable to parse range: Nope!A1"
    assert "values" not in standin.values(sid, "A1").json()


def test_ten_million_cells_limit(standin):
    """A grid past 10 million cells is refused as the real API words it, and grid limits
    of a sheet are enforced on writes."""
    sid = standin.create()
    bad = standin.batch(sid, {"updateSheetProperties": {
        "properties": {"sheetId": 0, "gridProperties": {"rowCount": 400_000}},
        "fields": "gridProperties.rowCount"}}, expect=400)
    assert bad["error"]["message"] == (
        "Invalid requests[0].updateSheetProperties: This action would increase the number of "
        "cells in the workbook above the limit of 10000000 cells.")
    standin.batch(sid, {"updateSheetProperties": {
        "properties": {"sheetId": 0, "gridProperties": {"rowCount": 380_000}},
        "fields": "gridProperties.rowCount"}})  # 9.88 million: allowed
    bad = standin.batch(sid, {"addSheet": {"properties": {"title": "More", "gridProperties": {
        "rowCount": 10_000, "columnCount": 26}}}}, expect=400)
    assert "above the limit of 10000000 cells" in bad["error"]["message"]

    small = standin.create("small")
    r = standin.put(small, "Sheet1!Z1", [["a", "b"]])
    assert r.status_code == 400
    assert error_of(r)["message"] == ("Range (Sheet1!Z1:AA1) exceeds grid limits. Max rows: "
                                      "1000, max columns: 26")


def test_request_payload_limit(standin):
    """Past the payload limit (Google: 10485760 bytes, settable here) the answer is 400
    INVALID_ARGUMENT 'Request payload size exceeds the limit: N bytes.' and nothing is
    written."""
    assert standin.control("POST", "config")["max_payload_bytes"] == 10_485_760
    sid = standin.create()
    standin.control("POST", "config", max_payload_bytes=2000)
    r = standin.put(sid, "A1", [["x" * 3000]])
    assert r.status_code == 400
    assert error_of(r) == {"code": 400, "status": "INVALID_ARGUMENT",
                           "message": "Request payload size exceeds the limit: 2000 bytes."}
    assert "values" not in standin.values(sid, "A1").json()
    assert standin.put(sid, "A1", [["x" * 100]]).status_code == 200


# ---------------------------------------------------------------------------------------
# Quota, injected failures, another user, the call log
# ---------------------------------------------------------------------------------------


def test_per_minute_quota_answers_429_with_retry_after(standin):
    """Past the per-minute count: 429 RESOURCE_EXHAUSTED with Google's quota message and
    the Retry-After header; reads and writes are counted apart, Drive not at all; the
    window is a minute of the stand-in's clock."""
    sid = standin.create()
    standin.control("POST", "quota", per_minute=2, retry_after=7)
    assert [standin.values(sid, "A1").status_code for _ in range(2)] == [200, 200]
    r = standin.values(sid, "A1")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    err = error_of(r)
    assert err["status"] == "RESOURCE_EXHAUSTED" and err["code"] == 429
    assert err["message"].startswith("Quota exceeded for quota metric 'Read requests' and limit "
                                     "'Read requests per minute per user' of service "
                                     "'sheets.googleapis.com'")
    assert err["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert standin.put(sid, "A1", [["w"]]).status_code == 200  # writes: their own count
    assert standin.call("GET", f"/drive/v3/files/{sid}").status_code == 200
    standin.control("POST", "clock", advance=61)
    assert standin.values(sid, "A1").status_code == 200
    standin.control("POST", "quota", per_minute=None)
    assert all(standin.values(sid, "A1").status_code == 200 for _ in range(5))


def test_injected_server_errors(standin):
    """POST /_standin/fail makes the next N matching calls fail with Google's 5xx body."""
    sid = standin.create()
    standin.control("POST", "fail", status=503, times=2)
    answers = [standin.values(sid, "A1") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert error_of(answers[0]) == {"code": 503, "status": "UNAVAILABLE",
                                    "message": "The service is currently unavailable."}
    standin.control("POST", "fail", status=500, times=1, match="batchUpdate", retry_after=3)
    assert standin.values(sid, "A1").status_code == 200
    r = standin.call("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate",
                     json={"valueInputOption": "RAW", "data": []})
    assert r.status_code == 500 and r.headers["Retry-After"] == "3"
    assert error_of(r)["status"] == "INTERNAL"
    calls = standin.control("GET", "calls")["calls"]
    assert [c["status"] for c in calls[-5:]] == [503, 503, 200, 200, 500]


def test_another_user_edits_between_read_and_write(standin):
    """/_standin/edit changes cells as someone else would, between our read and our
    write, without appearing in the call log."""
    sid = standin.create()
    standin.put(sid, "A1", [["Lead", "Owner"], ["Ann", ""]])
    standin.control("DELETE", "calls")
    read = standin.values(sid, "A1:B2").json()["values"]
    assert read == [["Lead", "Owner"], ["Ann"]]
    edit = standin.control("POST", "edit", spreadsheetId=sid, range="Sheet1!B2",
                           values=[["Zoe"]])
    assert edit["updatedRange"] == "Sheet1!B2"
    assert standin.values(sid, "B2").json()["values"] == [["Zoe"]]
    assert [c["kind"] for c in standin.control("GET", "calls")["calls"]] == [
        "spreadsheets.values.get", "spreadsheets.values.get"]
    peek = standin.control("POST", "read", spreadsheetId=sid, range="A1:B2")
    assert peek["values"] == [["Lead", "Owner"], ["Ann", "Zoe"]]


def test_call_log_and_reset(standin):
    """GET /_standin/calls lists every API call (method, path, query, kind, status);
    POST /_standin/reset starts over."""
    sid = standin.create()
    standin.values(sid, "'Sheet1'!A1:B2", valueRenderOption="UNFORMATTED_VALUE")
    standin.call("GET", "/v4/spreadsheets/missing")
    calls = standin.control("GET", "calls")["calls"]
    assert [(c["method"], c["kind"], c["status"]) for c in calls] == [
        ("POST", "files.create", 200), ("GET", "spreadsheets.values.get", 200),
        ("GET", "spreadsheets.get", 404)]
    assert calls[1]["path"] == f"/v4/spreadsheets/{sid}/values/'Sheet1'!A1:B2"
    assert calls[1]["query"] == {"valueRenderOption": ["UNFORMATTED_VALUE"]}
    assert calls[1]["api"] == "sheets" and calls[0]["api"] == "drive"
    assert calls[0]["bytes"] > 0 and calls[1]["bytes"] == 0  # request body sizes
    standin.control("POST", "reset")
    assert standin.control("GET", "calls")["calls"] == []
    assert standin.call("GET", f"/v4/spreadsheets/{sid}").status_code == 404


# ---------------------------------------------------------------------------------------
# Values and errors beyond the recordings
# ---------------------------------------------------------------------------------------


def test_values_input_and_render_options(standin):
    """RAW keeps text (a name starting with = or + stays text); USER_ENTERED parses
    numbers, groups, percentages, booleans, dates, formulas across sheets; explicit date
    formats render; COLUMNS reads and writes transposed; titles quoted when needed."""
    sid = standin.create()
    standin.batch(sid, {"addSheet": {"properties": {"title": "Stöck ü"}}},
                  {"addSheet": {"properties": {"title": "A2"}}})
    assert standin.put(sid, "A1", [["=1+1", "+Ann", 7, True]]).status_code == 200
    standin.put(sid, "A2", [["1,234.5", "10%", "true", "3/4/2024", "'007"]], "USER_ENTERED")
    r = standin.put(sid, "'Stöck ü'!A1", [["=Sheet1!C1*2", "=SUM(Sheet1!C1, 3)", "=1/0"]],
                    "USER_ENTERED")
    assert r.json()["updatedRange"] == "'Stöck ü'!A1:C1"
    assert standin.put(sid, "'A2'!B2", [[1]]).json()["updatedRange"] == "'A2'!B2"

    raw = standin.values(sid, "Sheet1!A1:E2", valueRenderOption="UNFORMATTED_VALUE").json()
    assert raw["values"] == [["=1+1", "+Ann", 7, True], [1234.5, 0.1, True, 45355, "007"]]
    shown = standin.values(sid, "Sheet1!A1:E2").json()["values"]
    assert shown == [["=1+1", "+Ann", "7", "TRUE"], ["1,234.5", "10%", "TRUE", "3/4/2024",
                                                     "007"]]
    other = standin.values(sid, "'Stöck ü'!A1:C1", valueRenderOption="FORMULA").json()
    assert other == {"range": "'Stöck ü'!A1:C1", "majorDimension": "ROWS",
                     "values": [["=Sheet1!C1*2", "=SUM(Sheet1!C1, 3)", "=1/0"]]}
    assert standin.values(sid, "'Stöck ü'!A1:C1").json()["values"] == [["14", "10", "#DIV/0!"]]

    standin.batch(sid, {"repeatCell": {
        "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 3,
                  "endColumnIndex": 4},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE",
                                                        "pattern": "dd.mm.yyyy"}}},
        "fields": "userEnteredFormat.numberFormat"}})
    assert standin.values(sid, "D2").json()["values"] == [["04.03.2024"]]
    dated = standin.values(sid, "D2", valueRenderOption="UNFORMATTED_VALUE",
                           dateTimeRenderOption="FORMATTED_STRING").json()
    assert dated["values"] == [["04.03.2024"]]

    r = standin.put(sid, "F1:F3", [["a", "b", "c"]], majorDimension="COLUMNS")
    assert r.status_code == 400  # a body field, not a query parameter: refused as Google does
    r = standin.call("PUT", f"/v4/spreadsheets/{sid}/values/F1:F3",
                     params={"valueInputOption": "RAW"},
                     json={"majorDimension": "COLUMNS", "values": [["a", "b", "c"]]})
    assert r.json()["updatedRange"] == "Sheet1!F1:F3"
    cols = standin.values(sid, "F1:F3", majorDimension="COLUMNS").json()
    assert cols["values"] == [["a", "b", "c"]] and cols["majorDimension"] == "COLUMNS"


def test_append_finds_the_table_and_grows_the_grid(standin):
    """values.append writes below the table (a blank row ends it), from its first column,
    answers its tableRange, grows the grid's rows and columns as needed, and INSERT_ROWS
    pushes what lies below down."""
    sid = standin.create()
    standin.batch(sid, {"updateSheetProperties": {
        "properties": {"sheetId": 0, "gridProperties": {"rowCount": 4, "columnCount": 2}},
        "fields": "gridProperties(rowCount,columnCount)"}})
    standin.put(sid, "A1", [["Lead", "Owner"], ["Ann", "Bo"], [], ["note"]])
    r = standin.call("POST", f"/v4/spreadsheets/{sid}/values/Sheet1!A1:append",
                     params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                     json={"values": [["Cy", "Di", "x"]]})
    assert r.status_code == 200, r.text
    assert r.json()["tableRange"] == "Sheet1!A1:B2"
    assert r.json()["updates"]["updatedRange"] == "Sheet1!A3:C3"
    assert standin.values(sid, "Sheet1").json()["values"] == [
        ["Lead", "Owner"], ["Ann", "Bo"], ["Cy", "Di", "x"], [], ["note"]]
    grid = standin.get(sid)["sheets"][0]["properties"]["gridProperties"]
    assert grid == {"rowCount": 5, "columnCount": 3}


def test_inserting_and_deleting_rows_moves_cells_and_rules(standin):
    """insertDimension/deleteDimension shift cells, conditional-format ranges and protected
    ranges as Sheets does; a protected range whose rows are all deleted goes."""
    sid = standin.create()
    standin.put(sid, "A1", [["h"], ["a"], ["b"]])
    standin.batch(sid, {"addConditionalFormatRule": {"rule": rule("=A2<>\"\"", rows=(1, 3))}},
                  {"addProtectedRange": {"protectedRange": {"range": {
                      "sheetId": 0, "startRowIndex": 0, "endRowIndex": 1}}}})
    standin.batch(sid, {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS",
                                                      "startIndex": 1, "endIndex": 3}}})
    assert standin.values(sid, "A1:A5").json()["values"] == [["h"], [], [], ["a"], ["b"]]
    standin.batch(sid, {"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS",
                                                      "startIndex": 0, "endIndex": 1}}})
    sheet = standin.get(sid)["sheets"][0]
    assert sheet["properties"]["gridProperties"]["rowCount"] == 1001
    assert sheet["conditionalFormats"][0]["ranges"][0]["startRowIndex"] == 2
    assert sheet["conditionalFormats"][0]["ranges"][0]["endRowIndex"] == 4
    assert "protectedRanges" not in sheet
    assert standin.values(sid, "A1:A4").json()["values"] == [[], [], ["a"], ["b"]]


def test_errors_in_googles_shapes(standin):
    """Not found, unparseable ranges, bad JSON, unknown fields and enums, missing
    valueInputOption, writing past a given range: Google's codes, statuses and words."""
    sid = standin.create()
    r = standin.call("GET", "/v4/spreadsheets/nope")
    assert r.status_code == 404 and error_of(r) == {
        "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    r = standin.values(sid, "Nowhere!A1")
    assert r.status_code == 400 and error_of(r)["message"] == "Unable to parse range: Nowhere!A1"
    r = standin.call("PUT", f"/v4/spreadsheets/{sid}/values/A1",
                     params={"valueInputOption": "RAW"}, data=b"{bad json",
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    err = error_of(r)
    assert err["status"] == "INVALID_ARGUMENT"
    assert err["message"].startswith("Invalid JSON payload received.")
    r = standin.call("PUT", f"/v4/spreadsheets/{sid}/values/A1",
                     params={"valueInputOption": "RAW"}, json={"vals": [["x"]]})
    assert error_of(r)["message"] == ('Invalid JSON payload received. Unknown name "vals": '
                                      "Cannot find field.")
    r = standin.values(sid, "A1", valueRenderOption="PRETTY")
    assert error_of(r)["message"] == (
        "Invalid value at 'value_render_option' (type.googleapis.com/google.apps.sheets.v4."
        "ValueRenderOption), \"PRETTY\"")
    r = standin.call("PUT", f"/v4/spreadsheets/{sid}/values/A1", json={"values": [["x"]]})
    assert error_of(r)["message"] == "'valueInputOption' is required but not specified"
    r = standin.put(sid, "A1:B1", [["a", "b", "c"]])
    assert error_of(r)["message"] == ("Requested writing within range [A1:B1], but tried "
                                      "writing to column [C]")
    bad = standin.batch(sid, {"deleteSheet": {"sheetId": 0}}, expect=400)
    assert bad["error"]["message"] == ("Invalid requests[0].deleteSheet: You can't remove all "
                                       "the sheets in a document.")
    bad = standin.batch(sid, {"addSheet": {"properties": {"title": "sheet1"}}}, expect=400)
    assert bad["error"]["message"] == ('Invalid requests[0].addSheet: A sheet with the name '
                                       '"sheet1" already exists. Please enter another name.')
    bad = standin.batch(sid, {"frobnicate": {}}, expect=400)
    assert bad["error"]["message"] == ('Invalid JSON payload received. Unknown name '
                                       '"frobnicate" at \'requests[0]\': Cannot find field.')
    r = standin.call("GET", "/drive/v3/files/nope")
    assert r.status_code == 404 and r.json()["error"]["errors"][0]["reason"] == "notFound"


def test_drive_list_get_and_delete(standin):
    """files.list with gspread's query and fields, paging by pageToken; delete makes the
    spreadsheet unreachable through Sheets too."""
    ids = [standin.create(f"Book {i}") for i in range(3)]
    standin.call("POST", "/drive/v3/files", json={"name": "Folder",
                                                  "mimeType": sheets_standin.FOLDER_MIME})
    params = {"q": f'mimeType="{sheets_standin.SPREADSHEET_MIME}"', "pageSize": 2,
              "fields": "kind,nextPageToken,files(id,name,createdTime,modifiedTime)"}
    first = standin.call("GET", "/drive/v3/files", params=params).json()
    assert first["kind"] == "drive#fileList" and len(first["files"]) == 2
    assert set(first["files"][0]) == {"id", "name", "createdTime", "modifiedTime"}
    rest = standin.call("GET", "/drive/v3/files",
                        params=dict(params, pageToken=first["nextPageToken"])).json()
    assert "nextPageToken" not in rest
    assert [f["id"] for f in first["files"] + rest["files"]] == ids
    named = standin.call("GET", "/drive/v3/files", params={
        "q": "name = 'Book 1' and trashed = false"}).json()
    assert [f["id"] for f in named["files"]] == [ids[1]]
    assert standin.call("DELETE", f"/drive/v3/files/{ids[1]}").status_code == 204
    assert standin.call("GET", f"/v4/spreadsheets/{ids[1]}").status_code == 404
    meta = standin.call("GET", f"/drive/v3/files/{ids[0]}", params={"fields": "id,name"})
    assert meta.json() == {"id": ids[0], "name": "Book 0"}


# ---------------------------------------------------------------------------------------
# The real gspread client
# ---------------------------------------------------------------------------------------


def test_real_gspread_client_against_the_standin():
    """gspread 6.2.1, unchanged, over real HTTP: a requests.Session that rewrites Google's
    hosts to the stand-in is all it takes (gspread has no base-URL option)."""
    gspread = pytest.importorskip("gspread")
    requests = pytest.importorskip("requests")
    server, base = sheets_standin.start(port=0)

    class RewritingSession(requests.Session):
        def request(self, method, url, *args, **kwargs):
            for host in sheets_replay.GOOGLE_HOSTS:
                if url.startswith(host):
                    url = base + url[len(host):]
            return super().request(method, url, *args, **kwargs)

    try:
        client = gspread.Client(auth=None, session=RewritingSession())
        book = client.create("forecourt stand-in")
        assert book.timezone == "Etc/GMT"
        sheet = book.add_worksheet("Leads", rows=50, cols=6)
        sheet.update([["Name", "Due"], ["Ann", "2024-03-01"], ["=2*3", ""]], "A1",
                     value_input_option="USER_ENTERED")
        assert sheet.get_all_values() == [["Name", "Due"], ["Ann", "2024-03-01"], ["6", ""]]
        assert sheet.get_all_values(value_render_option="UNFORMATTED_VALUE")[1] == [
            "Ann", 45352]
        assert [w.title for w in client.open_by_key(book.id).worksheets()] == ["Sheet1",
                                                                               "Leads"]
        client.del_spreadsheet(book.id)
        with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
            client.open_by_key(book.id)
    finally:
        sheets_standin.stop(server)


def test_module_is_importable_without_side_effects():
    """Importing the stand-in starts nothing; its constants are what Google uses."""
    assert sheets_standin.MAX_CELLS == 10_000_000
    assert sheets_standin.quote_title("Sheet1") == "Sheet1"
    assert sheets_standin.quote_title("A2") == "'A2'"
    assert sheets_standin.quote_title("It's") == "'It''s'"
    assert json.loads(json.dumps(sheets_standin.DEFAULT_FORMAT))["textFormat"]["fontSize"] == 10
