'use strict';
// The messaging edge through the official `twilio` library: `switchboard
// carrier` plays the phone network, the server sends to it as its SMS and
// WhatsApp gateway, and a webhook receiver here checks every webhook with the
// library's own `validateRequest`. Every assertion follows a real round trip.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { EventEmitter } = require('node:events');
const { startServer, startCarrier, expectRestError, twilio } = require('./server');

const ACCOUNT_SID = 'AC' + '5e1d9c0ffee0b1a2c3d4e5f60718293a';
const AUTH_TOKEN = 'edge-compat-token-0123456789';

const AGENT_NUMBER = '+15550007000'; // the address configuration's number (proxy address)
const CUSTOMER = '+15551230077'; // the handset that texts in
const UNREACHABLE = '+15551230066'; // the carrier ends messages to it "undelivered" (30003)
const WA_AGENT = 'whatsapp:+15550007001';
const WA_CUSTOMER = 'whatsapp:+15551230088';
const WAIT_MS = 10000; // deadline for anything asynchronous
const POLL_MS = 25;

let carrier;
let server;
let receiver;
let client; // official client against the server
let cv; // client.conversations.v1
let carrierClient; // official client against the carrier (api.twilio.com)

// What the earlier steps leave for the later ones.
const state = {};

const isSid = (prefix, s) => new RegExp(`^${prefix}[0-9a-f]{32}$`).test(s);

// ---------------------------------------------------------------------------
// Webhook receiver: records every request with its signature check.

function parseForm(body) {
  const params = {};
  for (const [k, v] of new URLSearchParams(body)) {
    if (k in params) params[k] = [].concat(params[k], v);
    else params[k] = v;
  }
  return params;
}

async function startReceiver(authToken) {
  const records = [];
  const events = new EventEmitter();
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const url = `http://127.0.0.1:${srv.address().port}${req.url}`;
      const params = parseForm(body);
      const signature = req.headers['x-twilio-signature'];
      const rec = {
        seq: records.length,
        method: req.method,
        path: new URL(url).pathname,
        url,
        contentType: req.headers['content-type'],
        signature,
        params,
        body,
        valid: twilio.validateRequest(authToken, signature, url, params),
      };
      // The pre-action hook turns down anything that mentions spam.
      if (rec.path === '/pre' && /spam/i.test(params.Body || '')) {
        rec.answered = 403;
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('no spam here');
      } else {
        rec.answered = 200;
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
      }
      records.push(rec);
      events.emit('record', rec);
    });
  });
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const base = `http://127.0.0.1:${srv.address().port}`;

  // Resolves with the first record (already received or still to come) for
  // which pred holds; rejects after timeoutMs.
  function waitFor(pred, what, timeoutMs = WAIT_MS) {
    const hit = records.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const onRecord = (rec) => {
        if (!pred(rec)) return;
        clearTimeout(timer);
        events.off('record', onRecord);
        resolve(rec);
      };
      const timer = setTimeout(() => {
        events.off('record', onRecord);
        reject(new Error(`receiver: no ${what} within ${timeoutMs} ms; got:\n${summary()}`));
      }, timeoutMs);
      events.on('record', onRecord);
    });
  }

  function summary() {
    return records.map((r) => `  #${r.seq} ${r.method} ${r.path} ${r.params.EventType || ''} valid=${r.valid}`).join('\n') || '  (nothing)';
  }

  function close() {
    return new Promise((resolve) => {
      srv.close(() => resolve());
      srv.closeAllConnections();
    });
  }

  return { base, records, waitFor, summary, close };
}

// ---------------------------------------------------------------------------
// Helpers

// Calls fn until it returns a truthy value, every POLL_MS, until a deadline.
async function eventually(fn, what, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS)); // poll interval of a wait with a deadline
  }
}

async function postForm(url, fields, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: res.status, text, json };
}

const events = (type) => (r) => r.params.EventType === type;

// ---------------------------------------------------------------------------

