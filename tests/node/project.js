"use strict";
/** Where the project's scripts are, and a world with them loaded, for the node tests. */

const fs = require("node:fs");
const path = require("node:path");
const { createWorld } = require("./apps_script_fake");
const { WORDS } = require("./words");

const ROOT = path.resolve(__dirname, "..", "..");
const FORECOURT_GS = path.join(ROOT, "macros", "forecourt.gs");
const RUN_MENU = path.join(__dirname, "run_menu.js");

/** xlwings' own Apps Script client, from the venv (or $XLWINGS_JS). */
function xlwingsJs() {
  if (process.env.XLWINGS_JS) return process.env.XLWINGS_JS;
  const lib = path.join(ROOT, ".venv", "lib");
  for (const python of fs.existsSync(lib) ? fs.readdirSync(lib) : []) {
    const file = path.join(lib, python, "site-packages", "xlwings", "js", "xlwings.js");
    if (fs.existsSync(file)) return file;
  }
  throw new Error("xlwings.js not found: install the project into .venv or set XLWINGS_JS");
}

/** A world holding `grid`, with xlwings.js and forecourt.gs (given `words`) loaded. */
function projectWorld(grid, words = WORDS) {
  const world = createWorld(grid);
  world.load(xlwingsJs());
  world.load(FORECOURT_GS, { __FORECOURT_WORDS__: JSON.stringify(words) });
  return world;
}

module.exports = { ROOT, FORECOURT_GS, RUN_MENU, WORDS, xlwingsJs, projectWorld };
