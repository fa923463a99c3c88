"use strict";
/** macros/forecourt.gs in the fake Apps Script world: the onEdit stamps, fold, the menu. */

const assert = require("node:assert/strict");
const childProcess = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { test } = require("node:test");
const { createWorld } = require("./apps_script_fake");
const { FORECOURT_GS, ROOT, WORDS, projectWorld, xlwingsJs } = require("./project");

const NOW = "2026-12-07T10:00:00";
const STAMP = { date: NOW };
const EARLIER = { date: "2026-12-01T09:00:00" };

const LANGUAGES = [
  {
    lang: "English", title: [],
    headers: ["Lead ID", "Name", "Status", "First response", "Last contact", "Status since"],
    say: {
      New: "New", Contacted: "Contacted", "Attempting contact": "Attempting contact", Lost: "Lost",
    },
  },
  {
    lang: "German, below a title row", title: [["Anfragen Autohaus Müller"]],
    headers: ["Anfrage-Nr.", "Name", "Stand", "Erste Antwort", "Letzter Kontakt", "Status seit:"],
    say: { New: "Neu", Contacted: "Kontaktiert", "Attempting contact": "Kontaktversuch", Lost: "Verloren" },
  },
  {
    lang: "Polish, below a title and an empty row", title: [["Zapytania – Komis Łódź"], []],
    headers: ["Nr", "Klient", "Etap", "Pierwsza odpowiedź", "Ostatni kontakt", "Status od"],
    say: { New: "Nowy", Contacted: "Skontaktowano", "Attempting contact": "Próba kontaktu", Lost: "Utracony" },
  },
];

/**
 * A book whose Leads tab has `title` rows, then `headers`, then three leads (New; Attempting
 * contact with a first response; Contacted with both times), and a Stock tab with a Status.
 */
function leadsBook({ title = [], headers = LANGUAGES[0].headers, say = LANGUAGES[0].say } = {}) {
  return {
    name: "Dealer", timeZone: "UTC", active: 0,
    sheets: [
      {
        name: "Leads",
        values: [...title, headers,
          ["L-1", "Ann", say.New, "", "", EARLIER],
          ["L-2", "Bob", say["Attempting contact"], EARLIER, "", EARLIER],
          ["L-3", "Cem", say.Contacted, EARLIER, EARLIER, EARLIER]],
      },
      { name: "Stock", values: [["Stock #", "Make", "Status", "Added"], ["S-1", "Skoda", "On lot", EARLIER]] },
    ],
  };
}

/** The cells (as "Sheet!A1") whose value `act` changed, with their new values. */
function changes(world, act) {
  const cells = (grid) => {
    const map = {};
    for (const sheet of grid.sheets) {
      sheet.values.forEach((row, r) => row.forEach((value, c) => {
        map[`${sheet.name}!${String.fromCharCode(65 + c)}${r + 1}`] = value;
      }));
    }
    return map;
  };
  const before = cells(world.toGrid());
  act();
  const after = cells(world.toGrid());
  const changed = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = key in before ? before[key] : "";
    const is = key in after ? after[key] : "";
    if (JSON.stringify(was) !== JSON.stringify(is)) changed[key] = is;
  }
  return changed;
}

/** A person types `value` into `a1` (or pastes a 2-D array) at NOW; onEdit runs. */
function typeInto(world, sheet, a1, value) {
  return changes(world, () => {
    world.freezeClock(NOW);
    world.call("onEdit", world.edit(sheet, a1, value));
  });
}

function rowOf(language, lead) {
  return language.title.length + 1 + lead;
}

for (const language of LANGUAGES) {
  test(`${language.lang}: New -> Contacted stamps first response, last contact and status since`, () => {
    const world = projectWorld(leadsBook(language));
    const row = rowOf(language, 1);
    assert.deepEqual(typeInto(world, "Leads", `C${row}`, language.say.Contacted), {
      [`Leads!C${row}`]: language.say.Contacted,
      [`Leads!D${row}`]: STAMP, [`Leads!E${row}`]: STAMP, [`Leads!F${row}`]: STAMP,
    });
  });

  test(`${language.lang}: Attempting contact stamps first response and status since, not last contact`, () => {
    const world = projectWorld(leadsBook(language));
    const row = rowOf(language, 1);
    assert.deepEqual(typeInto(world, "Leads", `C${row}`, language.say["Attempting contact"]), {
      [`Leads!C${row}`]: language.say["Attempting contact"],
      [`Leads!D${row}`]: STAMP, [`Leads!F${row}`]: STAMP,
    });
  });

  test(`${language.lang}: Lost stamps status since only`, () => {
    const world = projectWorld(leadsBook(language));
    const row = rowOf(language, 1);
    assert.deepEqual(typeInto(world, "Leads", `C${row}`, language.say.Lost), {
      [`Leads!C${row}`]: language.say.Lost, [`Leads!F${row}`]: STAMP,
    });
  });

  test(`${language.lang}: retyping the same status stamps nothing`, () => {
    const world = projectWorld(leadsBook(language));
    const row = rowOf(language, 1);
    const retyped = ` ${language.say.New.toUpperCase()} `;
    assert.deepEqual(typeInto(world, "Leads", `C${row}`, retyped), { [`Leads!C${row}`]: retyped });
  });
}