before(async () => {
  receiver = await startReceiver(AUTH_TOKEN);
  carrier = await startCarrier({
    accounts: [{ sid: ACCOUNT_SID, token: AUTH_TOKEN }],
    extraArgs: ['--undeliverable', UNREACHABLE],
  });
  const gateway = `${carrier.baseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json`;
  server = await startServer({
    extraArgs: [
      '--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN,
      '--gateway', `sms=${gateway}`, '--gateway', `whatsapp=${gateway}`,
    ],
  });
  assert.equal(server.accountSid, ACCOUNT_SID);
  assert.equal(server.authToken, AUTH_TOKEN);
  client = server.client();
  cv = client.conversations.v1;
  carrierClient = carrier.client(ACCOUNT_SID, AUTH_TOKEN);
});

after(async () => {
  // Idempotent: the last test stops both already when it gets that far.
  if (server) await server.stop();
  if (carrier) await carrier.stop();
  if (receiver) await receiver.close();
});

test('inbound SMS auto-creates a conversation; its webhooks arrive in order and validate', async () => {
  const cfg = await cv.addressConfigurations.create({
    type: 'sms',
    address: AGENT_NUMBER,
    friendlyName: 'Edge test number',
    'autoCreation.enabled': true,
    'autoCreation.type': 'webhook',
    'autoCreation.webhookUrl': `${receiver.base}/auto`,
    'autoCreation.webhookMethod': 'post',
    'autoCreation.webhookFilters': ['onParticipantAdded', 'onMessageAdded', 'onDeliveryUpdated'],
  });
  assert.ok(isSid('IG', cfg.sid));
  assert.equal(cfg.type, 'sms');
  assert.equal(cfg.address, AGENT_NUMBER);
  assert.equal(cfg.autoCreation.enabled, true);
  assert.equal(cfg.autoCreation.type, 'webhook');
  assert.equal(cfg.autoCreation.webhook_url, `${receiver.base}/auto`);
  state.addressConfig = cfg;

  // The carrier delivers a text from the customer to the server's edge.
  const sim = await postForm(`${carrier.baseUrl}/sim/inbound`, {
    From: CUSTOMER, To: AGENT_NUMBER, Body: 'Hello from the handset', Url: `${server.baseUrl}/edge/inbound`,
  });
  assert.equal(sim.status, 200, sim.text);
  assert.equal(sim.json.status, 200);
  assert.ok(isSid('SM', sim.json.message_sid), sim.text);
  assert.match(sim.json.body, /<Response\s*\/?>/);

  const pAdded = await receiver.waitFor((r) => r.path === '/auto' && events('onParticipantAdded')(r), 'onParticipantAdded');
  const mAdded = await receiver.waitFor((r) => r.path === '/auto' && events('onMessageAdded')(r), 'onMessageAdded');
  assert.ok(pAdded.seq < mAdded.seq, `onParticipantAdded before onMessageAdded:\n${receiver.summary()}`);
  for (const r of [pAdded, mAdded]) {
    assert.equal(r.method, 'POST');
    assert.match(r.contentType, /^application\/x-www-form-urlencoded/);
    assert.ok(r.signature, 'X-Twilio-Signature present');
    assert.equal(r.valid, true, `signature of ${r.params.EventType} validates`);
    assert.equal(r.params.AccountSid, ACCOUNT_SID);
  }

  assert.equal(mAdded.params.Source, 'SMS');
  assert.equal(mAdded.params.Body, 'Hello from the handset');
  assert.equal(mAdded.params.Author, CUSTOMER);
  assert.equal(mAdded.params.Index, '0');
  assert.equal(pAdded.params['MessagingBinding.Address'], CUSTOMER);
  assert.equal(pAdded.params['MessagingBinding.ProxyAddress'], AGENT_NUMBER);
  assert.equal(pAdded.params.ConversationSid, mAdded.params.ConversationSid);
  assert.equal(mAdded.params.ParticipantSid, pAdded.params.ParticipantSid);

  // A tampered copy of a genuine webhook does not validate.
  const tampered = { ...mAdded.params, Body: 'Hello from someone else' };
  assert.equal(twilio.validateRequest(AUTH_TOKEN, mAdded.signature, mAdded.url, tampered), false);
  assert.equal(twilio.validateRequest(AUTH_TOKEN, mAdded.signature, `${receiver.base}/elsewhere`, mAdded.params), false);
  assert.equal(twilio.validateRequest('another-token', mAdded.signature, mAdded.url, mAdded.params), false);

  // What the library sees.
  const convs = await cv.conversations.list();
  assert.equal(convs.length, 1);
  const conv = convs[0];
  assert.equal(conv.sid, mAdded.params.ConversationSid);
  assert.ok(isSid('CH', conv.sid));
  assert.equal(conv.state, 'active');
  assert.equal(conv.accountSid, ACCOUNT_SID);

  const parts = await cv.conversations(conv.sid).participants.list();
  assert.equal(parts.length, 1);
  assert.equal(parts[0].sid, pAdded.params.ParticipantSid);
  assert.equal(parts[0].identity, null);
  assert.deepEqual(parts[0].messagingBinding, { type: 'sms', address: CUSTOMER, proxy_address: AGENT_NUMBER });

  const msgs = await cv.conversations(conv.sid).messages.list();
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].sid, mAdded.params.MessageSid);
  assert.equal(msgs[0].body, 'Hello from the handset');
  assert.equal(msgs[0].author, CUSTOMER);
  assert.equal(msgs[0].participantSid, parts[0].sid);
  assert.equal(msgs[0].index, 0);

  // The address configuration's webhook became the conversation's scoped one.
  const hooks = await cv.conversations(conv.sid).webhooks.list();
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0].target, 'webhook');
  assert.equal(hooks[0].configuration.url, `${receiver.base}/auto`);
  assert.equal(String(hooks[0].configuration.method).toUpperCase(), 'POST');
  assert.deepEqual(hooks[0].configuration.filters, ['onParticipantAdded', 'onMessageAdded', 'onDeliveryUpdated']);

  state.conv = conv;
  state.customer = parts[0];
});

