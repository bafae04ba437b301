'use strict';
// Flex Interactions (flex-api v1) and web chats (flex-api v2) compatibility:
// the official `twilio` library's flexApi resources against the Switchboard
// binary, with TaskRouter and Conversations set up and checked through the
// same library. Every test starts its own server and stops it.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { setTimeout: delay } = require('node:timers/promises');
const { startServer, expectRestError, lastTrip, twilio } = require('./server');

const isSid = (prefix, s) => new RegExp(`^${prefix}[0-9a-f]{32}$`).test(s);
const FLEX = 'https://flex-api.twilio.com';

// Runs fn({server, client}) against a fresh server and always stops it.
async function withServer(fn) {
  const server = await startServer();
  try {
    await fn({ server, client: server.client() });
  } finally {
    await server.stop();
  }
}

// Calls fn until pred holds on its value, or fails after the deadline.
async function pollUntil(fn, pred, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (pred(last)) return last;
    if (Date.now() > deadline) {
      const shown = Array.isArray(last) ? last.map((x) => (x && x.toJSON ? x.toJSON() : x)) : last;
      assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(shown)}`);
    }
    await delay(20); // next poll, until the deadline above
  }
}

// A workspace with one queue (TargetWorkers 1==1), a workflow to it and an
// Available worker "Alice" (contact_uri client:alice).
async function flexSetup(client) {
  const tr = client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: `flex-${Date.now()}` });
  const W = tr.workspaces(ws.sid);
  const activities = await W.activities.list();
  const available = activities.find((a) => a.friendlyName === 'Available');
  const offline = activities.find((a) => a.friendlyName === 'Offline');
  assert.ok(available && offline, `default activities: ${activities.map((a) => a.friendlyName)}`);
  const queue = await W.taskQueues.create({ friendlyName: 'Everyone', targetWorkers: '1==1' });
  const workflow = await W.workflows.create({
    friendlyName: 'To everyone',
    configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }),
  });
  const s = { tr, W, ws: ws.sid, queue: queue.sid, workflow: workflow.sid, available: available.sid, offline: offline.sid };
  s.alice = (await newWorker(s, 'Alice', 'client:alice', true)).sid;
  return s;
}

async function newWorker(s, name, contactUri, available) {
  const worker = await s.W.workers.create({
    friendlyName: name,
    attributes: JSON.stringify({ contact_uri: contactUri }),
    activitySid: available ? s.available : s.offline,
  });
  assert.ok(isSid('WK', worker.sid));
  assert.equal(worker.available, available);
  return worker;
}

function smsChannel(customer = '+15550001111') {
  return { type: 'sms', initiated_by: 'api', participants: [{ address: customer, proxy_address: '+15559990000' }] };
}

function routing(s, attributes = { customerName: 'Ann' }) {
  return {
    properties: {
      workspace_sid: s.ws, workflow_sid: s.workflow, task_channel_unique_name: 'sms', attributes,
    },
  };
}

// The pending reservation of a task for a worker, once it is offered.
async function pendingReservation(s, task, worker) {
  const list = await pollUntil(
    () => s.W.tasks(task).reservations.list(),
    (rs) => rs.some((r) => r.reservationStatus === 'pending' && r.workerSid === worker),
    `a pending reservation of ${task} for ${worker}`,
  );
  return list.find((r) => r.reservationStatus === 'pending' && r.workerSid === worker);
}

async function accept(s, task, worker) {
  const res = await pendingReservation(s, task, worker);
  assert.ok(isSid('WR', res.sid));
  const accepted = await s.W.tasks(task).reservations(res.sid).update({ reservationStatus: 'accepted' });
  assert.equal(accepted.reservationStatus, 'accepted');
  return accepted;
}

// The agent channel participant of a worker, once it is there.
async function agentOf(channel, worker) {
  const list = await pollUntil(
    () => channel.participants.list(),
    (ps) => ps.some((p) => p.type === 'agent' && p.routingProperties && p.routingProperties.worker_sid === worker),
    `an agent participant for ${worker}`,
  );
  return list.find((p) => p.type === 'agent' && p.routingProperties.worker_sid === worker);
}

async function identities(client, ch) {
  return (await client.conversations.v1.conversations(ch).participants.list()).map((p) => p.identity);
}

// ---------------------------------------------------------------- tests

test('an API-initiated SMS interaction: routing, accept, invite, transfer, close', async () => {
  await withServer(async ({ client }) => {
    const s = await flexSetup(client);
    const flex = client.flexApi.v1;

    // Create.
    const ix = await flex.interaction.create({ channel: smsChannel(), routing: routing(s) });
    assert.ok(isSid('KD', ix.sid), `interaction sid ${ix.sid}; ${lastTrip(client)}`);
    assert.ok(isSid('UO', ix.channel.sid), `channel sid ${JSON.stringify(ix.channel)}`);
    assert.equal(ix.channel.type, 'sms');
    assert.equal(ix.url, `${FLEX}/v1/Interactions/${ix.sid}`);
    assert.equal(ix.links.channels, `${FLEX}/v1/Interactions/${ix.sid}/Channels`);
    const props = ix.routing.properties;
    const task = props.sid;
    assert.ok(isSid('WT', task), `task sid ${task}`);
    assert.equal(props.workspace_sid, s.ws);
    const attrs = JSON.parse(props.attributes);
    const ch = attrs.conversationSid;
    assert.ok(isSid('CH', ch), `conversationSid in ${props.attributes}`);
    assert.equal(attrs.customerName, 'Ann');
    assert.equal(attrs.flexInteractionSid, ix.sid);
    assert.equal(attrs.flexInteractionChannelSid, ix.channel.sid);
    const kd = ix.sid;
    const uo = ix.channel.sid;

    // The task is visible through TaskRouter with those attributes.
    const wt = await s.W.tasks(task).fetch();
    assert.equal(JSON.parse(wt.attributes).conversationSid, ch);
    assert.equal(wt.taskChannelUniqueName, 'sms');

    // Fetch, list channels, fetch the channel.
    const fetched = await flex.interaction(kd).fetch();
    assert.equal(fetched.sid, kd);
    assert.equal(fetched.channel.sid, uo);
    assert.equal(fetched.routing.properties.sid, task);
    const channels = await flex.interaction(kd).channels.list();
    assert.deepEqual(channels.map((c) => c.sid), [uo]);
    assert.equal(channels[0].interactionSid, kd);
    const C = flex.interaction(kd).channels(uo);
    const chan = await C.fetch();
    assert.equal(chan.sid, uo);
    assert.equal(chan.interactionSid, kd);
    assert.equal(chan.type, 'sms');
    assert.equal(chan.status, 'active');
    assert.equal(chan.url, `${FLEX}/v1/Interactions/${kd}/Channels/${uo}`);
    assert.equal(chan.links.participants, `${chan.url}/Participants`);
    assert.equal(chan.links.invites, `${chan.url}/Invites`);

    // The customer is the channel's one participant and the conversation's.
    const parts = await C.participants.list();
    assert.equal(parts.length, 1, JSON.stringify(parts.map((p) => p.toJSON())));
    assert.equal(parts[0].type, 'customer');
    assert.ok(isSid('UT', parts[0].sid));
    assert.equal(parts[0].interactionSid, kd);
    assert.equal(parts[0].channelSid, uo);
    const cps = await client.conversations.v1.conversations(ch).participants.list();
    assert.equal(cps.length, 1);
    assert.equal(cps[0].messagingBinding.address, '+15550001111');

    // Alice accepts: she becomes an agent participant and joins as "alice".
    const accepted = await accept(s, task, s.alice);
    const alice = await agentOf(C, s.alice);
    assert.equal(alice.routingProperties.task_sid, task);
    assert.equal(alice.routingProperties.reservation_sid, accepted.sid);
    assert.equal(alice.routingProperties.workspace_sid, s.ws);
    await pollUntil(() => identities(client, ch), (ids) => ids.includes('alice'), 'alice in the conversation');
    assert.equal((await s.W.tasks(task).fetch()).assignmentStatus, 'assigned');

    // Invite Bob, who is made Available only now so that the first task
    // could only go to Alice.
    const bob = (await newWorker(s, 'Bob', 'client:bob', false)).sid;
    await s.W.workers(bob).update({ activitySid: s.available });
    const invite = await C.invites.create({
      routing: { properties: { workspace_sid: s.ws, queue_sid: s.queue, worker_sid: bob } },
    });
    assert.ok(isSid('KG', invite.sid), `invite sid ${invite.sid}; ${lastTrip(client)}`);
    assert.equal(invite.interactionSid, kd);
    assert.equal(invite.channelSid, uo);
    const task2 = invite.routing.properties.sid;
    assert.ok(isSid('WT', task2) && task2 !== task, `invite task ${task2}`);
    assert.equal(JSON.parse(invite.routing.properties.attributes).conversationSid, ch);
    const invites = await C.invites.list();
    assert.deepEqual(invites.map((i) => i.sid), [invite.sid]);
    await accept(s, task2, bob);
    await agentOf(C, bob);
    const both = await pollUntil(() => identities(client, ch), (ids) => ids.includes('bob'), 'bob in the conversation');
    assert.ok(both.includes('alice'), `identities ${both}`);

    // Alice leaves (a transfer to Bob): her task completes, Bob stays.
    const closed = await C.participants(alice.sid).update({ status: 'closed' });
    assert.equal(closed.sid, alice.sid);
    assert.equal(closed.type, 'agent');
    const left = await pollUntil(() => identities(client, ch), (ids) => !ids.includes('alice'), 'alice to leave');
    assert.ok(left.includes('bob'), `identities ${left}`);
    await pollUntil(() => s.W.tasks(task).fetch(), (t) => t.assignmentStatus === 'completed', 'the first task to complete');
    assert.equal((await s.W.tasks(task2).fetch()).assignmentStatus, 'assigned');

    // Close the channel: the conversation closes with it.
    const closedChannel = await C.update({ status: 'closed' });
    assert.equal(closedChannel.status, 'closed');
    assert.equal((await C.fetch()).status, 'closed');
    await pollUntil(() => client.conversations.v1.conversations(ch).fetch(), (c) => c.state === 'closed',
      'the conversation to close');
  });
});

test('a supervisor participant is on the channel but not in the conversation', async () => {
  await withServer(async ({ client }) => {
    const s = await flexSetup(client);
    const flex = client.flexApi.v1;
    const sam = (await newWorker(s, 'Sam', 'client:sam', false)).sid;

    // A first interaction, closed, then the second one the supervisor watches.
    const first = await flex.interaction.create({ channel: smsChannel('+15550002222'), routing: routing(s) });
    await flex.interaction(first.sid).channels(first.channel.sid).update({ status: 'closed' });
    const ix = await flex.interaction.create({ channel: smsChannel('+15550003333'), routing: routing(s) });
    const ch = JSON.parse(ix.routing.properties.attributes).conversationSid;
    const C = flex.interaction(ix.sid).channels(ix.channel.sid);

    // The library requires mediaProperties; a supervisor has none.
    const sup = await C.participants.create({
      type: 'supervisor', mediaProperties: {}, routingProperties: { workspace_sid: s.ws, worker_sid: sam },
    });
    assert.ok(isSid('UT', sup.sid), `participant sid ${sup.sid}; ${lastTrip(client)}`);
    assert.equal(sup.type, 'supervisor');
    assert.equal(sup.interactionSid, ix.sid);
    assert.equal(sup.channelSid, ix.channel.sid);
    assert.equal(sup.routingProperties.worker_sid, sam);
    assert.equal(sup.url, `${FLEX}/v1/Interactions/${ix.sid}/Channels/${ix.channel.sid}/Participants/${sup.sid}`);

    const parts = await C.participants.list();
    assert.deepEqual(parts.map((p) => p.type).sort(), ['customer', 'supervisor']);
    const listed = parts.find((p) => p.sid === sup.sid);
    assert.ok(listed, `supervisor ${sup.sid} not listed`);
    assert.equal(listed.routingProperties.worker_sid, sam);

    const cps = await client.conversations.v1.conversations(ch).participants.list();
    assert.equal(cps.length, 1, JSON.stringify(cps.map((p) => p.toJSON())));
    assert.equal(cps[0].messagingBinding.address, '+15550003333');
    assert.ok(!cps.some((p) => p.identity === 'sam'));
  });
});

test('web chat: an address configuration, then webChannels.create', async () => {
  await withServer(async ({ client }) => {
    const addr = await client.conversations.v1.addressConfigurations.create({
      type: 'chat', address: 'website', friendlyName: 'site',
    });
    assert.ok(isSid('IG', addr.sid), `address sid ${addr.sid}`);
    const chat = await client.flexApi.v2.webChannels.create({
      addressSid: addr.sid, customerFriendlyName: 'Ann', preEngagementData: JSON.stringify({ topic: 'billing' }),
    });
    assert.ok(isSid('CH', chat.conversationSid), `conversationSid ${chat.conversationSid}; ${lastTrip(client)}`);
    assert.equal(typeof chat.identity, 'string');
    assert.ok(chat.identity.length > 0, 'identity is empty');
    // The library maps conversation_sid and identity; the server adds a token.
    const body = client.httpClient.last().body;
    const raw = typeof body === 'string' ? JSON.parse(body) : body;
    assert.equal(typeof raw.token, 'string');
    assert.equal(raw.token.split('.').length, 3, 'token is a JWT');

    const conv = await client.conversations.v1.conversations(chat.conversationSid).fetch();
    const attrs = JSON.parse(conv.attributes);
    assert.equal(attrs.pre_engagement_data.topic, 'billing');
    assert.ok((await identities(client, chat.conversationSid)).includes(chat.identity));

    // A given identity is kept.
    const again = await client.flexApi.v2.webChannels.create({ addressSid: addr.sid, identity: 'ann@example.com' });
    assert.equal(again.identity, 'ann@example.com');
    assert.notEqual(again.conversationSid, chat.conversationSid);
  });
});

test('errors reach the library as RestException with status and code', async () => {
  await withServer(async ({ client }) => {
    const s = await flexSetup(client);
    const flex = client.flexApi.v1;
    const conversations = async () => (await client.conversations.v1.conversations.list()).length;
    const before = await conversations();

    const bad = { ...smsChannel(), type: 'pigeon' };
    await expectRestError(flex.interaction.create({ channel: bad, routing: routing(s) }), 400, 20001, client);
    assert.equal(await conversations(), before);
    assert.equal((await s.W.tasks.list()).length, 0);

    await expectRestError(flex.interaction('KD' + '0'.repeat(32)).fetch(), 404, 20404, client);
  });
});
