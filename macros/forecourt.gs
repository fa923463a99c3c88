/**
 * forecourt for Google Sheets.
 *
 * A "forecourt" menu that sends the workbook to a forecourt server (`forecourt serve`) through
 * xlwings' runPython (xlwings.js, unmodified, in the same Apps Script project), and an onEdit
 * trigger that stamps the lead's times when a person changes its status, with no server.
 *
 * Settings are Script Properties: FORECOURT_URL (the server, e.g. https://forecourt.example.com)
 * and FORECOURT_TOKEN; forecourt > Set up… writes them.
 *
 * Every global here is prefixed "forecourt" (or is an Apps Script trigger name): all files of a
 * project share one global scope, and xlwings.js looks its actions up there by name.
 */

/**
 * Header and status words, already folded (see forecourtFold):
 * {"headers": {"status": [...], "first_response_at": [...], "last_contact_at": [...],
 *  "status_since": [...]}, "statuses": {"<folded word>": "<canonical status>"}}.
 * `python -m forecourt macros export DIR` replaces the placeholder with forecourt's vocabulary.
 */
const FORECOURT_WORDS = __FORECOURT_WORDS__;

/** Statuses that mean someone spoke with the customer: they move "last contact". */
const FORECOURT_CONTACT_STATUSES = [
  "Contacted", "Appointment set", "Appointment confirmed", "Shown", "Offer sent",
  "Deposit taken", "Won",
];

/** Statuses that are no response to the customer: they never set "first response". */
const FORECOURT_NOT_A_RESPONSE = ["New", "Lost"];

/** The time columns a status change stamps. */
const FORECOURT_TIME_FIELDS = ["first_response_at", "last_contact_at", "status_since"];

/**
 * Columns kept free right of each tab's last column before sending: a Google sheet's grid is
 * fixed (a range past it throws), and forecourt may add columns (Status since, State...).
 */
const FORECOURT_SPARE_COLUMNS = 12;

/** The lead table's header row is looked for in this many top rows (a title may sit above). */
const FORECOURT_HEADER_ROWS = 10;

/** Letters NFKD does not decompose, as forecourt's Python fold() writes them. */
const FORECOURT_LETTERS = {
  "ł": "l", "Ł": "l", "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae",
  "đ": "d", "Đ": "d", "œ": "oe", "Œ": "oe",
};

/** Adds the forecourt menu when the spreadsheet opens. */
function onOpen() {
  SpreadsheetApp.getUi()
    .createMenu("forecourt")
    .addItem("Run now", "forecourtRunNow")
    .addItem("Sync now", "forecourtSyncNow")
    .addItem("Set up…", "forecourtSetup")
    .addToUi();
}

/** Menu "Run now": the server runs forecourt's rules on this spreadsheet. */
function forecourtRunNow() {
  forecourtSend("/run");
}

/** Menu "Sync now": the server syncs this spreadsheet with the dealer's workbook. */
function forecourtSyncNow() {
  forecourtSend("/sync");
}

/** Menu "Set up…": asks for the server address and the token, and keeps them. */
function forecourtSetup() {
  const ui = SpreadsheetApp.getUi();
  const url = ui.prompt("forecourt", "Server address (e.g. https://forecourt.example.com):",
    ui.ButtonSet.OK_CANCEL);
  if (url.getSelectedButton() !== ui.Button.OK) return;
  const token = ui.prompt("forecourt", "Token:", ui.ButtonSet.OK_CANCEL);
  if (token.getSelectedButton() !== ui.Button.OK) return;
  const address = forecourtTrimUrl(url.getResponseText());
  const secret = token.getResponseText().trim();
  if (!/^https?:\/\/\S+$/.test(address) || !secret) {
    ui.alert("Nothing saved: forecourt needs an address like https://forecourt.example.com "
      + "and a token.");
    return;
  }
  PropertiesService.getScriptProperties().setProperties(
    { FORECOURT_URL: address, FORECOURT_TOKEN: secret });
  SpreadsheetApp.getActive().toast("forecourt: set up");
}

/**
 * Sends the spreadsheet to the server's `path` ("/run" or "/sync") and applies its answer.
 * First asks the server which tabs it needs (POST /tabs), so only those are sent.
 * @param {string} path
 */