test('an inbound request signed here with the library joins the open conversation', async () => {
  assert.ok(state.conv, 'needs the conversation of the first test');
  const url = `${server.baseUrl}/edge/inbound`;
  const form = {
    AccountSid: ACCOUNT_SID, MessageSid: 'SM' + 'c'.repeat(32), From: CUSTOMER, To: AGENT_NUMBER,
    Body: 'Second text', NumMedia: '0',
  };
  const unsigned = await postForm(url, form);
  assert.equal(unsigned.status, 401, unsigned.text);
  assert.equal(unsigned.json && unsigned.json.code, 20003);
  const forged = await postForm(url, form, { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature('wrong', url, form) });
  assert.equal(forged.status, 403, forged.text);
  assert.equal(forged.json && forged.json.code, 20003);
  assert.equal((await cv.conversations(state.conv.sid).messages.list()).length, 1, 'refused requests add nothing');

  const signed = await postForm(url, form, { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, form) });
  assert.equal(signed.status, 200, signed.text);
  assert.match(signed.text, /<Response\s*\/?>/);

  const msgs = await cv.conversations(state.conv.sid).messages.list();
  assert.deepEqual(msgs.map((m) => [m.index, m.author, m.body]), [[0, CUSTOMER, 'Hello from the handset'], [1, CUSTOMER, 'Second text']]);
  assert.equal((await cv.conversations.list()).length, 1, 'no second conversation');
  const hook = await receiver.waitFor((r) => events('onMessageAdded')(r) && r.params.Index === '1', 'onMessageAdded #1');
  assert.equal(hook.valid, true);
  assert.equal(hook.params.Source, 'SMS');
});

