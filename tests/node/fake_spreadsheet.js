"use strict";
/**
 * An in-memory Google spreadsheet: the parts of SpreadsheetApp's Spreadsheet, Sheet, Range and
 * Ui that xlwings.js and macros/forecourt.gs use.
 *
 * Writes (setValue/setValues) parse strings as Google does for text a person types
 * ("USER_ENTERED"): "'12" is the text "12", "12" the number 12, "=A1" a formula,
 * "2026-12-07 10:00" a date in the spreadsheet's time zone, "TRUE" a boolean.
 * Not parsed (Google would): thousands separators, currency, percentages, times without a date.
 *
 * Cells keep dates as epoch milliseconds and hand out Date objects of the scripts' realm
 * (`makeDate`), so `value instanceof Date` holds inside the vm context.
 */

const DEFAULT_BACKGROUND = "#ffffff";
const DEFAULT_NUMBER_FORMAT = "0.###############";
/** A number format that shows a date or time (quoted text and escapes aside). */
const DATE_FORMAT = /^(?:[^"\\]|"[^"]*"|\\.)*?[ydhs]/i;

/** What getValues gives for a formula the fake cannot compute. */
const FORMULA_VALUE = "#FORMULA";

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPED_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const ISO_WALL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

// ---- Time zones: wall clock <-> instant, with Intl (no library).

const formatters = new Map();

/** How far `timeZone`'s wall clock is ahead of UTC at instant `ms`, in ms. */
function offsetMs(ms, timeZone) {
  if (!formatters.has(timeZone)) {
    formatters.set(timeZone, new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    }));
  }
  const whole = Math.floor(ms / 1000) * 1000;
  const parts = {};
  for (const part of formatters.get(timeZone).formatToParts(new Date(whole))) {
    parts[part.type] = Number(part.value);
  }
  const { year, month, day, hour, minute, second } = parts;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  return asUtc - whole;
}

/** The instant at which `timeZone`'s clock shows the wall-clock fields (a DST gap moves on). */
function wallToMs([year, month, day, hour = 0, minute = 0, second = 0, milli = 0], timeZone) {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second, milli);
  const first = guess - offsetMs(guess, timeZone);
  return guess - offsetMs(first, timeZone);
}

/** "YYYY-MM-DDTHH:MM:SS[.sss]" as `timeZone`'s clock shows instant `ms`. */
function msToWall(ms, timeZone) {
  const iso = new Date(ms + offsetMs(ms, timeZone)).toISOString();
  return iso.endsWith(".000Z") ? iso.slice(0, 19) : iso.slice(0, 23);
}

/** Wall-clock fields of "2026-12-07T10:00:00" (or with a space, or a date only), or null. */
function parseWall(text) {
  const m = ISO_WALL.exec(text) || TYPED_DATE.exec(text);
  if (!m) return null;
  const fields = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  if (m[7] !== undefined && m[7].length < 3) fields[6] = Number(m[7].padEnd(3, "0"));
  const [year, month, day, hour, minute, second] = fields;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return fields;
}

// ---- Values

function isDate(value) {
  return Object.prototype.toString.call(value) === "[object Date]";
}

/** A stored date. */
class Instant {
  constructor(ms) { this.ms = ms; }
}

/**
 * What Google stores for a value written with setValue(s): {value, formula}.
 * @param {*} input
 * @param {string} timeZone the spreadsheet's, for typed dates
 */
function userEntered(input, timeZone) {
  if (input === null || input === undefined || input === "") return { value: "" };
  if (isDate(input)) return { value: new Instant(input.getTime()) };
  if (typeof input === "number" || typeof input === "boolean") return { value: input };
  const text = String(input);
  if (text.startsWith("'")) return { value: text.slice(1) };
  if (text.length > 1 && text.startsWith("=")) return { value: FORMULA_VALUE, formula: text };
  const trimmed = text.trim();
  if (NUMBER.test(trimmed)) return { value: Number(trimmed) };
  if (/^(true|false)$/i.test(trimmed)) return { value: trimmed.toLowerCase() === "true" };
  const typed = TYPED_DATE.exec(trimmed) && parseWall(trimmed);
  if (typed) return { value: new Instant(wallToMs(typed, timeZone)) };
  return { value: text };
}

