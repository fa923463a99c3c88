"use strict";
/**
 * A small fake Apps Script world: SpreadsheetApp, UrlFetchApp, PropertiesService, Session,
 * Utilities, Logger and console over an in-memory spreadsheet (fake_spreadsheet.js), and a
 * vm context to load .gs/.js files into, as one Apps Script project.
 *
 *     const world = createWorld(grid);            // grid: the JSON format below
 *     world.load("macros/forecourt.gs", {__FORECOURT_WORDS__: JSON.stringify(words)});
 *     world.call("forecourtRunNow");
 *     world.toGrid();                              // the grid again, after the script
 *
 * Grid format (the runner's --grid and --out):
 *     {"name": "Book", "timeZone": "UTC", "active": 0,
 *      "sheets": [{"name": "Leads", "values": [["Lead ID", "Received"],
 *                                              ["L-1", {"date": "2026-12-07T10:00:00"}]],
 *                  "backgrounds": {"A2": "#f8cbad"}, "numberFormats": {"B2": "yyyy-mm-dd hh:mm"},
 *                  "formulas": {"C5": "=A1"}, "links": {"A3": "https://..."}}],
 *      "properties": {"FORECOURT_URL": "http://127.0.0.1:PORT", "FORECOURT_TOKEN": "t"},
 *      "uiAnswers": ["http://127.0.0.1:1234", "token"]}
 * Values are stored as given (not parsed): strings, numbers, booleans, null or "" for empty,
 * {"date": "<wall clock, no Z>"} for dates, read in the spreadsheet's time zone ("UTC" unless
 * "timeZone" says otherwise). Run node with TZ=UTC too: then the script's clock, which
 * xlwings.js's date conversion goes through, shows the same wall clock as the spreadsheet's
 * (the tests pass in other zones, but UTC keeps the arithmetic simple to follow).
 * A formula's value is the cell in "values" if given,
 * else "#FORMULA". Output lists every row and column up to getLastRow/getLastColumn, "" for
 * empty; the four maps only list cells that differ from the default (background "#ffffff",
 * number format "0.###############"). "active" is the 0-based index of the active sheet.
 * "uiAnswers" answer ui.prompt in order (a string: typed, then OK; null: Cancel; none left:
 * Cancel); ui.alert is recorded and answered OK (YES for yes/no buttons).
 *
 * Scripts are loaded with vm.runInContext into one context: their top-level `this` is the
 * context's global object, so xlwings.js's `let funcs = this; funcs[action.func]` finds the
 * functions every file declares, and a clashing let/const fails to load, as in Apps Script.
 */

const childProcess = require("node:child_process");
const fs = require("node:fs");
const vm = require("node:vm");
const {
  DEFAULT_BACKGROUND, DEFAULT_NUMBER_FORMAT, FORMULA_VALUE,
  FakeSpreadsheet, FakeUi, Instant, a1, parseA1, parseWall, wallToMs, msToWall,
} = require("./fake_spreadsheet");

/** A mistake in using the harness (not in the script under test). */
class HarnessError extends Error {}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost"]);

// A child node does the HTTP request, so UrlFetchApp.fetch can block as it does in Apps Script.
const FETCH_CHILD = `
let input = "";
process.stdin.on("data", (chunk) => (input += chunk)).on("end", async () => {
  const request = JSON.parse(input);
  try {
    const { url, method, headers: sent, body } = request;
    const response = await fetch(url, { method, headers: sent, body });
    const headers = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    const text = await response.text();
    process.stdout.write(JSON.stringify({ status: response.status, text, headers }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String((error && error.cause) || error) }));
  }
});`;

/**
 * A fresh Apps Script world holding the spreadsheet `grid` describes.
 * @param {Object} grid see the format above
 */
