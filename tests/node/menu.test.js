"use strict";
/**
 * The forecourt menu through the runner CLI (run_menu.js), as the Python tests will use it:
 * a grid file in, a server on 127.0.0.1, the grid and what the user saw out.
 */

const assert = require("node:assert/strict");
const childProcess = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { promisify } = require("node:util");
const { describe, it: test } = require("node:test");
const { FORECOURT_GS, RUN_MENU, WORDS, xlwingsJs } = require("./project");
const { startServer } = require("./server");

const execFile = promisify(childProcess.execFile);
const NOT_SET_UP = "forecourt is not set up yet: "
  + "use forecourt > Set up… to enter the server address and token.";

const RUN_ACTIONS = {
  actions: [{
    func: "setValues", args: [], values: [["Call back today"]], sheet_position: 0,
    start_row: 1, start_column: 3, row_count: 1, column_count: 1,
  }],
};

function book(properties = {}, uiAnswers = []) {
  return {
    name: "Dealer", timeZone: "UTC", active: 0,
    sheets: [
      {
        name: "Leads",
        values: [["Lead ID", "Status", "Status since", "Next action"],
          ["L-1", "New", { date: "2026-12-01T09:00:00" }]],
      },
      { name: "Settings", values: [["Setting", "Value"]] },
      { name: "Notes", values: [["private"]] },
    ],
    properties, uiAnswers,
  };
}

