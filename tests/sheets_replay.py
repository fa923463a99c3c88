"""Replay recorded real Google Sheets/Drive traffic against the stand-in, and score it.

Why: ``tests/sheets_standin.py`` is only worth testing against if it answers like Google.
The recordings in ``shared/reference/sheets-api-recordings`` are real request/response
pairs (gspread 6.2.1's test cassettes against the live APIs). Replaying every request in
order against a fresh stand-in and requiring the same status and the same JSON body is the
check that it does.

Only values the stand-in must choose itself are mapped rather than compared: file ids
(spreadsheet/Drive ids and the URLs holding them), sheet ids of added sheets, protected-range
ids, and Drive's createdTime/modifiedTime (a server clock reading; they must still be
RFC 3339 with milliseconds). A recorded value is mapped to the stand-in's the first time it
appears in a response, one to one, and substituted in later requests and expected bodies;
everything else must be equal. The stand-in is told the recording account's e-mail (the
real API knows it from the token), since Google lists the caller as a protected range's
editor.

Run ``python tests/sheets_replay.py`` for the score table; the test suite asserts 100%.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
RECORDING_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"
FILE_ID_KEYS = {"id", "spreadsheetId"}
INT_ID_KEYS = {"sheetId", "protectedRangeId"}
TIME_KEYS = {"createdTime", "modifiedTime"}
RFC3339_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_dumps = json.dumps  # UrllibSession.request has a parameter named json, as requests does


def recordings_dir() -> Path | None:
    """The recordings: $FORECOURT_SHEETS_RECORDINGS, else ../shared/reference/... beside the
    repository (where the workplace and CI put shared/)."""
    env = os.environ.get("FORECOURT_SHEETS_RECORDINGS")
    repo = Path(__file__).resolve().parent.parent
    candidates = [Path(env)] if env else []
    candidates += [repo.parent / "shared" / "reference" / "sheets-api-recordings",
                   Path("/work/shared/reference/sheets-api-recordings")]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    return None


@dataclass
class Outcome:
    index: int
    method: str
    uri: str
    ok: bool
    why: str = ""


class IdMap:
    """Recorded value -> the stand-in's, one to one, learned on first appearance."""

    def __init__(self):
        self.forward: dict = {}
        self.backward: dict = {}

    def learn(self, recorded, actual, problems: list) -> None:
        if recorded in self.forward:
            return
        if actual in self.backward and self.backward[actual] != recorded:
            problems.append(f"stand-in reused {actual!r} for both {self.backward[actual]!r} "
                            f"and {recorded!r}")
            return
        self.forward[recorded] = actual
        self.backward[actual] = recorded

    def file_ids(self) -> list[tuple[str, str]]:
        pairs = [(k, v) for k, v in self.forward.items()
                 if isinstance(k, str) and not RFC3339_MILLIS.fullmatch(k)]
        return sorted(pairs, key=lambda kv: -len(kv[0]))


def learn(expected, actual, ids: IdMap, problems: list) -> None:
    """Walk a recorded and an actual body together, learning ids at id-valued keys."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key not in actual:
                continue
            mine = actual[key]
            is_file_id = key in FILE_ID_KEYS and isinstance(value, str) and isinstance(mine, str)
            is_int_id = key in INT_ID_KEYS and isinstance(value, int) and isinstance(mine, int)
            if is_file_id or is_int_id:
                ids.learn(value, mine, problems)
            elif key in TIME_KEYS and isinstance(value, str) and isinstance(mine, str):
                if not RFC3339_MILLIS.fullmatch(mine):
                    problems.append(f"{key} {mine!r} is not RFC 3339 with milliseconds")
                ids.learn(value, mine, problems)
            else:
                learn(value, mine, ids, problems)
    elif isinstance(expected, list) and isinstance(actual, list):
        for a, b in zip(expected, actual, strict=False):
            learn(a, b, ids, problems)


def substitute_text(text: str, ids: IdMap) -> str:
    for recorded, actual in ids.file_ids():
        text = text.replace(recorded, actual)
    return text


def substitute(value, ids: IdMap, key: str | None = None):
    """A recorded body with every learned id replaced by the stand-in's."""
    if isinstance(value, dict):
        return {k: substitute(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids, key) for v in value]
    if key in INT_ID_KEYS | TIME_KEYS and value in ids.forward and not isinstance(value, bool):
        return ids.forward[value]
    if isinstance(value, str):
        return substitute_text(value, ids)
    return value


def first_difference(expected, actual, path: str = "$") -> str:
    if type(expected) is not type(actual) and not (
            isinstance(expected, int | float) and isinstance(actual, int | float)):
        return f"{path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, dict):
        for key in expected.keys() | actual.keys():
            if key not in actual:
                return f"{path}.{key}: missing (expected {expected[key]!r})"
            if key not in expected:
                return f"{path}.{key}: unexpected {actual[key]!r}"
            if expected[key] != actual[key]:
                return first_difference(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{i}]")
    return f"{path}: expected {expected!r}, got {actual!r}"