test('outbound: an agent message reaches the handset and its delivery receipt says delivered', async () => {
  assert.ok(state.conv, 'needs the conversation of the first test');
  const C = cv.conversations(state.conv.sid);
  const agent = await C.participants.create({ identity: 'agent' });
  assert.ok(isSid('MB', agent.sid));
  assert.equal(agent.messagingBinding, null);

  const msg = await C.messages.create({ author: 'agent', body: 'Hi, how can I help?' });
  assert.ok(isSid('IM', msg.sid));
  assert.equal(msg.participantSid, agent.sid);

  const receipt = await eventually(async () => {
    const list = await C.messages(msg.sid).deliveryReceipts.list();
    return list.find((r) => r.participantSid === state.customer.sid && r.status === 'delivered');
  }, 'delivery receipt delivered');
  const all = await C.messages(msg.sid).deliveryReceipts.list();
  assert.equal(all.length, 1, 'one receipt: the SMS participant (not the author)');
  assert.ok(isSid('DY', receipt.sid));
  assert.ok(isSid('SM', receipt.channelMessageSid));
  assert.equal(receipt.accountSid, ACCOUNT_SID);
  assert.equal(receipt.conversationSid, state.conv.sid);
  assert.equal(receipt.messageSid, msg.sid);
  assert.equal(receipt.errorCode, null);
  assert.ok(receipt.dateCreated instanceof Date && !isNaN(receipt.dateCreated));
  assert.ok(receipt.dateUpdated instanceof Date && !isNaN(receipt.dateUpdated));
  assert.equal(receipt.url,
    `https://conversations.twilio.com/v1/Conversations/${state.conv.sid}/Messages/${msg.sid}/Receipts/${receipt.sid}`);

  const fetched = await C.messages(msg.sid).deliveryReceipts(receipt.sid).fetch();
  assert.equal(fetched.sid, receipt.sid);
  assert.equal(fetched.status, 'delivered');
  assert.equal(fetched.channelMessageSid, receipt.channelMessageSid);
  assert.equal(fetched.participantSid, state.customer.sid);
  // The same receipt under the service-scoped path.
  const scoped = cv.services(state.conv.chatServiceSid).conversations(state.conv.sid).messages(msg.sid).deliveryReceipts;
  const scopedList = await scoped.list();
  assert.deepEqual(scopedList.map((r) => [r.sid, r.status]), [[receipt.sid, 'delivered']]);
  assert.equal(scopedList[0].chatServiceSid, state.conv.chatServiceSid);
  assert.equal((await scoped(receipt.sid).fetch()).channelMessageSid, receipt.channelMessageSid);

  // The carrier's own record of that send carries the same SID.
  const atCarrier = await carrierClient.messages(receipt.channelMessageSid).fetch();
  assert.equal(atCarrier.sid, receipt.channelMessageSid);
  assert.equal(atCarrier.to, CUSTOMER);
  assert.equal(atCarrier.from, AGENT_NUMBER);
  assert.equal(atCarrier.body, 'Hi, how can I help?');
  assert.equal(atCarrier.status, 'delivered');

  const summary = (await C.messages(msg.sid).fetch()).delivery;
  assert.deepEqual(summary, { total: 1, sent: 'all', delivered: 'all', read: 'none', failed: 'none', undelivered: 'none' });

  // onDeliveryUpdated went to the scoped webhook, signed.
  const upd = await receiver.waitFor(
    (r) => events('onDeliveryUpdated')(r) && r.params.MessageSid === msg.sid && r.params.Status === 'delivered',
    'onDeliveryUpdated delivered');
  assert.equal(upd.valid, true);
  assert.equal(upd.params.DeliveryReceiptSid, receipt.sid);
  assert.equal(upd.params.ChannelMessageSid, receipt.channelMessageSid);
  assert.equal(upd.params.ParticipantSid, state.customer.sid);

  state.agent = agent;
  state.outbound = { msg, receipt };
});