// ---- A1 notation

function columnLetters(col) {
  let letters = "";
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}

function a1(row, col) {
  return columnLetters(col) + row;
}

/** {row, col} of "B7" / "$B$7". */
function parseCell(text) {
  const m = /^\$?([A-Z]+)\$?(\d+)$/i.exec(text.trim());
  if (!m) return null;
  let col = 0;
  for (const ch of m[1].toUpperCase()) col = col * 26 + (ch.charCodeAt(0) - 64);
  return { row: Number(m[2]), col };
}

/** {row, col, numRows, numCols} of "B7" or "B7:D9", or null. */
function parseA1(text) {
  const [from, to = from] = String(text).split(":");
  const a = parseCell(from);
  const b = parseCell(to);
  if (!a || !b) return null;
  return {
    row: Math.min(a.row, b.row), col: Math.min(a.col, b.col),
    numRows: Math.abs(b.row - a.row) + 1, numCols: Math.abs(b.col - a.col) + 1,
  };
}

// ---- Spreadsheet, Sheet, Range

class FakeSpreadsheet {
  /**
   * @param {{name: string, timeZone: string, makeDate: function(number): Date,
   *          makeError: function(string): Error}} realm
   */
  constructor({ name = "Book", timeZone = "UTC", makeDate, makeError }) {
    this._name = name;
    this._timeZone = timeZone;
    this._sheets = [];
    this._active = null;
    this._selection = "A1";
    this.makeDate = makeDate;
    this.makeError = makeError;
    this.toasts = [];
  }

  getName() { return this._name; }
  rename(name) { this._name = String(name); }
  getId() { return this._id || "fake-spreadsheet"; }
  getSpreadsheetTimeZone() { return this._timeZone; }
  setSpreadsheetTimeZone(timeZone) { this._timeZone = timeZone; }
  getSheets() { return this._sheets.slice(); }
  getNumSheets() { return this._sheets.length; }
  getSheetByName(name) { return this._sheets.find((s) => s.getName() === name) || null; }
  getActiveSheet() { return this._active || this._sheets[0]; }
  setActiveSheet(sheet) { return this.activate(sheet, "A1"); }
  getActiveRange() { return this.getActiveSheet().getRange(this._selection); }
  getNamedRanges() { return []; }
  toast(message) { this.toasts.push(String(message)); }

  /** Makes `sheet` active with `selection` selected (as a person clicking). */
  activate(sheet, selection) {
    this._active = sheet;
    this._selection = selection;
    return sheet;
  }

  /** Google's insertSheet(name, index): index is 0-based; the new sheet becomes active. */
  insertSheet(name, index) {
    if (name === undefined) {
      let n = this._sheets.length + 1;
      while (this.getSheetByName("Sheet" + n)) n += 1;
      name = "Sheet" + n;
    }
    name = String(name);
    if (this.getSheetByName(name)) throw this.makeError(nameTaken(name));
    const at = index === undefined ? this._sheets.length : Number(index);
    if (!Number.isInteger(at) || at < 0 || at > this._sheets.length) {
      throw this.makeError(`Invalid argument: sheetIndex (${index}, ${this._sheets.length} sheets)`);
    }
    const sheet = new FakeSheet(this, name);
    this._sheets.splice(at, 0, sheet);
    return this.activate(sheet, "A1");
  }

  deleteSheet(sheet) {
    if (this._sheets.length === 1) {
      throw this.makeError("You can't remove all the sheets in a document.");
    }
    this._sheets.splice(this._sheets.indexOf(sheet), 1);
    if (this._active === sheet) this.activate(this._sheets[0], "A1");
  }
}

class FakeSheet {
  constructor(book, name) {
    this._book = book;
    this._name = name;
    /** "row,col" -> {value, formula, background, numberFormat, link} */
    this._cells = new Map();
    // Google's grid: a new sheet has 1000 rows and 26 columns; a range past them throws.
    this._maxRows = 1000;
    this._maxCols = 26;
  }