function createWorld(grid = {}) {
  const context = vm.createContext({});
  const RealmDate = vm.runInContext("Date", context);
  const RealmError = vm.runInContext("Error", context);
  const makeError = (message) => {
    const error = new RealmError(message);
    error.name = "Exception";
    return error;
  };
  const book = bookFromGrid(grid, { makeDate: (ms) => new RealmDate(ms), makeError });
  const ui = new FakeUi(grid.uiAnswers || []);
  const properties = new FakeProperties(grid.properties);
  const requests = [];
  const logs = [];
  const harnessErrors = [];
  const log = (...args) => logs.push(args.map(String).join(" "));

  Object.assign(context, {
    SpreadsheetApp: {
      getActive: () => book,
      getActiveSpreadsheet: () => book,
      getActiveSheet: () => book.getActiveSheet(),
      getActiveRange: () => book.getActiveRange(),
      getUi: () => ui,
      flush: () => {},
      newRichTextValue: richTextBuilder,
      Dimension: { ROWS: "ROWS", COLUMNS: "COLUMNS" },
    },
    UrlFetchApp: {
      fetch: (url, options) => fetchSync(url, options, { requests, makeError, harnessErrors }),
    },
    PropertiesService: {
      getScriptProperties: () => properties,
      getDocumentProperties: () => properties,
      getUserProperties: () => properties,
    },
    Session: {
      // A simple trigger or a consumer account often gets "" here.
      getActiveUser: () => ({ getEmail: () => "" }),
      getEffectiveUser: () => ({ getEmail: () => "" }),
      getScriptTimeZone: () => Intl.DateTimeFormat().resolvedOptions().timeZone,
    },
    Utilities: {
      base64Decode: (text) => Array.from(Buffer.from(String(text), "base64")),
      newBlob: (data, contentType, name) => ({ data, contentType, name, getBytes: () => data }),
      sleep: () => {},
    },
    Logger: { log },
    console: { log, info: log, warn: log, error: log },
  });

  return {
    context, book, ui, properties, requests, logs, HarnessError,
    /** Harness failures a script may have caught (the runner exits non-zero on them). */
    harnessErrors,

    /** Runs a script file in the project; `replacements` maps tokens to text first. */
    load(file, replacements = {}) {
      if (!fs.existsSync(file)) throw new HarnessError(`No script file ${file}`);
      let code = fs.readFileSync(file, "utf8");
      for (const [token, text] of Object.entries(replacements)) code = code.split(token).join(text);
      vm.runInContext(code, context, { filename: file });
    },

    /** Calls a global function of the project, as the menu or a trigger would. */
    call(name, ...args) {
      if (typeof context[name] !== "function") {
        throw new HarnessError(`Script function not found: ${name}`);
      }
      return context[name](...args);
    },

    /**
     * Types `value` into `a1` on `sheetName` as a person would (a 2-D array: pastes it) and
     * returns the onEdit event. `oldValue` defaults to what the cell held (undefined if empty).
     */
    edit(sheetName, address, value, options = {}) {
      const sheet = book.getSheetByName(sheetName);
      const where = parseA1(address);
      if (!sheet || !where) throw new HarnessError(`No cell ${address} on a sheet "${sheetName}"`);
      const range = sheet.getRange(address);
      book.activate(sheet, range.getA1Notation());
      const user = { getEmail: () => "" };
      const event = { range, source: book, user, authMode: "LIMITED", triggerUid: "" };
      if (Array.isArray(value)) {
        range.setValues(value);
        return event;
      }
      if (where.numRows !== 1 || where.numCols !== 1) {
        throw new HarnessError("Give a 2-D array to paste into a range");
      }
      const before = range.getValue();
      range.setValue(value);
      event.value = value === "" || value === null ? undefined : String(value);
      if ("oldValue" in options) {
        event.oldValue = options.oldValue === null ? undefined : options.oldValue;
      } else if (before !== "") {
        event.oldValue = before instanceof RealmDate
          ? msToWall(before.getTime(), book.getSpreadsheetTimeZone()) : String(before);
      }
      return event;
    },

    /** From now on `new Date()` in the scripts is this wall-clock time of the spreadsheet. */
    freezeClock(wall) {
      const fields = parseWall(wall);
      if (!fields) throw new HarnessError(`Not a wall-clock time: ${wall}`);
      const now = wallToMs(fields, book.getSpreadsheetTimeZone());
      context.__fakeNow = now;
      // A Proxy, not a subclass: dates made elsewhere stay `instanceof Date`.
      vm.runInContext(`if (!globalThis.__fakeClock) {
        globalThis.__fakeClock = true;
        globalThis.Date = new Proxy(Date, {
          construct: (target, args, newTarget) =>
            Reflect.construct(target, args.length ? args : [__fakeNow], newTarget),
          apply: (target) => new target(__fakeNow).toString(),
          get: (target, key) => (key === "now" ? () => __fakeNow : Reflect.get(target, key)),
        });
      }`, context);
    },

    /** The spreadsheet and script properties in the grid format. */
    toGrid() {
      return { ...gridFromBook(book), properties: properties.getProperties() };
    },
  };
}

