#!/usr/bin/env node
"use strict";
/**
 * Runs one Apps Script function in the fake world and writes the spreadsheet afterwards.
 *
 *   TZ=UTC node tests/node/run_menu.js --scripts xlwings.js,forecourt.gs --grid in.json \
 *       --out out.json --call forecourtRunNow
 *   TZ=UTC node tests/node/run_menu.js --scripts ... --grid in.json --out out.json \
 *       --edit '{"sheet":"Leads","a1":"F5","value":"Contacted","oldValue":"New","now":"2026-12-07T10:00:00"}'
 *
 * --edit types "value" into the cell first (a 2-D array is pasted into a range "a1" such as
 * "F5:F7"), then calls --call (default onEdit) with the event {range, value, oldValue, source}.
 * "oldValue" defaults to what the cell held (absent if it was empty); "now" (wall clock in the
 * spreadsheet's time zone) is what `new Date()` gives the scripts.
 * --words FILE puts that JSON in place of __FORECOURT_WORDS__ in the scripts.
 *
 * out.json is the grid format (apps_script_fake.js) plus
 * {"alerts": [...], "toasts": [...], "error": null|"text", "requests": [{"url", "status"}],
 *  "menus": [{"caption", "items": [{"caption", "functionName"}]}], "logs": [...]}.
 * Exit 0 even when the script threw (see "error"); 2 for a mistake in using the harness.
 */

const fs = require("node:fs");
const { parseArgs } = require("node:util");
const { createWorld, describeError, HarnessError } = require("./apps_script_fake");

function main(argv) {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      scripts: { type: "string" }, grid: { type: "string" }, out: { type: "string" },
      call: { type: "string" }, edit: { type: "string" }, words: { type: "string" },
    },
  });
  if (!args.scripts || !args.grid || !args.out || !(args.call || args.edit)) {
    throw new HarnessError("usage: run_menu.js --scripts A,B --grid IN.json --out OUT.json "
      + "(--call NAME | --edit JSON) [--words FILE]");
  }
  const world = createWorld(JSON.parse(fs.readFileSync(args.grid, "utf8")));
  const replacements = args.words ? { __FORECOURT_WORDS__: fs.readFileSync(args.words, "utf8") } : {};
  const edit = args.edit ? JSON.parse(args.edit) : null;

  let error = null;
  try {
    for (const file of args.scripts.split(",")) world.load(file, replacements);
    if (edit) {
      if (edit.now) world.freezeClock(edit.now);
      const options = "oldValue" in edit ? { oldValue: edit.oldValue } : {};
      const event = world.edit(edit.sheet, edit.a1, edit.value, options);
      world.call(args.call || "onEdit", event);
    } else {
      world.call(args.call);
    }
  } catch (thrown) {
    if (thrown instanceof HarnessError) throw thrown;
    error = describeError(thrown);
  }
  if (world.harnessErrors.length) throw new HarnessError(world.harnessErrors.join("; "));

  const out = {
    ...world.toGrid(),
    alerts: world.ui.alerts.map((a) => a.prompt),
    toasts: world.book.toasts,
    error,
    requests: world.requests.map(({ url, status }) => ({ url, status })),
    menus: world.ui.menus,
    logs: world.logs,
  };
  fs.writeFileSync(args.out, pretty(out, "") + "\n");
}

/** JSON with one line per grid row (arrays of plain values stay on one line). */
function pretty(value, indent) {
  const inner = indent + " ";
  const nested = (v) => v !== null && typeof v === "object" && !("date" in v);
  if (Array.isArray(value) && value.some(nested)) {
    return "[\n" + value.map((v) => inner + pretty(v, inner)).join(",\n") + "\n" + indent + "]";
  }
  if (nested(value) && !Array.isArray(value) && Object.keys(value).length) {
    const entries = Object.entries(value)
      .map(([k, v]) => inner + JSON.stringify(k) + ": " + pretty(v, inner));
    return "{\n" + entries.join(",\n") + "\n" + indent + "}";
  }
  return JSON.stringify(value);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`run_menu.js: ${error && error.message ? error.message : error}\n`);
  process.exit(2);
}