  getName() { return this._name; }
  setName(name) {
    const other = this._book.getSheetByName(String(name));
    if (other && other !== this) throw this._book.makeError(nameTaken(name));
    this._name = String(name);
    return this;
  }
  getIndex() { return this._book._sheets.indexOf(this) + 1; }
  getParent() { return this._book; }
  getSheetId() { return this.getIndex(); }
  getImages() { return []; }
  activate() { this._book.activate(this, "A1"); return this; }
  autoResizeColumns() { return this; }
  autoResizeRows() { return this; }

  /** The last row with a value or formula; 0 when the sheet is empty. */
  getLastRow() { return this._extent().rows; }
  getLastColumn() { return this._extent().cols; }
  getMaxRows() { return this._maxRows; }
  getMaxColumns() { return this._maxCols; }
  insertRowsAfter(after, howMany) { this._maxRows += howMany; return this; }
  insertColumnsAfter(after, howMany) { this._maxCols += howMany; return this; }

  /** getRange(row, col[, numRows[, numCols]]) or getRange("B2") / getRange("B2:D4"). */
  getRange(row, col, numRows = 1, numCols = 1) {
    if (typeof row === "string") {
      const parsed = parseA1(row);
      if (!parsed) throw this._book.makeError(`Range not found: ${row}`);
      return new FakeRange(this, parsed.row, parsed.col, parsed.numRows, parsed.numCols);
    }
    if (row + numRows - 1 > this._maxRows || col + numCols - 1 > this._maxCols) {
      throw this._book.makeError(
        "The coordinates of the range are outside the dimensions of the sheet.");
    }
    return new FakeRange(this, row, col, numRows, numCols);
  }

  getDataRange() {
    const { rows, cols } = this._extent();
    return new FakeRange(this, 1, 1, Math.max(rows, 1), Math.max(cols, 1));
  }

  clear() { this._cells.clear(); return this; }
  clearContents() { this.getDataRange().clearContent(); return this; }
  clearFormats() { this.getDataRange().clearFormat(); return this; }

  _extent() {
    let rows = 0;
    let cols = 0;
    for (const [key, cell] of this._cells) {
      if (cell.value === "" && !cell.formula) continue;
      const [row, col] = key.split(",").map(Number);
      rows = Math.max(rows, row);
      cols = Math.max(cols, col);
    }
    return { rows, cols };
  }

  /** The cell at (row, col), created (the grid grows) when `create`. */
  _cell(row, col, create) {
    const key = row + "," + col;
    let cell = this._cells.get(key);
    if (!cell && create) {
      cell = {
        value: "", formula: "", link: "",
        background: DEFAULT_BACKGROUND, numberFormat: DEFAULT_NUMBER_FORMAT,
      };
      this._cells.set(key, cell);
    }
    return cell;
  }

  /** Drops a cell left with nothing but defaults. */
  _tidy(row, col) {
    const cell = this._cell(row, col, false);
    if (cell && cell.value === "" && !cell.formula && !cell.link
        && cell.background === DEFAULT_BACKGROUND && cell.numberFormat === DEFAULT_NUMBER_FORMAT) {
      this._cells.delete(row + "," + col);
    }
  }
}

class FakeRange {
  constructor(sheet, row, col, numRows, numCols) {
    const book = sheet._book;
    for (const [what, n] of [["row", row], ["column", col], ["rows", numRows], ["columns", numCols]]) {
      if (!Number.isInteger(n) || n < 1) {
        throw book.makeError(`The ${what} of the range must be at least 1 (got ${n}).`);
      }
    }
    this._sheet = sheet;
    this._row = row;
    this._col = col;
    this._numRows = numRows;
    this._numCols = numCols;
  }

  getSheet() { return this._sheet; }
  getRow() { return this._row; }
  getColumn() { return this._col; }
  getNumRows() { return this._numRows; }
  getNumColumns() { return this._numCols; }
  getLastRow() { return this._row + this._numRows - 1; }
  getLastColumn() { return this._col + this._numCols - 1; }
  getA1Notation() {
    const first = a1(this._row, this._col);
    if (this._numRows === 1 && this._numCols === 1) return first;
    return first + ":" + a1(this.getLastRow(), this.getLastColumn());
  }
  activate() { this._sheet._book.activate(this._sheet, this.getA1Notation()); return this; }