test("the carrier's Messages API through the official library (api.v2010)", async () => {
  assert.ok(state.outbound, 'needs the outbound message of the previous test');
  const sent = await carrierClient.messages.list({ to: CUSTOMER });
  const mine = sent.find((m) => m.sid === state.outbound.receipt.channelMessageSid);
  assert.ok(mine, `the outbound message is listed: ${JSON.stringify(sent.map((m) => m.sid))}`);
  assert.equal(mine.status, 'delivered');
  assert.equal(mine.direction, 'outbound-api');
  assert.equal(mine.accountSid, ACCOUNT_SID);
  assert.equal(mine.from, AGENT_NUMBER);
  assert.equal(mine.body, 'Hi, how can I help?');
  assert.ok(mine.dateCreated instanceof Date && !isNaN(mine.dateCreated), `dateCreated ${mine.dateCreated}`);
  for (const m of sent) assert.equal(m.to, CUSTOMER);

  const created = await carrierClient.messages.create({
    from: AGENT_NUMBER, to: '+15551230099', body: 'Direct send', statusCallback: `${receiver.base}/status?tag=direct`,
  });
  assert.ok(isSid('SM', created.sid), created.sid);
  assert.equal(created.status, 'queued');
  assert.equal(created.to, '+15551230099');
  assert.equal(created.from, AGENT_NUMBER);
  assert.equal(created.body, 'Direct send');
  assert.equal(created.accountSid, ACCOUNT_SID);
  assert.equal(created.direction, 'outbound-api');
  assert.equal(created.numSegments, '1');
  assert.equal((await carrierClient.messages(created.sid).fetch()).sid, created.sid);

  // The carrier's status callbacks, signed like Twilio's, in order.
  const cbSent = await receiver.waitFor((r) => r.path === '/status' && r.params.MessageSid === created.sid && r.params.MessageStatus === 'sent', 'status callback sent');
  const cbDelivered = await receiver.waitFor((r) => r.path === '/status' && r.params.MessageSid === created.sid && r.params.MessageStatus === 'delivered', 'status callback delivered');
  assert.ok(cbSent.seq < cbDelivered.seq);
  for (const cb of [cbSent, cbDelivered]) {
    assert.equal(cb.valid, true, `status callback ${cb.params.MessageStatus} validates (url with its query)`);
    assert.equal(cb.url, `${receiver.base}/status?tag=direct`);
    assert.equal(cb.params.AccountSid, ACCOUNT_SID);
    assert.equal(cb.params.To, '+15551230099');
    assert.equal(cb.params.From, AGENT_NUMBER);
  }
  assert.equal((await carrierClient.messages(created.sid).fetch()).status, 'delivered');

  // Paging: the library follows next_page_uri across pages of one.
  const everything = await carrierClient.messages.list();
  const paged = await carrierClient.messages.list({ pageSize: 1 });
  assert.ok(everything.length >= 2);
  assert.deepEqual(paged.map((m) => m.sid), everything.map((m) => m.sid));
  const onlyTo = await carrierClient.messages.list({ to: '+15551230099' });
  assert.deepEqual(onlyTo.map((m) => m.sid), [created.sid]);

  const bad = await expectRestError(carrierClient.messages.create({ from: AGENT_NUMBER, to: 'not-a-number', body: 'x' }), 400, 21211);
  assert.ok(bad.moreInfo && bad.moreInfo.includes('21211'), `more_info ${bad.moreInfo}`);

  await expectRestError(carrierClient.messages.create({ from: AGENT_NUMBER, to: '+15551230099' }), 400, 21602);
  await expectRestError(carrierClient.messages('SM' + '0'.repeat(32)).fetch(), 404, 20404);
  const wrong = carrier.client(ACCOUNT_SID, 'not-the-token');
  await expectRestError(wrong.messages.list(), 401, 20003);
});