def to_standin(uri: str, base_url: str) -> str:
    for host in GOOGLE_HOSTS:
        if uri.startswith(host):
            return base_url + uri[len(host):]
    raise ValueError(f"not a Google URL: {uri}")


def replay(recording: Path, base_url: str, session) -> list[Outcome]:
    """Send every recorded request, in order; judge each answer against the recorded one."""
    interactions = json.loads(recording.read_text(encoding="utf-8"))["interactions"]
    ids = IdMap()
    outcomes = []
    for index, item in enumerate(interactions):
        request, response = item["request"], item["response"]
        url = substitute_text(to_standin(request["uri"], base_url), ids)
        body = request.get("body")
        headers = {"Authorization": "Bearer <ACCESS_TOKEN>"}
        if body:
            try:
                body = json.dumps(substitute(json.loads(body), ids)).encode("utf-8")
            except json.JSONDecodeError:
                body = substitute_text(body, ids).encode("utf-8")
            content_type = request["headers"].get("Content-Type") or ["application/json"]
            headers["Content-Type"] = content_type[0]
        answer = session.request(request["method"], url, data=body or None, headers=headers,
                                 timeout=30)
        want_status = response["status"]["code"]
        want_text = response["body"].get("string") or ""
        outcome = Outcome(index, request["method"], request["uri"], False)
        if answer.status_code != want_status:
            outcome.why = (f"status {answer.status_code}, recorded {want_status}: "
                           f"{answer.text[:300]}")
            outcomes.append(outcome)
            continue
        if not want_text.strip():
            outcome.ok = answer.text == ""
            outcome.why = "" if outcome.ok else f"expected no body, got {answer.text[:200]!r}"
            outcomes.append(outcome)
            continue
        try:
            actual = answer.json()
        except ValueError:
            outcome.why = f"not JSON: {answer.text[:200]!r}"
            outcomes.append(outcome)
            continue
        recorded = json.loads(want_text)
        problems: list = []
        learn(recorded, actual, ids, problems)
        expected = substitute(recorded, ids)
        if problems:
            outcome.why = "; ".join(problems)
        elif expected != actual:
            outcome.why = first_difference(expected, actual)
        else:
            outcome.ok = True
        outcomes.append(outcome)
    return outcomes


class UrllibResponse:
    """The part of requests.Response the tests use."""

    def __init__(self, status: int, headers, content: bytes):
        self.status_code, self.headers, self.content = status, headers, content
        self.text = content.decode("utf-8", "replace")
        self.ok = status < 400

    def json(self):
        return json.loads(self.text)


class UrllibSession:
    """requests.Session's ``request`` over the standard library, for machines whose venv
    has no requests (the project's own dependencies do not include it): the replay and
    the stand-in's tests must run there too, never be skipped for want of a client."""

    def request(self, method: str, url: str, params=None, data=None, json=None,
                headers=None, timeout=None):
        import urllib.error
        import urllib.parse
        import urllib.request

        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        parts = urllib.parse.urlsplit(url)  # quote what is not URL-safe, as requests does
        url = urllib.parse.urlunsplit(parts._replace(
            path=urllib.parse.quote(parts.path, safe="/%:@!$&'()*+,;=~"),
            query=urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=~?")))
        headers = dict(headers or {})
        if json is not None:
            data = _dumps(json).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if isinstance(data, str):
            data = data.encode("utf-8")
        req = urllib.request.Request(url, data=data, headers=headers, method=method.upper())
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                return UrllibResponse(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as answer:
            return UrllibResponse(answer.code, answer.headers, answer.read())

    def get(self, url: str, **kw):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):
        return self.request("POST", url, **kw)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def http_session():
    """requests.Session where requests is installed, else the stdlib stand-in for it."""
    try:
        import requests
    except ImportError:
        return UrllibSession()
    return requests.Session()


def replay_with_fresh_standin(recording: Path) -> list[Outcome]:
    """A fresh in-process stand-in for one recording, replayed over real HTTP."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sheets_standin

    server, base_url = sheets_standin.start(port=0, account_email=RECORDING_ACCOUNT)
    try:
        with http_session() as session:
            return replay(recording, base_url, session)
    finally:
        sheets_standin.stop(server)


def main() -> int:
    folder = recordings_dir()
    if folder is None:
        print("recordings not found (set FORECOURT_SHEETS_RECORDINGS)")
        return 2
    matched_all = total_all = 0
    for recording in sorted(folder.glob("*.json")):
        outcomes = replay_with_fresh_standin(recording)
        matched = sum(o.ok for o in outcomes)
        matched_all += matched
        total_all += len(outcomes)
        print(f"{matched:3d}/{len(outcomes):3d}  {recording.stem}")
        for o in outcomes:
            if not o.ok:
                print(f"      #{o.index} {o.method} {o.uri[:90]}\n         {o.why[:400]}")
    print(f"{matched_all:3d}/{total_all:3d}  total")
    return 0 if matched_all == total_all else 1


if __name__ == "__main__":
    sys.exit(main())
