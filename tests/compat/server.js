'use strict';
// Starts the Switchboard binary on a free port with a fresh data directory and
// builds official `twilio` clients whose requests go to it.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const twilio = require('twilio');

const DEFAULT_BIN = path.resolve(__dirname, '../../build/api/switchboard');
const READY_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 5000;

// Every live server, so that a crashing test run still kills them.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
});

// A RequestClient that sends https://<product>.twilio.com/<path>?<query> to
// http://127.0.0.1:<port>/<path>?<query> and leaves every other URL alone.
// It also keeps a short log of round trips, so failures can say what the
// library sent and what the server answered.
class LocalRequestClient extends twilio.RequestClient {
  constructor(baseUrl, opts) {
    super(opts);
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.log = [];
    this.sent = 0; // round trips so far; the log keeps only the last 50
  }

  rewrite(uri) {
    let u;
    try { u = new URL(uri); } catch (_) { return uri; }
    if (u.protocol !== 'https:' || !/^([a-z0-9-]+)(\.[a-z0-9-]+)*\.twilio\.com$/.test(u.hostname)) {
      return uri;
    }
    return this.baseUrl + u.pathname + u.search;
  }

  async request(opts) {
    const original = opts.uri;
    opts = { ...opts, uri: this.rewrite(opts.uri) };
    const entry = {
      seq: ++this.sent,
      method: opts.method,
      uri: original,
      params: opts.params,
      data: opts.data,
    };
    this.log.push(entry);
    if (this.log.length > 50) this.log.shift();
    const res = await super.request(opts);
    entry.status = res.statusCode;
    entry.body = res.body;
    return res;
  }

  last() {
    return this.log[this.log.length - 1];
  }
}