test("an existing first response is kept; last contact and status since move", () => {
  const world = projectWorld(leadsBook());
  assert.deepEqual(typeInto(world, "Leads", "C3", "Appointment set"), {
    "Leads!C3": "Appointment set", "Leads!E3": STAMP, "Leads!F3": STAMP,
  });
});

test("a status typed into an empty cell stamps (the event has no oldValue)", () => {
  const book = leadsBook();
  book.sheets[0].values[1][2] = "";
  const world = projectWorld(book);
  assert.deepEqual(typeInto(world, "Leads", "C2", "no answer"), {
    "Leads!C2": "no answer", "Leads!D2": STAMP, "Leads!F2": STAMP,
  });
});

test("an unknown status word stamps nothing", () => {
  const world = projectWorld(leadsBook());
  assert.deepEqual(typeInto(world, "Leads", "C2", "Call back"), { "Leads!C2": "Call back" });
});

test("another word for the same status is no change", () => {
  const world = projectWorld(leadsBook());
  assert.deepEqual(typeInto(world, "Leads", "C4", "Spoke to"), { "Leads!C4": "Spoke to" });
});

test("clearing a status stamps nothing", () => {
  const world = projectWorld(leadsBook());
  assert.deepEqual(typeInto(world, "Leads", "C2", ""), { "Leads!C2": "" });
});

test("a Stock tab with only a Status column is never stamped", () => {
  const world = projectWorld(leadsBook());
  assert.deepEqual(typeInto(world, "Stock", "C2", "Sold"), { "Stock!C2": "Sold" });
});

test("edits outside the status column below the header stamp nothing", () => {
  const world = projectWorld(leadsBook(LANGUAGES[1]));
  assert.deepEqual(typeInto(world, "Leads", "B3", "Contacted"), { "Leads!B3": "Contacted" });
  assert.deepEqual(typeInto(world, "Leads", "C1", "Contacted"), { "Leads!C1": "Contacted" });
  assert.deepEqual(typeInto(world, "Leads", "C2", "Status"), { "Leads!C2": "Status" });
});

test("a header row below row 10 is not looked for", () => {
  const book = leadsBook({ title: Array.from({ length: 10 }, (_, i) => [`note ${i + 1}`]) });
  const world = projectWorld(book);
  assert.deepEqual(typeInto(world, "Leads", "C12", "Contacted"), { "Leads!C12": "Contacted" });
});

test("a table with only status since gets only that stamp", () => {
  const values = [["Lead", "Stage", "Status since"], ["L-1", "New", ""]];
  const world = projectWorld({ sheets: [{ name: "Leads", values }] });
  assert.deepEqual(typeInto(world, "Leads", "B2", "Won"), { "Leads!B2": "Won", "Leads!C2": STAMP });
});

test("an empty sheet is left alone", () => {
  const world = projectWorld({ sheets: [{ name: "Leads" }] });
  assert.deepEqual(typeInto(world, "Leads", "C2", "Contacted"), { "Leads!C2": "Contacted" });
});

test("a multi-cell paste stamps each row whose status is non-empty", () => {
  const world = projectWorld(leadsBook());
  assert.deepEqual(typeInto(world, "Leads", "C2:C4", [["Contacted"], [""], ["Won"]]), {
    "Leads!C2": "Contacted", "Leads!D2": STAMP, "Leads!E2": STAMP, "Leads!F2": STAMP,
    "Leads!C3": "",
    "Leads!C4": "Won", "Leads!E4": STAMP, "Leads!F4": STAMP,
  });
});

test("a pasted row keeps the times pasted with it", () => {
  const world = projectWorld(leadsBook());
  const pasted = [["Dora", "Contacted", "2026-12-01 09:00", "", ""]];
  assert.deepEqual(typeInto(world, "Leads", "B2:F2", pasted), {
    "Leads!B2": "Dora", "Leads!C2": "Contacted",
    "Leads!D2": EARLIER, "Leads!E2": STAMP, "Leads!F2": STAMP,
  });
});

test("forecourtStamp is a plain function of the sheet, the range, the old value, now and the words", () => {
  const world = projectWorld(leadsBook());
  const sheet = world.book.getSheetByName("Leads");
  const now = new Date(Date.UTC(2026, 11, 24, 8, 30));
  let count;
  const changed = changes(world, () => {
    sheet.getRange("C2").setValue("Won");
    count = world.call("forecourtStamp", sheet, sheet.getRange("C2"), "New", now, WORDS);
  });
  assert.equal(count, 1);
  const at = { date: "2026-12-24T08:30:00" };
  assert.deepEqual(changed, { "Leads!C2": "Won", "Leads!D2": at, "Leads!E2": at, "Leads!F2": at });
});

