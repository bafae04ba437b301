'use strict';
// Conversations v1 compatibility: the official `twilio` library's
// conversations.v1 resources against the Switchboard binary, every assertion
// after a real round trip.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, expectRestError, twilio } = require('./server');

const OTHER_SID = 'AC' + '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const OTHER_TOKEN = 'token-other-conversations';

let server;
let client;
let cv; // client.conversations.v1

before(async () => {
  server = await startServer({ extraAccounts: [{ sid: OTHER_SID, token: OTHER_TOKEN }] });
  client = server.client();
  cv = client.conversations.v1;
});

after(async () => {
  if (server) await server.stop();
});

const isSid = (prefix, s) => new RegExp(`^${prefix}[0-9a-f]{32}$`).test(s);
const BASE = 'https://conversations.twilio.com';

test('configuration, services and their webhook settings', async () => {
  const cfg = await cv.configuration().fetch();
  assert.equal(cfg.accountSid, server.accountSid);
  assert.ok(isSid('IS', cfg.defaultChatServiceSid));
  const updated = await cv.configuration().update({ defaultClosedTimer: 'PT2H' });
  assert.equal(updated.defaultClosedTimer, 'PT2H');
  const hooks = await cv.configuration.webhooks().update({
    postWebhookUrl: 'https://example.com/post', filters: ['onMessageAdded', 'onParticipantAdded'], method: 'POST',
  });
  assert.equal(hooks.postWebhookUrl, 'https://example.com/post');
  assert.deepEqual(hooks.filters, ['onMessageAdded', 'onParticipantAdded']);

  const svc = await cv.services.create({ friendlyName: 'Sales' });
  assert.ok(isSid('IS', svc.sid));
  assert.equal(svc.url, `${BASE}/v1/Services/${svc.sid}`);
  const names = (await cv.services.list()).map((s) => s.sid);
  assert.ok(names.includes(svc.sid) && names.includes(cfg.defaultChatServiceSid));
  const sconf = await cv.services(svc.sid).configuration().update({ reachabilityEnabled: true });
  assert.equal(sconf.reachabilityEnabled, true);
  assert.equal(sconf.chatServiceSid, svc.sid);
  const swh = await cv.services(svc.sid).configuration.webhooks().update({ preWebhookUrl: 'https://example.com/pre', filters: ['onMessageAdd'] });
  assert.equal(swh.preWebhookUrl, 'https://example.com/pre');
  assert.deepEqual(swh.filters, ['onMessageAdd']);

  const c = await cv.services(svc.sid).conversations.create({ uniqueName: 'svc-case' });
  assert.equal(c.chatServiceSid, svc.sid);
  assert.equal(c.url, `${BASE}/v1/Services/${svc.sid}/Conversations/${c.sid}`);
  assert.equal((await cv.services(svc.sid).conversations('svc-case').fetch()).sid, c.sid);
  await expectRestError(cv.conversations(c.sid).fetch(), 404, 20404);
  assert.equal(await cv.services(svc.sid).remove(), true);
  await expectRestError(cv.services(svc.sid).fetch(), 404, 20404);
});

test('a conversation with chat and SMS participants, messages, read horizon and webhooks', async () => {
  const conv = await cv.conversations.create({
    friendlyName: 'Support', uniqueName: `case-${Date.now()}`, attributes: JSON.stringify({ tier: 'gold' }),
  });
  assert.ok(isSid('CH', conv.sid));
  assert.equal(conv.state, 'active');
  assert.equal(conv.attributes, '{"tier":"gold"}');
  assert.ok(conv.dateCreated instanceof Date && !isNaN(conv.dateCreated));
  assert.equal(conv.links.messages, `${BASE}/v1/Conversations/${conv.sid}/Messages`);
  const C = cv.conversations(conv.sid);
  assert.equal((await cv.conversations(conv.uniqueName).fetch()).sid, conv.sid);
  assert.equal((await C.update({ friendlyName: 'Support VIP' })).friendlyName, 'Support VIP');

  const alice = await C.participants.create({ identity: 'alice' });
  assert.ok(isSid('MB', alice.sid));
  assert.equal(alice.identity, 'alice');
  assert.equal(alice.messagingBinding, null);
  const customer = await C.participants.create({
    'messagingBinding.address': '+15551110001', 'messagingBinding.proxyAddress': '+15552220000',
  });
  assert.equal(customer.messagingBinding.address, '+15551110001');
  assert.equal(customer.messagingBinding.proxy_address, '+15552220000');
  assert.equal((await C.participants.list()).length, 2);

  const sent = [];
  for (let i = 0; i < 5; i++) sent.push(await C.messages.create({ author: 'alice', body: `hello ${i}` }));
  assert.deepEqual(sent.map((m) => m.index), [0, 1, 2, 3, 4]);
  assert.equal(sent[0].participantSid, alice.sid);
  assert.ok(isSid('IM', sent[0].sid));
  const desc = await C.messages.list({ order: 'desc', pageSize: 2 });
  assert.deepEqual(desc.map((m) => m.index), [4, 3, 2, 1, 0]);
  const page = await C.messages.page({ pageSize: 2 });
  assert.equal(page.instances.length, 2);
  const next = await page.nextPage();
  assert.deepEqual(next.instances.map((m) => m.index), [2, 3]);
  assert.equal((await C.messages(sent[1].sid).update({ body: 'edited' })).body, 'edited');
  assert.equal(await C.messages(sent[0].sid).remove(), true);
  await expectRestError(C.messages(sent[0].sid).fetch(), 404, 20404);

  const read = await C.participants(alice.sid).update({ lastReadMessageIndex: 4 });
  assert.equal(read.lastReadMessageIndex, 4);
  assert.ok(read.lastReadTimestamp);

  const wh = await C.webhooks.create({
    target: 'webhook', 'configuration.url': 'https://example.com/hook', 'configuration.filters': ['onMessageAdded'],
  });
  assert.ok(isSid('WH', wh.sid));
  assert.equal(wh.configuration.url, 'https://example.com/hook');
  assert.equal((await C.webhooks.list()).length, 1);
  assert.equal(await C.webhooks(wh.sid).remove(), true);

  assert.equal((await C.update({ state: 'closed' })).state, 'closed');
  await expectRestError(C.messages.create({ body: 'late' }), 400, 50438);
  assert.equal(await C.remove(), true);
  await expectRestError(C.fetch(), 404, 20404);
});