  /** The whole used range of the sheet (enough for xlwings.conf). */
  getDataRegion() { return this._sheet.getDataRange(); }

  getValues() { return this._map((cell) => this._out(cell ? cell.value : "")); }
  getValue() { return this._out(this._at(this._row, this._col, "value", "")); }
  getFormulas() { return this._map((cell) => (cell ? cell.formula : "")); }
  getFormula() { return this._at(this._row, this._col, "formula", ""); }
  getBackgrounds() { return this._map((cell) => (cell ? cell.background : DEFAULT_BACKGROUND)); }
  getBackground() { return this._at(this._row, this._col, "background", DEFAULT_BACKGROUND); }
  getNumberFormats() { return this._map((cell) => (cell ? cell.numberFormat : DEFAULT_NUMBER_FORMAT)); }
  getNumberFormat() { return this._at(this._row, this._col, "numberFormat", DEFAULT_NUMBER_FORMAT); }
  isBlank() {
    return this._map((cell) => !cell || (cell.value === "" && !cell.formula)).flat().every(Boolean);
  }

  /** Writes a row-major array of exactly the range's size, parsed as typed by a person. */
  setValues(values) {
    const book = this._sheet._book;
    if (!Array.isArray(values) || values.length !== this._numRows) {
      const got = Array.isArray(values) ? values.length : 0;
      throw book.makeError(mismatch("rows", got, this._numRows));
    }
    for (const row of values) {
      const got = Array.isArray(row) ? row.length : 0;
      if (got !== this._numCols) {
        throw book.makeError(mismatch("columns", got, this._numCols));
      }
    }
    values.forEach((row, r) => row.forEach((value, c) => {
      this._write(this._row + r, this._col + c, value);
    }));
    return this;
  }

  /** Writes `value` (parsed as typed) into every cell of the range. */
  setValue(value) {
    this._each((row, col) => this._write(row, col, value));
    return this;
  }

  setFormula(formula) { return this.setValue(formula); }

  setBackground(color) {
    const background = color === null || color === undefined ? DEFAULT_BACKGROUND : String(color);
    return this._format("background", background);
  }

  setNumberFormat(format) { return this._format("numberFormat", String(format)); }

  /** Keeps the text (not parsed) and its link. */
  setRichTextValue(rich) {
    this._each((row, col) => {
      const cell = this._sheet._cell(row, col, true);
      Object.assign(cell, { value: rich.text, formula: "", link: rich.url || "" });
      this._sheet._tidy(row, col);
    });
    return this;
  }

  clearContent() {
    this._each((row, col) => this._write(row, col, ""));
    return this;
  }

  clearFormat() {
    this._each((row, col) => {
      const cell = this._sheet._cell(row, col, false);
      if (cell) {
        Object.assign(cell, { background: DEFAULT_BACKGROUND, numberFormat: DEFAULT_NUMBER_FORMAT });
      }
      this._sheet._tidy(row, col);
    });
    return this;
  }

  clear() {
    this._each((row, col) => this._sheet._cells.delete(row + "," + col));
    return this;
  }

  _write(row, col, input) {
    const { value, formula = "" } = userEntered(input, this._sheet._book.getSpreadsheetTimeZone());
    const cell = this._sheet._cell(row, col, true);
    Object.assign(cell, { value, formula, link: "" });
    this._asDate(cell);
    this._sheet._tidy(row, col);
  }

  _format(field, value) {
    this._each((row, col) => {
      const cell = this._sheet._cell(row, col, true);
      cell[field] = value;
      this._asDate(cell);
      this._sheet._tidy(row, col);
    });
    return this;
  }