test("the stamps are Date values (not text)", () => {
  const world = projectWorld(leadsBook());
  typeInto(world, "Leads", "C2", "Contacted");
  const value = world.book.getSheetByName("Leads").getRange("F2").getValue();
  assert.equal(Object.prototype.toString.call(value), "[object Date]");
  assert.equal(value.toISOString(), `${NOW}.000Z`);
});

test("fold works as the brief's examples say", () => {
  const world = projectWorld(leadsBook());
  const fold = (text) => world.call("forecourtFold", text);
  assert.equal(fold("  Data zgłoszenia "), "data zgloszenia");
  assert.equal(fold("Status seit:"), "status seit");
  assert.equal(fold("Próba kontaktu"), "proba kontaktu");
  assert.equal(fold("Lead#"), "lead #");
  assert.equal(fold("Straße – Œuvre, Ørsted & Æble"), "strasse oeuvre orsted aeble");
});

const FOLD_SAMPLES = [
  "  Data zgłoszenia ", "Status seit:", "Próba kontaktu", "Łódź", "Straße", "STRASSE", "Ørsted",
  "Æble", "Đorđe", "Œuvre", "Lead #", "#1 lead", "Nr#", "ﬁrst response", "①②", "İstanbul",
  "Ａｂｃ", "1ˢᵗ response", "Café—bar", "x\u0301y", "", "123", "ΣΑΣ", "ǅemal", "Erste Rückmeldung",
  "Umówione spotkanie", "Pierwsza odpowiedź", "Termin bestätigt", "Status_od", "e-mail/phone",
  "tab\tnew\nline", "Ｎｅｗ", "№ 5", "½ price", "ﬀ", "Ĳssel", "ŉ", "ꝏ", "ẞ", "Ⅻ",
  ...Object.keys(WORDS.statuses),
];

test("fold gives what forecourt's Python fold gives", (t) => {
  const python = process.env.PYTHON || path.join(ROOT, ".venv", "bin", "python");
  if (!fs.existsSync(python)) return t.skip("no Python: set PYTHON or make .venv");
  const script = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("text", "validators/text.py")
text = importlib.util.module_from_spec(spec); spec.loader.exec_module(text)
print(json.dumps([text.fold(s) for s in json.load(sys.stdin)]))`;
  const run = childProcess.spawnSync(python, ["-c", script],
    { cwd: ROOT, input: JSON.stringify(FOLD_SAMPLES), encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const world = projectWorld(leadsBook());
  assert.deepEqual(FOLD_SAMPLES.map((s) => world.call("forecourtFold", s)), JSON.parse(run.stdout));
});

test("the test words are folded, as the exporter hands them over", () => {
  const world = projectWorld(leadsBook());
  const all = [...Object.values(WORDS.headers).flat(), ...Object.keys(WORDS.statuses)];
  for (const word of all) assert.equal(world.call("forecourtFold", word), word);
});

test("xlwings.js and forecourt.gs load into one project without clashing", () => {
  const world = createWorld(leadsBook());
  world.load(xlwingsJs());
  const before = Object.fromEntries(Object.keys(world.context).map((k) => [k, world.context[k]]));
  world.load(FORECOURT_GS, { __FORECOURT_WORDS__: JSON.stringify(WORDS) });
  for (const [name, value] of Object.entries(before)) assert.equal(world.context[name], value, name);

  const source = fs.readFileSync(FORECOURT_GS, "utf8");
  const declarations = source.matchAll(/^(?:function|const|let|var|class)\s+([\w$]+)/gm);
  const declared = [...declarations].map((m) => m[1]);
  assert.ok(declared.includes("forecourtStamp"));
  for (const name of declared) {
    assert.match(name, /^(forecourt[A-Z]\w*|FORECOURT_[A-Z_]+|onOpen|onEdit)$/, name);
  }
  assert.equal(source.split("__FORECOURT_WORDS__").length - 1, 1, "the exporter replaces one placeholder");
  // xlwings.js finds its actions through `funcs`, the project's global object.
  assert.equal(world.context.funcs, undefined); // a top-level let: not a global property...
  const found = vm.runInContext("funcs === globalThis && typeof funcs.setValues", world.context);
  assert.equal(found, "function");
});

test("onOpen adds the forecourt menu with its three items", () => {
  const world = projectWorld(leadsBook());
  world.call("onOpen");
  assert.deepEqual(world.ui.menus, [{
    caption: "forecourt",
    items: [
      { caption: "Run now", functionName: "forecourtRunNow" },
      { caption: "Sync now", functionName: "forecourtSyncNow" },
      { caption: "Set up…", functionName: "forecourtSetup" },
    ],
  }]);
  for (const item of world.ui.menus[0].items) {
    assert.equal(typeof world.context[item.functionName], "function");
  }
});

test("onEdit never reaches for the network", () => {
  const world = projectWorld(leadsBook());
  world.context.UrlFetchApp = { fetch: () => assert.fail("onEdit fetched") };
  typeInto(world, "Leads", "C2", "Contacted");
  assert.equal(world.requests.length, 0);
});