test('the binding rule, bad input and other accounts', async () => {
  const a = await cv.conversations.create({});
  const b = await cv.conversations.create({});
  const binding = { 'messagingBinding.address': 'whatsapp:+15551110002', 'messagingBinding.proxyAddress': 'whatsapp:+15552220000' };
  await cv.conversations(a.sid).participants.create(binding);
  const err = await expectRestError(cv.conversations(b.sid).participants.create(binding), 409, 50416);
  assert.ok(err.message.includes(a.sid));
  assert.equal((await cv.conversations(b.sid).participants.list()).length, 0);

  await expectRestError(cv.conversations.create({ attributes: '{oops' }), 400, 20001);
  await expectRestError(cv.conversations(a.sid).participants.create({}), 400, 50436);
  await expectRestError(cv.conversations(a.sid).messages.create({}), 400, 50511);
  await expectRestError(cv.conversations('CH' + '0'.repeat(32)).fetch(), 404, 20404);

  const other = server.client(OTHER_SID, OTHER_TOKEN);
  await expectRestError(other.conversations.v1.conversations(a.sid).fetch(), 404, 20404);
  await expectRestError(other.conversations.v1.conversations(a.sid).messages.create({ body: 'x' }), 404, 20404);
  assert.equal((await other.conversations.v1.conversations.list()).length, 0);
});

test('address configurations: create, list by type, fetch, update, remove', async () => {
  const FLOW = 'FW' + 'b'.repeat(32);
  const created = await cv.addressConfigurations.create({
    type: 'whatsapp',
    address: '+15553330001',
    friendlyName: 'WhatsApp support',
    'autoCreation.enabled': true,
    'autoCreation.type': 'webhook',
    'autoCreation.webhookUrl': 'https://example.com/auto',
    'autoCreation.webhookMethod': 'post',
    'autoCreation.webhookFilters': ['onMessageAdded', 'onParticipantAdded'],
    addressCountry: 'US',
  });
  assert.ok(isSid('IG', created.sid));
  assert.equal(created.accountSid, server.accountSid);
  assert.equal(created.type, 'whatsapp');
  assert.equal(created.address, 'whatsapp:+15553330001');
  assert.equal(created.friendlyName, 'WhatsApp support');
  assert.equal(created.addressCountry, 'US');
  assert.equal(created.url, `${BASE}/v1/Configuration/Addresses/${created.sid}`);
  assert.ok(created.dateCreated instanceof Date);
  assert.deepEqual(created.autoCreation, {
    enabled: true, type: 'webhook', conversation_service_sid: null, webhook_url: 'https://example.com/auto',
    webhook_method: 'POST', webhook_filters: ['onMessageAdded', 'onParticipantAdded'],
  });
  const sms = await cv.addressConfigurations.create({ type: 'sms', address: '+15553330001' });

  assert.deepEqual((await cv.addressConfigurations.list()).map((a) => a.sid), [created.sid, sms.sid]);
  assert.deepEqual((await cv.addressConfigurations.list({ type: 'sms' })).map((a) => a.sid), [sms.sid]);
  assert.equal((await cv.addressConfigurations(created.sid).fetch()).address, 'whatsapp:+15553330001');

  const updated = await cv.addressConfigurations(created.sid).update({
    friendlyName: 'Studio', 'autoCreation.type': 'studio', 'autoCreation.studioFlowSid': FLOW,
    'autoCreation.studioRetryCount': 2,
  });
  assert.equal(updated.friendlyName, 'Studio');
  assert.equal(updated.autoCreation.type, 'studio');
  assert.equal(updated.autoCreation.studio_flow_sid, FLOW);
  assert.equal(updated.autoCreation.studio_retry_count, 2);

  await expectRestError(cv.addressConfigurations.create({ type: 'whatsapp', address: 'whatsapp:+15553330001' }), 409, 20409);
  await expectRestError(cv.addressConfigurations.create({ type: 'sms', address: '5553330002' }), 400, 20001);
  const other = server.client(OTHER_SID, OTHER_TOKEN);
  await expectRestError(other.conversations.v1.addressConfigurations(created.sid).fetch(), 404, 20404);

  assert.equal(await cv.addressConfigurations(created.sid).remove(), true);
  assert.equal(await cv.addressConfigurations(sms.sid).remove(), true);
  await expectRestError(cv.addressConfigurations(created.sid).fetch(), 404, 20404);
  assert.equal((await cv.addressConfigurations.list()).length, 0);
});