/** Runs run_menu.js with `args` on `grid`; resolves to {code, out, stderr}. */
async function runMenu(grid, args, { words = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forecourt-menu-"));
  const files = {
    grid: path.join(dir, "in.json"), out: path.join(dir, "out.json"), words: path.join(dir, "words.json"),
  };
  fs.writeFileSync(files.grid, JSON.stringify(grid));
  fs.writeFileSync(files.words, JSON.stringify(WORDS));
  const argv = [RUN_MENU, "--scripts", `${xlwingsJs()},${FORECOURT_GS}`,
    "--grid", files.grid, "--out", files.out, ...(words ? ["--words", files.words] : []), ...args];
  let code = 0;
  let stderr = "";
  try {
    ({ stderr } = await execFile(process.execPath, argv, { env: { ...process.env, TZ: "UTC" } }));
  } catch (error) {
    ({ code, stderr } = error);
  }
  const out = fs.existsSync(files.out) ? JSON.parse(fs.readFileSync(files.out, "utf8")) : null;
  fs.rmSync(dir, { recursive: true, force: true });
  return { code, out, stderr };
}

async function withServer(routes, fn) {
  const server = await startServer(routes);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

// Each test starts its own processes (and server): run them side by side.
describe("the forecourt menu through run_menu.js", { concurrency: 4 }, () => {
  test("Run now asks for the tabs, sends only those and applies the answer", () => withServer({
    "/tabs": { body: { include: "Leads,Settings" } },
    "/run": { body: RUN_ACTIONS },
  }, async (server) => {
    const settings = { FORECOURT_URL: server.url + "/", FORECOURT_TOKEN: "tok" };
    const { code, out } = await runMenu(book(settings), ["--call", "forecourtRunNow"]);
    assert.equal(code, 0);
    assert.equal(out.error, null);
    assert.deepEqual(out.alerts, []);
    assert.deepEqual(out.toasts, ["forecourt: done"]);
    assert.deepEqual(out.requests, [
      { url: server.url + "/tabs?id=fake-spreadsheet", status: 200 },
      { url: server.url + "/run?id=fake-spreadsheet&sent=Leads%2CSettings", status: 200 },
    ]);
    assert.equal(out.sheets[0].values[1][3], "Call back today");

    await server.settle();
    const [tabs, run] = server.requests;
    assert.equal(tabs.method, "POST");
    assert.equal(tabs.headers.authorization, "tok");
    assert.deepEqual(JSON.parse(tabs.body), { book: "Dealer", sheets: ["Leads", "Settings", "Notes"] });
    assert.equal(run.headers.authorization, "tok");
    assert.deepEqual(JSON.parse(run.body).sheets.map((s) => s.values), [
      [["Lead ID", "Status", "Status since", "Next action"],
        ["L-1", "New", "2026-12-01T09:00:00.000Z", ""]],
      [["Setting", "Value"]],
      [[]],
    ]);
  }));

  test("Sync now with every tab wanted sends them all, without ?sent=", () => withServer({
    "/tabs": { body: { include: "" } },
    "/sync": { body: { actions: [] } },
  }, async (server) => {
    const settings = { FORECOURT_URL: server.url, FORECOURT_TOKEN: "tok" };
    const { out } = await runMenu(book(settings), ["--call", "forecourtSyncNow"]);
    assert.deepEqual(out.requests.map((r) => r.url),
      [server.url + "/tabs?id=fake-spreadsheet", server.url + "/sync?id=fake-spreadsheet"]);
    assert.deepEqual(out.toasts, ["forecourt: done"]);
    await server.settle();
    assert.deepEqual(JSON.parse(server.requests[1].body).sheets[2].values, [["private"]]);
  }));

  test("a refused /tabs shows the server's sentence and sends nothing else", () => withServer({
    "/tabs": { status: 401, type: "text/plain", body: "This token is not valid for this spreadsheet." },
  }, async (server) => {
    const settings = { FORECOURT_URL: server.url, FORECOURT_TOKEN: "bad" };
    const { out } = await runMenu(book(settings), ["--call", "forecourtRunNow"]);
    assert.deepEqual(out.alerts, ["This token is not valid for this spreadsheet."]);
    assert.deepEqual(out.requests, [{ url: server.url + "/tabs?id=fake-spreadsheet", status: 401 }]);
    assert.deepEqual(out.toasts, []);
  }));

  test("an error from /run is shown, and the spreadsheet is left as it was", () => withServer({
    "/tabs": { body: { include: "" } },
    "/run": { status: 500, type: "text/plain", body: "The Leads tab has no Status column." },
  }, async (server) => {
    const grid = book({ FORECOURT_URL: server.url, FORECOURT_TOKEN: "tok" });
    const { out } = await runMenu(grid, ["--call", "forecourtRunNow"]);
    assert.deepEqual(out.alerts, ["The Leads tab has no Status column."]);
    assert.equal(out.error, null);
    assert.deepEqual(out.toasts, []);
    const padded = book().sheets[0].values.map((row) => row.concat([""]).slice(0, 4));
    assert.deepEqual(out.sheets[0].values, padded);
  }));

  test("without settings the user is told to use Set up…", async () => {
    const noToken = book({ FORECOURT_URL: "http://127.0.0.1:9" });
    const { code, out } = await runMenu(noToken, ["--call", "forecourtSyncNow"]);
    assert.equal(code, 0);
    assert.deepEqual(out.alerts, [NOT_SET_UP]);
    assert.deepEqual(out.requests, []);
  });

  test("a server that is not there is one alert, not a crash", async () => {
    const nobody = { FORECOURT_URL: "http://127.0.0.1:9", FORECOURT_TOKEN: "tok" };
    const { out } = await runMenu(book(nobody), ["--call", "forecourtRunNow"]);
    assert.equal(out.error, null);
    assert.equal(out.alerts.length, 1);
    assert.match(out.alerts[0], /^Address unavailable: http:\/\/127\.0\.0\.1:9\/tabs/);
  });

  test("Set up… keeps the address (without a trailing slash) and the token", async () => {
    const answers = [" https://forecourt.example.com/ ", " tok "];
    const { out } = await runMenu(book({}, answers), ["--call", "forecourtSetup"]);
    assert.deepEqual(out.properties,
      { FORECOURT_URL: "https://forecourt.example.com", FORECOURT_TOKEN: "tok" });
    assert.deepEqual(out.toasts, ["forecourt: set up"]);
  });

  test("Set up… cancelled, or with no address, changes nothing", async () => {
    const kept = { FORECOURT_URL: "https://old.example.com", FORECOURT_TOKEN: "old" };
    const cancelled = await runMenu(book(kept, ["https://new.example.com", null]),
      ["--call", "forecourtSetup"]);
    assert.deepEqual(cancelled.out.properties, kept);
    assert.deepEqual(cancelled.out.alerts, []);
    const blank = await runMenu(book(kept, ["", "tok"]), ["--call", "forecourtSetup"]);
    assert.deepEqual(blank.out.properties, kept);
    assert.equal(blank.out.alerts.length, 1);
  });

  test("onOpen through the runner lists the menu", async () => {
    const { out } = await runMenu(book(), ["--call", "onOpen"]);
    assert.deepEqual(out.menus[0].items.map((i) => i.caption), ["Run now", "Sync now", "Set up…"]);
  });

  test("--edit types the value, then runs onEdit at the given time", async () => {
    const edit = { sheet: "Leads", a1: "B2", value: "Contacted", oldValue: "New", now: "2026-12-07T10:00:00" };
    const { code, out } = await runMenu(book(), ["--edit", JSON.stringify(edit)]);
    assert.equal(code, 0);
    assert.equal(out.error, null);
    assert.deepEqual(out.sheets[0].values[1], ["L-1", "Contacted", { date: "2026-12-07T10:00:00" }, ""]);
  });

  test("a script error goes in \"error\"; a harness mistake exits 2", async () => {
    const thrown = await runMenu(book(), ["--call", "hello"]);
    assert.equal(thrown.code, 0);
    assert.equal(thrown.out.error, "Exception: Invalid argument: url");

    const unreplaced = await runMenu(book(), ["--call", "onOpen"], { words: false });
    assert.equal(unreplaced.code, 0);
    assert.match(unreplaced.out.error, /__FORECOURT_WORDS__ is not defined/);

    const missing = await runMenu(book(), ["--call", "noSuchFunction"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Script function not found: noSuchFunction/);
    assert.equal(missing.out, null);
  });
});
