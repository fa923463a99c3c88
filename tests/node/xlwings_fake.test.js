"use strict";
/**
 * The unmodified xlwings.js runPython against a server in the test: proves the fake world is
 * faithful enough (what it sends, and what the actions do to the spreadsheet).
 */

const assert = require("node:assert/strict");
const fs = require("node:fs");
const { test } = require("node:test");
const { createWorld, describeError } = require("./apps_script_fake");
const { userEntered } = require("./fake_spreadsheet");
const { xlwingsJs } = require("./project");
const { startServer } = require("./server");

const VERSION = /const version = "([^"]+)"/.exec(fs.readFileSync(xlwingsJs(), "utf8"))[1];

/** An action as xlwings' Python side writes it (0-based positions). */
function action(func, options = {}) {
  const { args = [], values = null, sheet = null, row = null, col = null } = options;
  const { rows = null, cols = null } = options;
  return {
    func, args, values, sheet_position: sheet, start_row: row, start_column: col,
    row_count: rows, column_count: cols,
  };
}

const ACTIONS = [
  action("setValues", {
    sheet: 0, row: 3, col: 0, rows: 1, cols: 8,
    values: [
      ["=SUM(D2:D3)", "'007", "12", "2026-12-08", "2026-12-08 09:30:00", "TRUE", "-1.5", "plain"]],
  }),
  action("setRangeColor", { args: ["#f8cbad"], sheet: 0, row: 1, col: 0, rows: 1, cols: 2 }),
  action("setNumberFormat", { args: ["yyyy-mm-dd hh:mm"], sheet: 0, row: 1, col: 1, rows: 2, cols: 1 }),
  action("addSheet", { args: [3, "KPI"] }),
  action("setValues",
    { sheet: 3, row: 0, col: 0, rows: 2, cols: 2, values: [["KPI", "Value"], ["Leads", 2]] }),
  action("rangeClearContents", { sheet: 0, row: 2, col: 2, rows: 1, cols: 1 }),
  action("addHyperlink",
    { args: ["https://example.com/l-2", "L-2"], sheet: 0, row: 2, col: 0, rows: 1, cols: 1 }),
];

function book(timeZone = "UTC") {
  return {
    name: "Dealer", timeZone, active: 0,
    sheets: [
      {
        name: "Leads",
        values: [["Lead ID", "Received", "Status", "Price"],
          ["L-1", { date: "2026-12-07T10:00:00" }, "New", 12500],
          ["L-2", "", "Contacted"]],
        numberFormats: { C3: "@" },
      },
      { name: "Settings", values: [["Setting", "Value"], ["Time zone", timeZone]] },
      { name: "Notes" },
    ],
  };
}

async function runPython(grid, options, routes = { "/run": { body: { actions: ACTIONS } } }) {
  const server = await startServer(routes);
  try {
    const world = createWorld(grid);
    world.load(xlwingsJs());
    let error = null;
    try {
      world.call("runPython", server.url + "/run", options);
    } catch (thrown) {
      error = describeError(thrown);
    }
    await server.settle();
    return { world, error, requests: server.requests, grid: world.toGrid() };
  } finally {
    await server.close();
  }
}

test("xlwings.js sends the workbook as xlwings builds it", async () => {
  const { requests, error } = await runPython(book(), { auth: "secret" });
  assert.equal(error, null);
  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request.method, "POST");
  assert.equal(request.headers.authorization, "secret");
  assert.equal(request.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(request.body), {
    client: "Google Apps Script",
    version: VERSION,
    book: { name: "Dealer", active_sheet_index: 0, selection: "A1" },
    names: [],
    sheets: [
      {
        name: "Leads",
        values: [["Lead ID", "Received", "Status", "Price"],
          ["L-1", "2026-12-07T10:00:00.000Z", "New", 12500],
          ["L-2", "", "Contacted", ""]],
        pictures: [], tables: [],
      },
      { name: "Settings", values: [["Setting", "Value"], ["Time zone", "UTC"]], pictures: [], tables: [] },
      { name: "Notes", values: [[""]], pictures: [], tables: [] },
    ],
  });
});