test('carrier: a send with MessagingServiceSid and no From is taken, as on Twilio', async () => {
  // The library documents `from` as optional when `messagingServiceSid` is
  // given (Twilio picks a sender from the service's pool; "from" is null
  // until then).
  const mg = 'MG' + 'a'.repeat(32);
  const created = await carrierClient.messages.create({ messagingServiceSid: mg, to: '+15551230099', body: 'via a service' });
  assert.ok(isSid('SM', created.sid), created.sid);
  assert.equal(created.messagingServiceSid, mg);
});

test('WhatsApp: inbound auto-creation with Source WHATSAPP, outbound read receipt', async () => {
  await cv.addressConfigurations.create({
    type: 'whatsapp', address: WA_AGENT,
    'autoCreation.enabled': true, 'autoCreation.type': 'webhook',
    'autoCreation.webhookUrl': `${receiver.base}/wa`, 'autoCreation.webhookFilters': ['onMessageAdded', 'onDeliveryUpdated'],
  });
  const sim = await postForm(`${carrier.baseUrl}/sim/inbound`, {
    From: WA_CUSTOMER, To: WA_AGENT, Body: 'Hola', Url: `${server.baseUrl}/edge/inbound`,
  });
  assert.equal(sim.status, 200, sim.text);
  const added = await receiver.waitFor((r) => r.path === '/wa' && events('onMessageAdded')(r), 'WhatsApp onMessageAdded');
  assert.equal(added.valid, true);
  assert.equal(added.params.Source, 'WHATSAPP');
  assert.equal(added.params.Author, WA_CUSTOMER);
  const C = cv.conversations(added.params.ConversationSid);
  const [customer] = await C.participants.list();
  assert.deepEqual(customer.messagingBinding, { type: 'whatsapp', address: WA_CUSTOMER, proxy_address: WA_AGENT });

  await C.participants.create({ identity: 'agent' });
  const msg = await C.messages.create({ author: 'agent', body: 'Hola, ¿qué tal?' });
  const receipt = await eventually(async () => {
    const [r] = await C.messages(msg.sid).deliveryReceipts.list();
    return r && r.status === 'read' && r;
  }, 'WhatsApp receipt read');
  assert.equal(receipt.participantSid, customer.sid);
  const atCarrier = await carrierClient.messages(receipt.channelMessageSid).fetch();
  assert.equal(atCarrier.to, WA_CUSTOMER);
  assert.equal(atCarrier.from, WA_AGENT);
  assert.equal(atCarrier.body, 'Hola, ¿qué tal?');
  assert.deepEqual((await C.messages(msg.sid).fetch()).delivery,
    { total: 1, sent: 'all', delivered: 'all', read: 'all', failed: 'none', undelivered: 'none' });
});

test('an undeliverable handset: the receipt ends undelivered with the carrier\'s error code', async () => {
  const sim = await postForm(`${carrier.baseUrl}/sim/inbound`, {
    From: UNREACHABLE, To: AGENT_NUMBER, Body: 'Can you hear me?', Url: `${server.baseUrl}/edge/inbound`,
  });
  assert.equal(sim.status, 200, sim.text);
  const added = await receiver.waitFor((r) => r.path === '/auto' && events('onMessageAdded')(r) && r.params.Author === UNREACHABLE,
    'onMessageAdded from the unreachable handset');
  assert.notEqual(added.params.ConversationSid, state.conv.sid, 'a conversation of its own');
  const C = cv.conversations(added.params.ConversationSid);
  const msg = await C.messages.create({ author: 'agent', body: 'Yes, loud and clear' });
  const receipt = await eventually(async () => {
    const [r] = await C.messages(msg.sid).deliveryReceipts.list();
    return r && r.status === 'undelivered' && r;
  }, 'receipt undelivered');
  assert.equal(receipt.errorCode, 30003);
  assert.ok(isSid('SM', receipt.channelMessageSid));
  const summary = (await C.messages(msg.sid).fetch()).delivery;
  assert.equal(summary.total, 1);
  assert.equal(summary.undelivered, 'all');
  assert.equal(summary.delivered, 'none');
  const upd = await receiver.waitFor((r) => events('onDeliveryUpdated')(r) && r.params.MessageSid === msg.sid && r.params.Status === 'undelivered',
    'onDeliveryUpdated undelivered');
  assert.equal(upd.params.ErrorCode, '30003');
  const atCarrier = await carrierClient.messages(receipt.channelMessageSid).fetch();
  assert.equal(atCarrier.status, 'undelivered');
  assert.equal(atCarrier.errorCode, 30003);
});