function forecourtSend(path) {
  const settings = forecourtSettings();
  if (!settings) return;
  const ui = SpreadsheetApp.getUi();
  const book = SpreadsheetApp.getActive();
  const names = book.getSheets().map((sheet) => sheet.getName());
  try {
    // The Sheet's id tells the server which spreadsheet this is (two may share a name), and
    // lets it keep the engine's memory with the Sheet's, as `forecourt run --sheet` does.
    const id = "?id=" + encodeURIComponent(book.getId());
    const tabs = UrlFetchApp.fetch(settings.url + "/tabs" + id, {
      method: "post",
      contentType: "application/json",
      payload: JSON.stringify({ book: book.getName(), sheets: names }),
      headers: { Authorization: settings.token },
      muteHttpExceptions: true,
    });
    if (tabs.getResponseCode() !== 200) {
      const code = tabs.getResponseCode();
      ui.alert(tabs.getContentText() || "The forecourt server answered HTTP " + code + ".");
      return;
    }
    const include = JSON.parse(tabs.getContentText()).include || "";
    book.getSheets().forEach((sheet) => {
      const room = sheet.getLastColumn() + FORECOURT_SPARE_COLUMNS - sheet.getMaxColumns();
      if (room > 0) sheet.insertColumnsAfter(sheet.getMaxColumns(), room);
    });
    const query = id + (include ? "&sent=" + encodeURIComponent(include) : "");
    // runPython throws the server's error body (a sentence for the dealer) as a string.
    runPython(settings.url + path + query, { auth: settings.token, include: include });
  } catch (error) {
    ui.alert(forecourtMessage(error));
    return;
  }
  book.toast("forecourt: done");
}

/**
 * The server address and token from Script Properties, or null after telling the user.
 * @return {?{url: string, token: string}}
 */
function forecourtSettings() {
  const properties = PropertiesService.getScriptProperties();
  const url = forecourtTrimUrl(properties.getProperty("FORECOURT_URL") || "");
  const token = properties.getProperty("FORECOURT_TOKEN") || "";
  if (!url || !token) {
    SpreadsheetApp.getUi().alert("forecourt is not set up yet: "
      + "use forecourt > Set up… to enter the server address and token.");
    return null;
  }
  return { url: url, token: token };
}

/**
 * A server address without surrounding spaces or trailing slashes.
 * @param {string} url
 * @return {string}
 */
function forecourtTrimUrl(url) {
  return String(url).trim().replace(/\/+$/, "");
}

/**
 * What to tell the user about a thrown value: runPython throws strings, Apps Script Errors.
 * @param {*} error
 * @return {string}
 */
function forecourtMessage(error) {
  if (typeof error === "string") return error;
  return error && error.message ? error.message : String(error);
}

/**
 * Simple trigger: stamps a lead's times when a person changes its status.
 * Google fires onEdit only for edits a person makes in the Sheets UI; writes by scripts or the
 * Sheets API (forecourt's own server included) never fire it, so they are never stamped.
 * @param {GoogleAppsScript.Events.SheetsOnEdit} e
 */
function onEdit(e) {
  forecourtStamp(e.range.getSheet(), e.range, e.oldValue, new Date(), FORECOURT_WORDS);
}

/**
 * Stamps the rows whose status the edit of `range` changed; returns how many rows it stamped.
 *
 * For each edited row below the lead table's header whose status cell maps to a status:
 * "status since" becomes `now`; "first response" becomes `now` if empty and the status is
 * neither New nor Lost; "last contact" becomes `now` for FORECOURT_CONTACT_STATUSES.
 * A cell the edit itself filled (a pasted row) is kept.
 *
 * @param {SpreadsheetApp.Sheet} sheet the edited sheet
 * @param {SpreadsheetApp.Range} range the edited range
 * @param {*} oldValue the single cell's value before the edit (undefined if it was empty, or for
 *     a multi-cell edit)
 * @param {Date} now the edit time
 * @param {Object} words see FORECOURT_WORDS
 * @return {number}
 */
