/**
 * forecourt for Excel on the web (Office Scripts).
 *
 * Office Scripts have no menu and no edit events: this script is a "Run now" button (README.md
 * says how to add it) and there is no time stamping on the web. It asks the forecourt server
 * which tabs it needs, sends those with xlwings' runPython (the BSD-licensed code below this
 * part) and lets xlwings write the server's answer into the workbook.
 */

// Fill in these two, or leave them "" and use a sheet named xlwings.conf instead:
// A1 FORECOURT_URL, B1 the address; A2 AUTH, B2 the token. Filled in here, they win.
const FORECOURT_URL = ""; // e.g. "https://forecourt.example.com"
const FORECOURT_TOKEN = ""; // from whoever runs `forecourt serve`
// "/run" for Run now. A second script, with "/sync" here, is Sync now.
const FORECOURT_ACTION = "/run";

async function main(workbook: ExcelScript.Workbook): Promise<void> {
  const settings = forecourtSettings(workbook);
  const include = await forecourtTabsToSend(workbook, settings);
  const query = include === "" ? "" : "?sent=" + encodeURIComponent(include);
  await runPython(workbook, settings.url + FORECOURT_ACTION + query, {
    auth: settings.token,
    include: include,
  });
  // runPython throws when the server answers with an error, so this is a success.
  console.log("forecourt: done");
}

interface ForecourtSettings {
  url: string;
  token: string;
}

function forecourtSettings(workbook: ExcelScript.Workbook): ForecourtSettings {
  const config: { [key: string]: string } = {};
  const sheet = workbook.getWorksheet("xlwings.conf");
  if (sheet) {
    sheet
      .getRange("A1")
      .getSurroundingRegion()
      .getValues()
      .forEach((row) => {
        const value = row.length > 1 ? row[1].toString().trim() : "";
        config[row[0].toString().trim().toUpperCase()] = value;
      });
  }
  const url = (FORECOURT_URL || config["FORECOURT_URL"] || "").trim().replace(/\/+$/, "");
  const token = (FORECOURT_TOKEN || config["AUTH"] || "").trim();
  if (url === "" || token === "") {
    throw new Error(
      "forecourt does not know its server yet: fill in FORECOURT_URL and FORECOURT_TOKEN " +
        "at the top of this script (whoever runs forecourt serve gives you both)."
    );
  }
  return { url: url, token: token };
}

// Asks the server (POST /tabs) which tabs it needs, so that the rest of the workbook is not
// sent. "" means every tab.
async function forecourtTabsToSend(
  workbook: ExcelScript.Workbook,
  settings: ForecourtSettings
): Promise<string> {
  const question = {
    book: workbook.getName(),
    sheets: workbook.getWorksheets().map((sheet) => sheet.getName()),
  };
  let response: Response;
  try {
    response = await fetch(settings.url + "/tabs", {
      method: "POST",
      headers: { Authorization: settings.token, "Content-Type": "application/json" },
      body: JSON.stringify(question),
    });
  } catch (error) {
    throw new Error(
      "forecourt could not reach its server at " + settings.url + " (" + String(error) + "). " +
        "Check FORECOURT_URL: it must start with https:// and the server must be running."
    );
  }
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(text.trim() !== "" ? text : "forecourt's server answered " + response.status);
  }
  let answer: { include?: string };
  try {
    answer = JSON.parse(text) as { include?: string };
  } catch (error) {
    throw new Error("The answer from " + settings.url + " is not forecourt's: check FORECOURT_URL.");
  }
  return typeof answer.include === "string" ? answer.include : "";
}

// ---- xlwings' Office Scripts code (xlwings.ts, BSD-licensed) follows below this line. ----