/** PropertiesService's Properties, over a plain object of strings. */
class FakeProperties {
  constructor(initial = {}) {
    this._values = {};
    this.setProperties(initial || {});
  }
  getProperty(key) { return key in this._values ? this._values[key] : null; }
  getProperties() { return { ...this._values }; }
  getKeys() { return Object.keys(this._values); }
  setProperty(key, value) { this._values[key] = String(value); return this; }
  setProperties(values, deleteAllOthers = false) {
    if (deleteAllOthers) this._values = {};
    for (const [key, value] of Object.entries(values)) this.setProperty(key, value);
    return this;
  }
  deleteProperty(key) { delete this._values[key]; return this; }
  deleteAllProperties() { this._values = {}; return this; }
}

function richTextBuilder() {
  const rich = { text: "", url: "" };
  const builder = {
    setText: (text) => { rich.text = String(text); return builder; },
    setLinkUrl: (url) => { rich.url = String(url); return builder; },
    build: () => ({ ...rich, getText: () => rich.text, getLinkUrl: () => rich.url }),
  };
  return builder;
}

/**
 * UrlFetchApp.fetch: a real, blocking HTTP request, to 127.0.0.1/localhost only.
 * Records {url, method, headers, body, status} in `requests`.
 */
function fetchSync(url, options = {}, { requests, makeError, harnessErrors }) {
  let target;
  try {
    target = new URL(url);
  } catch {
    throw makeError(`Invalid argument: ${url}`);
  }
  if (!LOCAL_HOSTS.has(target.hostname)) {
    throw makeError(
      `The fake UrlFetchApp only reaches 127.0.0.1 and localhost, not ${target.hostname}`);
  }
  const method = String(options.method || "get").toUpperCase();
  const headers = { ...(options.headers || {}) };
  let body;
  if (options.payload !== undefined && method !== "GET") {
    if (typeof options.payload === "string") {
      body = options.payload;
      if (options.contentType) headers["Content-Type"] = options.contentType;
    } else {
      body = new URLSearchParams(options.payload).toString();
      headers["Content-Type"] = options.contentType || "application/x-www-form-urlencoded";
    }
  }
  const child = childProcess.spawnSync(process.execPath, ["-e", FETCH_CHILD], {
    input: JSON.stringify({ url, method, headers, body }),
    encoding: "utf8",
    timeout: 60000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (child.error || child.status !== 0) {
    const error = new HarnessError(`fetch child failed: ${child.error || child.stderr}`);
    harnessErrors.push(error.message);
    throw error;
  }
  const answer = JSON.parse(child.stdout);
  const record = { url, method, headers, body, status: answer.error ? null : answer.status };
  requests.push(record);
  if (answer.error) throw makeError(`Address unavailable: ${url} (${answer.error})`);
  if (answer.status >= 400 && !options.muteHttpExceptions) {
    throw makeError(`Request failed for ${url} returned code ${answer.status}. `
      + `Truncated server response: ${answer.text.slice(0, 200)} `
      + "(use muteHttpExceptions option to examine full response)");
  }
  return {
    getResponseCode: () => answer.status,
    getContentText: () => answer.text,
    getHeaders: () => ({ ...answer.headers }),
    getAllHeaders: () => ({ ...answer.headers }),
  };
}

// ---- The grid format

/** A FakeSpreadsheet holding `grid`'s sheets, values and formats. */
function bookFromGrid(grid, realm) {
  const timeZone = grid.timeZone || "UTC";
  const book = new FakeSpreadsheet({ name: grid.name || "Book", timeZone, ...realm });
  if (grid.id) book._id = String(grid.id);
  const sheets = grid.sheets && grid.sheets.length ? grid.sheets : [{ name: "Sheet1" }];
  for (const spec of sheets) {
    const sheet = book.insertSheet(spec.name);
    const values = spec.values || [];
    sheet._maxRows = spec.maxRows || Math.max(1000, values.length);
    sheet._maxCols = spec.maxColumns || Math.max(26, ...values.map((row) => row.length));
    values.forEach((row, r) => row.forEach((value, c) => {
      const stored = storedValue(value, timeZone);
      if (stored !== "") sheet._cell(r + 1, c + 1, true).value = stored;
    }));
    const each = (map, fn) => Object.entries(map || {}).forEach(([address, value]) => {
      const where = parseA1(address);
      if (!where) throw new HarnessError(`Not a cell address: ${address} on ${spec.name}`);
      fn(sheet._cell(where.row, where.col, true), value);
    });
    each(spec.formulas, (cell, formula) => {
      cell.formula = formula;
      if (cell.value === "") cell.value = FORMULA_VALUE;
    });
    each(spec.backgrounds, (cell, color) => (cell.background = color));
    each(spec.numberFormats, (cell, format) => (cell.numberFormat = format));
    each(spec.links, (cell, url) => (cell.link = url));
  }
  book.activate(book.getSheets()[grid.active || 0] || book.getSheets()[0], "A1");
  return book;
}

function storedValue(value, timeZone) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object" && "date" in value) {
    const fields = parseWall(value.date);
    const ms = fields ? wallToMs(fields, timeZone) : Date.parse(value.date);
    if (Number.isNaN(ms)) throw new HarnessError(`Not a date: ${value.date}`);
    return new Instant(ms);
  }
  if (typeof value === "object") throw new HarnessError(`Not a cell value: ${JSON.stringify(value)}`);
  return value;
}

