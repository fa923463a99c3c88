"use strict";
/**
 * A tiny HTTP server on 127.0.0.1 for the tests, in a worker thread: UrlFetchApp.fetch blocks
 * the test's own thread while it waits for the answer, so the server needs a thread of its own.
 */

const { Worker } = require("node:worker_threads");

const WORKER = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const server = http.createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => (body += chunk)).on("end", () => {
    const { method, url, headers } = req;
    parentPort.postMessage({ request: { method, url, headers, body } });
    const path = req.url.split("?")[0];
    const answer = workerData.routes[path] || { status: 404, body: "No route " + path };
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status || 200, { "Content-Type": answer.type || "application/json" });
    res.end(text);
  });
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (message) => {
  if (message === "ping") parentPort.postMessage({ pong: true });
  if (message === "close") server.close(() => process.exit(0));
});`;

/**
 * Starts a server answering each path of `routes` with {status, body, type}: body a string, or
 * JSON of anything else. Resolves to {url, requests, settle(), close()}; `requests` fills up
 * with {method, url, headers, body} (call `await settle()` after a blocking fetch).
 */
function startServer(routes) {
  const worker = new Worker(WORKER, { eval: true, workerData: { routes } });
  const requests = [];
  let waiting = null;
  return new Promise((resolve, reject) => {
    worker.on("error", reject);
    worker.on("message", (message) => {
      if (message.request) requests.push(message.request);
      if (message.pong && waiting) waiting();
      if (message.port) {
        resolve({
          url: `http://127.0.0.1:${message.port}`,
          requests,
          // Messages keep their order: once the pong is back, every request's is too.
          settle: () => new Promise((done) => { waiting = done; worker.postMessage("ping"); }),
          close: () => new Promise((done) => {
            worker.once("exit", done);
            worker.postMessage("close");
          }),
        });
      }
    });
  });
}

module.exports = { startServer };