  /** Google's dates are numbers shown with a date format: such a cell reads back as a Date. */
  _asDate(cell) {
    if (typeof cell.value !== "number" || !DATE_FORMAT.test(cell.numberFormat)) return;
    const wall = new Date(Math.round((cell.value - 25569) * 86400000));
    const fields = [wall.getUTCFullYear(), wall.getUTCMonth() + 1, wall.getUTCDate(),
      wall.getUTCHours(), wall.getUTCMinutes(), wall.getUTCSeconds(), wall.getUTCMilliseconds()];
    cell.value = new Instant(wallToMs(fields, this._sheet._book.getSpreadsheetTimeZone()));
  }

  _out(value) {
    return value instanceof Instant ? this._sheet._book.makeDate(value.ms) : value;
  }

  _at(row, col, field, fallback) {
    const cell = this._sheet._cell(row, col, false);
    return cell ? cell[field] : fallback;
  }

  _each(fn) {
    for (let r = 0; r < this._numRows; r++) {
      for (let c = 0; c < this._numCols; c++) fn(this._row + r, this._col + c);
    }
  }

  _map(fn) {
    const rows = [];
    for (let r = 0; r < this._numRows; r++) {
      const row = [];
      for (let c = 0; c < this._numCols; c++) {
        row.push(fn(this._sheet._cell(this._row + r, this._col + c, false)));
      }
      rows.push(row);
    }
    return rows;
  }
}

// ---- Ui

const BUTTON_SET = {
  OK: "OK", OK_CANCEL: "OK_CANCEL", YES_NO: "YES_NO", YES_NO_CANCEL: "YES_NO_CANCEL",
};
const BUTTON = { CLOSE: "CLOSE", OK: "OK", CANCEL: "CANCEL", YES: "YES", NO: "NO" };

/**
 * SpreadsheetApp.getUi(): alerts are recorded (and answered OK, or YES for yes/no buttons);
 * prompts take the next scripted answer: a string is typed and OK pressed, null is Cancel;
 * with no answers left, Cancel.
 */
class FakeUi {
  constructor(answers = []) {
    this.ButtonSet = BUTTON_SET;
    this.Button = BUTTON;
    this.alerts = [];
    this.prompts = [];
    this.menus = [];
    this._answers = answers.slice();
  }

  /** alert(prompt), alert(prompt, buttons) or alert(title, prompt, buttons). */
  alert(...args) {
    const { title, prompt, buttons } = dialogArgs(args);
    this.alerts.push({ title, prompt, buttons });
    const yesNo = buttons === BUTTON_SET.YES_NO || buttons === BUTTON_SET.YES_NO_CANCEL;
    return yesNo ? BUTTON.YES : BUTTON.OK;
  }

  prompt(...args) {
    const { title, prompt, buttons } = dialogArgs(args);
    const answer = this._answers.length ? this._answers.shift() : null;
    this.prompts.push({ title, prompt, buttons, answer });
    const button = answer === null ? BUTTON.CANCEL : BUTTON.OK;
    return {
      getResponseText: () => (answer === null ? "" : String(answer)),
      getSelectedButton: () => button,
    };
  }

  createMenu(caption) {
    const menu = { caption, items: [] };
    const builder = {
      addItem: (itemCaption, functionName) => {
        menu.items.push({ caption: itemCaption, functionName });
        return builder;
      },
      addSeparator: () => builder,
      addSubMenu: () => builder,
      addToUi: () => { this.menus = this.menus.filter((m) => m.caption !== caption).concat([menu]); },
    };
    return builder;
  }
}

function nameTaken(name) {
  return `A sheet with the name "${name}" already exists. Please enter another name.`;
}

function mismatch(what, got, want) {
  return `The number of ${what} in the data does not match the number of ${what} in the range. `
    + `The data has ${got} but the range has ${want}.`;
}

function dialogArgs(args) {
  if (args.length >= 3) return { title: String(args[0]), prompt: String(args[1]), buttons: args[2] };
  return { title: "", prompt: String(args[0]), buttons: args[1] || BUTTON_SET.OK };
}

module.exports = {
  DEFAULT_BACKGROUND, DEFAULT_NUMBER_FORMAT, FORMULA_VALUE,
  FakeSpreadsheet, FakeSheet, FakeRange, FakeUi, Instant,
  a1, parseA1, parseWall, wallToMs, msToWall, userEntered, isDate,
};