function forecourtStamp(sheet, range, oldValue, now, words) {
  const table = forecourtFindTable(sheet, words);
  if (!table) return 0;
  const column = table.columns.status;
  const left = range.getColumn();
  const top = Math.max(range.getRow(), table.headerRow + 1);
  const bottom = range.getRow() + range.getNumRows() - 1;
  if (column < left || column >= left + range.getNumColumns() || top > bottom) return 0;

  const count = bottom - top + 1;
  const statuses = sheet.getRange(top, column, count, 1).getValues();
  if (range.getNumRows() === 1 && range.getNumColumns() === 1) {
    const before = oldValue === undefined || oldValue === null ? "" : oldValue;
    const after = statuses[0][0];
    // Retyping the status (or a word for the same status) is no change.
    if (forecourtFold(before) === forecourtFold(after)
        || forecourtStatus(before, words) === forecourtStatus(after, words)) return 0;
  }
  const times = {};
  FORECOURT_TIME_FIELDS.forEach((field) => {
    if (table.columns[field]) {
      times[field] = sheet.getRange(top, table.columns[field], count, 1).getValues();
    }
  });

  let stamped = 0;
  statuses.forEach((cells, i) => {
    const status = forecourtStatus(cells[0], words);
    if (!status) return;
    const row = top + i;
    const stamp = (field, wanted) => {
      const col = table.columns[field];
      if (!col || !wanted) return;
      const empty = times[field][i][0] === "";
      const editedHere = col >= left && col < left + range.getNumColumns();
      // Never overwrite a first response, nor what the same edit just put in the cell.
      if (!empty && (field === "first_response_at" || editedHere)) return;
      sheet.getRange(row, col).setValue(now);
    };
    stamp("status_since", true);
    stamp("first_response_at", FORECOURT_NOT_A_RESPONSE.indexOf(status) === -1);
    stamp("last_contact_at", FORECOURT_CONTACT_STATUSES.indexOf(status) !== -1);
    stamped += 1;
  });
  return stamped;
}

/**
 * The canonical status a cell's text means, or "" for an empty or unknown word.
 * @param {*} value
 * @param {Object} words
 * @return {string}
 */
function forecourtStatus(value, words) {
  const negations = words.negations || [];
  const known = forecourtLongest(forecourtFold(value),
    (prefix) => Object.prototype.hasOwnProperty.call(words.statuses, prefix),
    (rest) => !rest.some((word) => negations.indexOf(word) !== -1));
  return known ? words.statuses[known] : "";
}

/**
 * The longest leading words of a folded text that `known` accepts, when `restOk` accepts the
 * words after them, or "": as the engine reads "Kontaktiert (Tel.)" as Kontaktiert and "First
 * response (date/time)" as First response (but "Last contact notes" as notes).
 * @param {string} folded
 * @param {function(string): boolean} known
 * @param {function(Array<string>): boolean} restOk
 * @return {string}
 */
function forecourtLongest(folded, known, restOk) {
  const words = folded ? folded.split(" ") : [];
  for (let n = words.length; n > 0; n--) {
    const prefix = words.slice(0, n).join(" ");
    if (known(prefix)) return restOk(words.slice(n)) ? prefix : "";
  }
  return "";
}

/**
 * The lead table on `sheet`: the first of the top rows with a status header and at least one
 * time header (a Stock tab with only "Status" has none), or null.
 * @param {SpreadsheetApp.Sheet} sheet
 * @param {Object} words
 * @return {?{headerRow: number, columns: Object<string, number>}} 1-based row and columns
 */
function forecourtFindTable(sheet, words) {
  const rows = Math.min(sheet.getLastRow(), FORECOURT_HEADER_ROWS);
  const width = sheet.getLastColumn();
  if (rows < 1 || width < 1) return null;
  const fields = ["status"].concat(FORECOURT_TIME_FIELDS);
  const values = sheet.getRange(1, 1, rows, width).getValues();
  const stock = words.stock || [];
  for (let r = 0; r < values.length; r++) {
    // a header row with a price, mileage or year column is the stock's, however its other
    // columns read ("Last updated" is a last-contact header)
    if (values[r].some((cell) => stock.indexOf(forecourtFold(cell)) !== -1)) continue;
    const columns = {};
    values[r].forEach((cell, c) => {
      let field = null;
      const qualifiers = words.qualifiers || [];
      const found = forecourtLongest(forecourtFold(cell), (prefix) => {
        field = fields.find((f) => (words.headers[f] || []).indexOf(prefix) !== -1) || null;
        return field !== null;
      }, (rest) => rest.every((word) => qualifiers.indexOf(word) !== -1));
      if (found && !columns[field]) columns[field] = c + 1;
    });
    if (columns.status && FORECOURT_TIME_FIELDS.some((f) => columns[f])) {
      return { headerRow: r + 1, columns: columns };
    }
  }
  return null;
}

/**
 * Text as forecourt compares it (Python's validators.text.fold): lower case, no accents,
 * every run of characters other than letters, digits and "#" as one space.
 * (Python drops only marks of a non-zero combining class; this drops every mark. They differ
 * only for a few Indic and Thai vowel signs between Latin letters.)
 * @param {*} text
 * @return {string}
 */
function forecourtFold(text) {
  return String(text)
    .replace(/[łŁßøØæÆđĐœŒ]/g, (letter) => FORECOURT_LETTERS[letter])
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/#/g, " # ")
    .replace(/[^0-9a-z#]+/g, " ")
    .trim();
}