test('pre-action webhook through the library: a 403 answer rejects the message', async () => {
  assert.ok(state.conv && state.agent, 'needs the conversation and agent of the earlier tests');
  const hooks = await cv.configuration.webhooks().update({ preWebhookUrl: `${receiver.base}/pre`, filters: ['onMessageAdd'] });
  assert.equal(hooks.preWebhookUrl, `${receiver.base}/pre`);
  assert.deepEqual(hooks.filters, ['onMessageAdd']);

  const C = cv.conversations(state.conv.sid);
  const before = (await C.messages.list()).length;

  const err = await expectRestError(
    C.messages.create({ author: 'agent', body: 'buy cheap spam now', xTwilioWebhookEnabled: 'true' }), 403, 20403);
  assert.match(err.message, /onMessageAdd/, 'the rejection names the event');
  assert.ok(err.moreInfo && err.moreInfo.includes('20403'), `more_info ${err.moreInfo}`);
  const pre = await receiver.waitFor((r) => r.path === '/pre' && r.params.Body === 'buy cheap spam now', 'pre-action call');
  assert.equal(pre.valid, true);
  assert.equal(pre.answered, 403);
  assert.equal(pre.params.EventType, 'onMessageAdd');
  assert.equal(pre.params.ConversationSid, state.conv.sid);
  assert.equal(pre.params.Author, 'agent');
  assert.equal((await C.messages.list()).length, before, 'nothing added');

  // The hook lets a clean message through; with the header its post-action
  // event goes to the scoped webhook too.
  const ok = await C.messages.create({ author: 'agent', body: 'a clean message', xTwilioWebhookEnabled: 'true' });
  assert.equal(ok.body, 'a clean message');
  const preOk = await receiver.waitFor((r) => r.path === '/pre' && r.params.Body === 'a clean message', 'pre-action call (clean)');
  assert.equal(preOk.valid, true);
  const post = await receiver.waitFor((r) => r.path === '/auto' && events('onMessageAdded')(r) && r.params.MessageSid === ok.sid,
    'onMessageAdded for the clean message');
  assert.equal(post.valid, true);
  assert.equal(post.params.Source, 'API');
  assert.ok(preOk.seq < post.seq, 'pre-action call before the post-action event');

  // Without the header no hook is asked and the message is added.
  const preCalls = receiver.records.filter((r) => r.path === '/pre').length;
  const spam = await C.messages.create({ author: 'agent', body: 'more spam, unhooked' });
  assert.equal(spam.body, 'more spam, unhooked');
  assert.equal((await C.messages.list()).length, before + 2);
  assert.equal(receiver.records.filter((r) => r.path === '/pre').length, preCalls, 'no pre-action call without the header');
});

test('every webhook received validated with the official library', async () => {
  assert.ok(receiver.records.length > 0);
  const invalid = receiver.records.filter((r) => !r.valid);
  assert.deepEqual(invalid.map((r) => `${r.path} ${r.params.EventType}`), [], receiver.summary());
});

test('server and carrier stop cleanly on SIGTERM', async () => {
  const s = await server.stop();
  const c = await carrier.stop();
  assert.deepEqual(c, { code: 0, signal: null, forced: false }, 'carrier');
  // Conversation actors stop with their root: the server exits 0 without
  // the harness having to SIGKILL it.
  assert.deepEqual(s, { code: 0, signal: null, forced: false }, 'server');
});