/** The grid format of `book` (without properties). */
function gridFromBook(book) {
  const timeZone = book.getSpreadsheetTimeZone();
  return {
    name: book.getName(),
    timeZone,
    active: book.getActiveSheet().getIndex() - 1,
    sheets: book.getSheets().map((sheet) => {
      const rows = sheet.getLastRow();
      const cols = sheet.getLastColumn();
      const values = [];
      for (let r = 1; r <= rows; r++) {
        const row = [];
        for (let c = 1; c <= cols; c++) {
          const cell = sheet._cell(r, c, false);
          const value = cell ? cell.value : "";
          row.push(value instanceof Instant ? { date: msToWall(value.ms, timeZone) } : value);
        }
        values.push(row);
      }
      const maps = { backgrounds: {}, numberFormats: {}, formulas: {}, links: {} };
      for (const [key, cell] of [...sheet._cells].sort(byPosition)) {
        const [row, col] = key.split(",").map(Number);
        const address = a1(row, col);
        if (cell.background !== DEFAULT_BACKGROUND) maps.backgrounds[address] = cell.background;
        if (cell.numberFormat !== DEFAULT_NUMBER_FORMAT) {
          maps.numberFormats[address] = cell.numberFormat;
        }
        if (cell.formula) maps.formulas[address] = cell.formula;
        if (cell.link) maps.links[address] = cell.link;
      }
      return { name: sheet.getName(), values, ...maps };
    }),
  };
}

function byPosition([a], [b]) {
  const [ra, ca] = a.split(",").map(Number);
  const [rb, cb] = b.split(",").map(Number);
  return ra - rb || ca - cb;
}

/** A thrown value as one line: strings as they are (xlwings.js throws strings). */
function describeError(error) {
  if (typeof error === "string") return error;
  if (error && typeof error === "object" && "message" in error) {
    return `${error.name || "Error"}: ${error.message}`;
  }
  return String(error);
}

module.exports = { createWorld, describeError, HarnessError, bookFromGrid, gridFromBook };