test("the actions land in the spreadsheet as Google would put them", async () => {
  const { grid, error } = await runPython(book(), { auth: "secret" });
  assert.equal(error, null);
  assert.deepEqual(grid.sheets.map((s) => s.name), ["Leads", "Settings", "Notes", "KPI"]);
  assert.equal(grid.active, 3, "insertSheet makes the new sheet active");
  const [leads, , , kpi] = grid.sheets;
  assert.deepEqual(leads.values, [
    ["Lead ID", "Received", "Status", "Price", "", "", "", ""],
    ["L-1", { date: "2026-12-07T10:00:00" }, "New", 12500, "", "", "", ""],
    ["L-2", "", "", "", "", "", "", ""],
    ["#FORMULA", "007", 12, { date: "2026-12-08T00:00:00" }, { date: "2026-12-08T09:30:00" },
      true, -1.5, "plain"],
  ]);
  assert.deepEqual(leads.formulas, { A4: "=SUM(D2:D3)" });
  assert.deepEqual(leads.backgrounds, { A2: "#f8cbad", B2: "#f8cbad" });
  assert.deepEqual(leads.numberFormats, { B2: "yyyy-mm-dd hh:mm", C3: "@", B3: "yyyy-mm-dd hh:mm" },
    "clearing contents keeps the format");
  assert.deepEqual(leads.links, { A3: "https://example.com/l-2" });
  assert.deepEqual(kpi.values, [["KPI", "Value"], ["Leads", 2]]);
});

test("include sends only the named tabs' values", async () => {
  const { requests } = await runPython(book(), { auth: "secret", include: "Leads, Notes" });
  const sent = JSON.parse(requests[0].body).sheets.map((s) => [s.name, s.values]);
  assert.deepEqual(sent.map(([name]) => name), ["Leads", "Settings", "Notes"]);
  assert.deepEqual(sent[1][1], [[]]);
  assert.equal(sent[0][1].length, 3);
});

test("dates go as the spreadsheet's wall clock, written as if UTC", async () => {
  const { requests } = await runPython(book("Europe/Berlin"), { auth: "secret" });
  const leads = JSON.parse(requests[0].body).sheets[0];
  assert.equal(leads.values[1][1], "2026-12-07T10:00:00.000Z");
});

test("a server error comes back as the thrown body text", async () => {
  const { error, grid } = await runPython(book(), { auth: "x" }, {
    "/run": { status: 400, type: "text/plain", body: "The Leads tab has no Status column." },
  });
  assert.equal(error, "The Leads tab has no Status column.");
  assert.deepEqual(grid.sheets.map((s) => s.name), ["Leads", "Settings", "Notes"]);
});

test("values of the wrong shape fail as in Google", async () => {
  const wrong = action("setValues",
    { sheet: 0, row: 0, col: 0, rows: 1, cols: 2, values: [["only one"]] });
  const { error } = await runPython(book(), { auth: "x" }, { "/run": { body: { actions: [wrong] } } });
  assert.match(error, /^Exception: The number of columns in the data does not match/);
});

test("an existing sheet name cannot be added again", async () => {
  const { error } = await runPython(book(), { auth: "x" }, {
    "/run": { body: { actions: [action("addSheet", { args: [3, "Notes"] })] } },
  });
  assert.match(error, /A sheet with the name "Notes" already exists/);
});

test("the fake reaches only 127.0.0.1 and localhost", () => {
  const world = createWorld(book());
  world.load(xlwingsJs());
  assert.throws(() => world.call("runPython", "https://forecourt.example.com/run", { auth: "x" }),
    /only reaches 127\.0\.0\.1 and localhost/);
  assert.equal(world.requests.length, 0);
});

test("the fake stores written strings as Google stores text a person types", () => {
  const cases = [
    ["'007", "007"], ["'=A1", "=A1"], ["''x", "'x"], ["12", 12], [" 12 ", 12], ["-1.5", -1.5],
    ["1e3", 1000], ["07700900123", 7700900123], ["+44 7700 900123", "+44 7700 900123"],
    ["TRUE", true], ["false", false], ["2026-12-07", Date.UTC(2026, 11, 7)],
    ["2026-12-07 10:05", Date.UTC(2026, 11, 7, 10, 5)], ["2026-02-30", "2026-02-30"],
    ["2026-12-07T10:00:00", "2026-12-07T10:00:00"], ["L-1", "L-1"], ["", ""], [null, ""],
  ];
  for (const [typed, stored] of cases) {
    const { value } = userEntered(typed, "UTC");
    assert.deepEqual(typeof value === "object" ? value.ms : value, stored, JSON.stringify(typed));
  }
  assert.deepEqual(userEntered("=SUM(A1:A2)", "UTC"), { value: "#FORMULA", formula: "=SUM(A1:A2)" });
});

test("grid dates are the spreadsheet's wall clock, in and out (summer time too)", () => {
  const world = createWorld({
    timeZone: "Europe/Berlin",
    sheets: [{ name: "Leads", values: [[{ date: "2026-07-01T10:00:00" }, { date: "2026-12-01T10:00:00" }]] }],
  });
  const [[summer, winter]] = world.book.getSheetByName("Leads").getRange("A1:B1").getValues();
  assert.equal(summer.toISOString(), "2026-07-01T08:00:00.000Z");
  assert.equal(winter.toISOString(), "2026-12-01T09:00:00.000Z");
  assert.deepEqual(world.toGrid().sheets[0].values,
    [[{ date: "2026-07-01T10:00:00" }, { date: "2026-12-01T10:00:00" }]]);
});