function waitForReady(child, deadlineMs, { credentials = true, name = 'server' } = {}) {
  return new Promise((resolve, reject) => {
    const info = { lines: [] };
    const rl = readline.createInterface({ input: child.stdout });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const fail = (msg) => {
      cleanup();
      reject(new Error(`${msg}\nstdout:\n${info.lines.join('\n')}\nstderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`${name} not ready within ${deadlineMs} ms`), deadlineMs);
    const onExit = (code, signal) => fail(`${name} exited early (code ${code}, signal ${signal})`);
    const onError = (err) => fail(`cannot start ${name}: ${err.message}`);
    function cleanup() {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      rl.close();
    }
    child.once('exit', onExit);
    child.once('error', onError);
    rl.on('line', (line) => {
      info.lines.push(line);
      let m;
      if ((m = /^\s*account SID:\s+(AC[0-9a-f]{32})/.exec(line))) info.accountSid = m[1];
      else if ((m = /^\s*auth token:\s+(\S+)/.exec(line))) info.authToken = m[1];
      else if ((m = /^ready port=(\d+)/.exec(line))) {
        info.port = Number(m[1]);
        cleanup();
        // Keep draining stdout so the server never blocks on a full pipe.
        child.stdout.resume();
        if (credentials && (!info.accountSid || !info.authToken)) {
          reject(new Error(`ready without credentials:\n${info.lines.join('\n')}`));
        } else {
          resolve(info);
        }
      }
    });
  });
}

function binaryPath() {
  const bin = process.env.SWITCHBOARD_BIN || DEFAULT_BIN;
  if (!fs.existsSync(bin)) {
    throw new Error(`server binary not found at ${bin} (set SWITCHBOARD_BIN)`);
  }
  return bin;
}

function spawnTracked(bin, args) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

// Stops `child` with SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. Resolves to
// {code, signal, forced}: `forced` is true when SIGTERM was not enough.
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode, forced: false };
  }
  let forced = false;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.kill('SIGTERM');
  const timer = setTimeout(() => { forced = true; child.kill('SIGKILL'); }, STOP_TIMEOUT_MS);
  const { code, signal } = await exited;
  clearTimeout(timer);
  return { code, signal, forced };
}

/**
 * Start a server. `extraAccounts` is a list of {sid, token} passed as
 * `--account SID:TOKEN`; `extraArgs` are appended to the command line as
 * they are (e.g. `--account-sid`, `--auth-token`, `--gateway`). Returns
 * {port, baseUrl, accountSid, authToken, client(sid?, token?), stop()};
 * stop() resolves to {code, signal, forced} (see stopChild).
 */
async function startServer({ extraAccounts = [], extraArgs = [] } = {}) {
  const bin = binaryPath();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-compat-'));
  const args = ['--port', '0', '--data', dataDir];
  for (const a of extraAccounts) args.push('--account', `${a.sid}:${a.token}`);
  args.push(...extraArgs);
  const child = spawnTracked(bin, args);

  let info;
  try {
    info = await waitForReady(child, READY_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${info.port}`;

  async function stop() {
    const result = await stopChild(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
    return result;
  }

  function client(sid = info.accountSid, token = info.authToken) {
    const httpClient = new LocalRequestClient(baseUrl);
    const c = twilio(sid, token, { httpClient });
    c.trace = httpClient;
    return c;
  }

  return {
    port: info.port,
    baseUrl,
    accountSid: info.accountSid,
    authToken: info.authToken,
    process: child,
    client,
    stop,
  };
}

/**
 * Start `switchboard carrier` (the loopback phone network) on a free port.
 * `accounts` is a non-empty list of {sid, token} passed as `--account
 * SID:TOKEN`; `extraArgs` are appended as they are. Returns {port, baseUrl,
 * process, client(sid, token), stop()}: client() is an official client whose
 * https://api.twilio.com requests go to the carrier.
 */
async function startCarrier({ accounts, extraArgs = [] } = {}) {
  if (!accounts || accounts.length === 0) throw new Error('startCarrier needs at least one account');
  const bin = binaryPath();
  const args = ['carrier', '--port', '0'];
  for (const a of accounts) args.push('--account', `${a.sid}:${a.token}`);
  args.push(...extraArgs);
  const child = spawnTracked(bin, args);

  let info;
  try {
    info = await waitForReady(child, READY_TIMEOUT_MS, { credentials: false, name: 'carrier' });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${info.port}`;

  function client(sid = accounts[0].sid, token = accounts[0].token) {
    const httpClient = new LocalRequestClient(baseUrl);
    const c = twilio(sid, token, { httpClient });
    c.trace = httpClient;
    return c;
  }

  return { port: info.port, baseUrl, process: child, client, stop: () => stopChild(child) };
}

// Awaits a call that must fail with the library's RestException of this
// HTTP status and Twilio code; returns the exception.
// The last round trip a client (built by startServer) made, for assertion
// messages.
function lastTrip(client) {
  const e = client && client.httpClient && client.httpClient.last ? client.httpClient.last() : null;
  if (!e) return '(no request)';
  const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  return `${e.method} ${e.uri} params=${JSON.stringify(e.params || {})} data=${JSON.stringify(e.data || {})} -> ` +
    `${e.status} ${String(body).slice(0, 600)}`;
}

// Awaits promise and checks it failed with the library's RestException of
// this status and code (with a message); client, when given, names its last
// round trip in failures.
async function expectRestError(promise, status, code, client) {
  const assert = require('node:assert/strict');
  let err;
  try {
    const v = await promise;
    assert.fail(`expected ${status}/${code}, got ${JSON.stringify(v && v.toJSON ? v.toJSON() : v)}; ${lastTrip(client)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.ok(err instanceof twilio.RestException, `expected RestException, got ${err}; ${lastTrip(client)}`);
  assert.equal(err.status, status, `status (message: ${err.message}); ${lastTrip(client)}`);
  assert.equal(err.code, code, `code (message: ${err.message}); ${lastTrip(client)}`);
  assert.ok(typeof err.message === 'string' && err.message.length > 0, 'error message is empty');
  return err;
}

module.exports = { startServer, startCarrier, expectRestError, lastTrip, LocalRequestClient, twilio, binaryPath };
