'use strict';
// Studio v2 and the seed flows through the official `twilio` library, as an
// application drives them: flows are saved, revised, validated and removed;
// an inbound SMS on a studio address runs a flow that greets the customer and
// hands the conversation to Flex (seed flow 2); a system-initiated reminder's
// reply enters a flow (seed flow 5); a REST execution asks and waits for the
// reply; a web form's interaction is created through the Interactions API
// (seed flow 3). `switchboard carrier` plays the phone network. Every test
// starts its own carrier and server and stops them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { setTimeout: delay } = require('node:timers/promises');
const { startServer, startCarrier, expectRestError, lastTrip, twilio } = require('./server');

const ACCOUNT_SID = 'AC' + '57d10c0ffee0b1a2c3d4e5f607182930';
const AUTH_TOKEN = 'studio-compat-token-0123456789';
const OUR_NUMBER = '+15550001111'; // the studio address (proxy address)
const CUSTOMER = '+15557770000'; // the handset
const STUDIO = 'https://studio.twilio.com';
const WAIT_MS = 10000;

const isSid = (prefix, s) => new RegExp(`^${prefix}[0-9a-f]{32}$`).test(s);
const plain = (x) => (x && x.toJSON ? x.toJSON() : x);

// ------------------------------------------------------------------ helpers

// Runs fn({carrier, server, client, carrierClient, inbound, sentTo}) against a
// fresh carrier and server (the carrier as the server's SMS gateway), and
// always stops both.
async function withServers(fn) {
  const account = { sid: ACCOUNT_SID, token: AUTH_TOKEN };
  const carrier = await startCarrier({ accounts: [account] });
  let server;
  try {
    const gateway = `${carrier.baseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json`;
    server = await startServer({
      extraArgs: ['--account-sid', ACCOUNT_SID, '--auth-token', AUTH_TOKEN, '--gateway', `sms=${gateway}`],
    });
    const client = server.client();
    const carrierClient = carrier.client(ACCOUNT_SID, AUTH_TOKEN);
    // The carrier delivers a text from `from` to the server's messaging edge.
    const inbound = async (body, from = CUSTOMER) => {
      const res = await fetch(`${carrier.baseUrl}/sim/inbound`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ From: from, To: OUR_NUMBER, Body: body, Url: `${server.baseUrl}/edge/inbound` }).toString(),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `POST /sim/inbound: ${text}`);
    };
    // Bodies of what the server sent to `to` through the carrier, oldest first.
    const sentTo = async (to) => (await carrierClient.messages.list({ to })).map((m) => m.body).reverse();
    await fn({ carrier, server, client, carrierClient, inbound, sentTo });
  } finally {
    if (server) await server.stop();
    await carrier.stop();
  }
}

// Calls fn until pred holds on its value, or fails after the deadline.
async function pollUntil(fn, pred, what, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (pred(last)) return last;
    if (Date.now() > deadline) {
      const shown = Array.isArray(last) ? last.map(plain) : plain(last);
      assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(shown)}`);
    }
    await delay(20); // next poll, until the deadline above
  }
}

// A workspace with one queue (1==1), a workflow to it and an Available
// worker Alice (contact_uri client:alice).
async function routingSetup(client) {
  const tr = client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: 'flex' });
  const W = tr.workspaces(ws.sid);
  const available = (await W.activities.list()).find((a) => a.friendlyName === 'Available');
  assert.ok(available, 'the default Available activity');
  const queue = await W.taskQueues.create({ friendlyName: 'sms', targetWorkers: '1==1' });
  const workflow = await W.workflows.create({
    friendlyName: 'inbound',
    configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }),
  });
  const alice = await W.workers.create({
    friendlyName: 'Alice', attributes: JSON.stringify({ contact_uri: 'client:alice' }), activitySid: available.sid,
  });
  return { W, ws: ws.sid, queue: queue.sid, workflow: workflow.sid, alice: alice.sid };
}

// Greets, then hands over to Flex with the customer's number and first words.
function greetAndHandOver(s, greeting = 'Hi {{trigger.conversation.From}}, an agent will be with you shortly') {
  return {
    description: 'inbound to flex',
    initial_state: 'Trigger',
    states: [
      { name: 'Trigger', type: 'trigger', properties: {},
        transitions: [{ event: 'incomingConversationMessage', next: 'greet' }] },
      { name: 'greet', type: 'send-message', properties: { body: greeting },
        transitions: [{ event: 'sent', next: 'to_flex' }, { event: 'failed' }] },
      { name: 'to_flex', type: 'send-to-flex',
        properties: {
          workflow: s.workflow, channel: 'sms',
          attributes: '{"name": "{{trigger.conversation.From}}", "topic": "{{trigger.conversation.Body | downcase}}"}',
        },
        transitions: [{ event: 'callComplete' }, { event: 'failedToEnqueue' }, { event: 'callFailure' }] },
    ],
  };
}

// The workspace's one task, once there is one.
async function onlyTask(s) {
  const [task] = await pollUntil(() => s.W.tasks.list(), (ts) => ts.length === 1, 'one task in the workspace');
  return task;
}

async function accept(s, task) {
  const rs = await pollUntil(() => s.W.tasks(task).reservations.list(),
    (l) => l.some((r) => r.reservationStatus === 'pending'), `a pending reservation of ${task}`);
  const res = rs.find((r) => r.reservationStatus === 'pending');
  assert.equal(res.workerSid, s.alice);
  const accepted = await s.W.tasks(task).reservations(res.sid).update({ reservationStatus: 'accepted' });
  assert.equal(accepted.reservationStatus, 'accepted');
}

const identities = async (client, ch) =>
  (await client.conversations.v1.conversations(ch).participants.list()).map((p) => p.identity);
const bodies = async (client, ch) =>
  (await client.conversations.v1.conversations(ch).messages.list()).map((m) => m.body);

// ------------------------------------------------------------------ tests

test('flows: create, fetch, update (a revision), revisions, validate, list, remove', async () => {
  await withServers(async ({ client }) => {
    const s = await routingSetup(client);
    const st = client.studio.v2;
    const def = greetAndHandOver(s);

    const created = await st.flows.create({ friendlyName: 'greeter', status: 'published', definition: def, commitMessage: 'first' });
    const fw = created.sid;
    assert.ok(isSid('FW', fw), `flow sid ${fw}; ${lastTrip(client)}`);
    assert.equal(created.accountSid, ACCOUNT_SID);
    assert.equal(created.friendlyName, 'greeter');
    assert.equal(created.status, 'published');
    assert.equal(created.revision, 1);
    assert.equal(created.commitMessage, 'first');
    assert.equal(created.valid, true);
    assert.deepEqual(created.errors, []);
    assert.deepEqual(created.definition, def, 'the definition comes back as the object the library sent');
    assert.equal(created.url, `${STUDIO}/v2/Flows/${fw}`);
    assert.equal(created.links.revisions, `${created.url}/Revisions`);
    assert.equal(created.links.executions, `${created.url}/Executions`);
    assert.ok(created.dateCreated instanceof Date && !isNaN(created.dateCreated));

    const fetched = await st.flows(fw).fetch();
    assert.equal(fetched.sid, fw);
    assert.equal(fetched.revision, 1);
    assert.deepEqual(fetched.definition, def);

    // A new revision: another greeting and name.
    const def2 = greetAndHandOver(s, 'Hello {{trigger.conversation.From}}');
    const updated = await st.flows(fw).update({ status: 'published', friendlyName: 'greeter v2', definition: def2, commitMessage: 'second' });
    assert.equal(updated.sid, fw);
    assert.equal(updated.revision, 2);
    assert.equal(updated.friendlyName, 'greeter v2');
    assert.equal(updated.definition.states[1].properties.body, 'Hello {{trigger.conversation.From}}');
    // Only the status: a revision of its own, the definition kept.
    const drafted = await st.flows(fw).update({ status: 'draft' });
    assert.equal(drafted.revision, 3);
    assert.equal(drafted.status, 'draft');
    assert.deepEqual(drafted.definition, def2);

    // LIBRARY: twilio 6.2.0 cannot list revisions against any server: the
    // page builds each FlowRevisionInstance without a `revision` argument and
    // its constructor calls `revision.toString()` (TypeError). So the list is
    // checked on the response the library received, and through the library
    // once it is fixed.
    let revisions;
    try {
      revisions = (await st.flows(fw).revisions.list()).map((r) => ({ sid: r.sid, revision: r.revision }));
    } catch (e) {
      if (!(e instanceof TypeError) || !/FlowRevisionInstance/.test(e.stack)) throw e;
      const trip = client.httpClient.last();
      assert.equal(trip.uri, `${STUDIO}/v2/Flows/${fw}/Revisions`);
      assert.equal(trip.status, 200);
      const body = typeof trip.body === 'string' ? JSON.parse(trip.body) : trip.body;
      assert.equal(body.meta.key, 'revisions');
      revisions = body.revisions;
    }
    assert.deepEqual(revisions.map((r) => r.revision), [3, 2, 1], 'newest first');
    for (const r of revisions) assert.equal(r.sid, fw);
    const first = await st.flows(fw).revisions(1).fetch();
    assert.equal(first.revision, 1);
    assert.equal(first.friendlyName, 'greeter');
    assert.equal(first.status, 'published');
    assert.equal(first.commitMessage, 'first');
    assert.deepEqual(first.definition, def);
    assert.equal(first.url, `${STUDIO}/v2/Flows/${fw}/Revisions/1`);
    assert.equal((await st.flows(fw).revisions('2').fetch()).commitMessage, 'second');

    // Validate: a good definition, then one whose transition goes nowhere.
    const ok = await st.flowValidate.update({ friendlyName: 'check', status: 'draft', definition: def });
    assert.equal(ok.valid, true, lastTrip(client));
    const bad = structuredClone(def);
    bad.states[2].transitions[0].next = 'nowhere';
    const err = await expectRestError(st.flowValidate.update({ friendlyName: 'check', status: 'published', definition: bad }), 400, 20001, client);
    assert.match(err.message, /to_flex/, 'the message names the widget');
    const template = structuredClone(def);
    template.states[1].properties.body = '{{ secrets.password }}';
    await expectRestError(st.flows.create({ friendlyName: 'x', status: 'draft', definition: template }), 400, 20001, client);
    await expectRestError(st.flows(fw).update({ status: 'published', definition: bad }), 400, 20001, client);
    await expectRestError(st.flows.create({ friendlyName: 'x', status: 'maybe', definition: def }), 400, 20001, client);
    assert.equal((await st.flows(fw).fetch()).revision, 3, 'refused updates change nothing');

    const other = await st.flows.create({ friendlyName: 'other', status: 'draft', definition: def });
    const listed = await st.flows.list();
    assert.deepEqual(listed.map((f) => f.sid).sort(), [fw, other.sid].sort());
    assert.deepEqual((await st.flows.list({ pageSize: 1 })).map((f) => f.sid).sort(), [fw, other.sid].sort(), 'paged');

    assert.equal(await st.flows(fw).remove(), true);
    await expectRestError(st.flows(fw).fetch(), 404, 20404, client);
    await expectRestError(st.flows(fw).revisions.list(), 404, 20404, client);
    assert.deepEqual((await st.flows.list()).map((f) => f.sid), [other.sid]);
  });
});

test('seed flow 2: an inbound SMS on a studio address is greeted and handed to an agent', async () => {
  await withServers(async ({ client, inbound, sentTo }) => {
    const s = await routingSetup(client);
    const st = client.studio.v2;
    const cv = client.conversations.v1;
    const fw = (await st.flows.create({ friendlyName: 'inbound', status: 'published', definition: greetAndHandOver(s) })).sid;
    const addr = await cv.addressConfigurations.create({
      type: 'sms', address: OUR_NUMBER, friendlyName: 'studio number',
      'autoCreation.enabled': true, 'autoCreation.type': 'studio', 'autoCreation.studioFlowSid': fw,
    });
    assert.ok(isSid('IG', addr.sid), lastTrip(client));
    assert.equal(addr.autoCreation.enabled, true);
    assert.equal(addr.autoCreation.type, 'studio');
    assert.equal(addr.autoCreation.studio_flow_sid, fw);

    await inbound('Billing QUESTION');
    const greeting = `Hi ${CUSTOMER}, an agent will be with you shortly`;
    await pollUntil(() => sentTo(CUSTOMER), (b) => b.includes(greeting), 'the greeting at the carrier');

    const task = await onlyTask(s);
    const attrs = JSON.parse(task.attributes);
    assert.equal(attrs.name, CUSTOMER);
    assert.equal(attrs.topic, 'billing question');
    assert.equal(attrs.direction, 'inbound');
    assert.equal(task.taskChannelUniqueName, 'sms');
    const ch = attrs.conversationSid;
    const kd = attrs.flexInteractionSid;
    assert.ok(isSid('CH', ch), `conversationSid in ${task.attributes}`);
    assert.ok(isSid('KD', kd), `flexInteractionSid in ${task.attributes}`);
    assert.deepEqual(await bodies(client, ch), ['Billing QUESTION', greeting]);

    // The execution: greet, then to_flex, then ended.
    const [x] = await pollUntil(() => st.flows(fw).executions.list(),
      (xs) => xs.length === 1 && xs[0].status === 'ended', 'one ended execution');
    const fn = x.sid;
    assert.ok(isSid('FN', fn));
    assert.equal(x.flowSid, fw);
    assert.equal(x.accountSid, ACCOUNT_SID);
    assert.equal(x.contactChannelAddress, CUSTOMER);
    assert.equal(x.flowVersion, 1);
    assert.equal(x.url, `${STUDIO}/v2/Flows/${fw}/Executions/${fn}`);
    assert.equal((await st.flows(fw).executions(fn).fetch()).status, 'ended');

    const steps = await st.flows(fw).executions(fn).steps.list();
    const path = steps.map((p) => `${p.transitionedFrom}>${p.transitionedTo}`);
    for (const hop of ['Trigger>greet', 'greet>to_flex', 'to_flex>Ended']) assert.ok(path.includes(hop), `${hop} in ${path}`);
    for (const p of steps) {
      assert.ok(isSid('FT', p.sid), `step sid ${p.sid}`);
      assert.equal(p.executionSid, fn);
      assert.equal(p.flowSid, fw);
    }
    const one = await st.flows(fw).executions(fn).steps(steps[0].sid).fetch();
    assert.equal(one.sid, steps[0].sid);
    assert.equal(one.name, steps[0].name);
    const stepCtx = await st.flows(fw).executions(fn).steps(steps[0].sid).stepContext().fetch();
    assert.equal(stepCtx.stepSid, steps[0].sid);
    assert.equal(typeof stepCtx.context, 'object');

    const ctx = await st.flows(fw).executions(fn).executionContext().fetch();
    assert.equal(ctx.executionSid, fn);
    assert.equal(ctx.flowSid, fw);
    assert.equal(ctx.context.trigger.conversation.Body, 'Billing QUESTION');
    assert.equal(ctx.context.trigger.conversation.ConversationSid, ch);

    // Handed over: the conversation's studio webhook is gone.
    await pollUntil(() => cv.conversations(ch).webhooks.list(), (hs) => !hs.some((h) => h.target === 'studio'),
      'the studio webhook to be removed after send-to-flex');

    // Alice accepts and joins; agent and customer talk.
    await accept(s, task.sid);
    await pollUntil(() => identities(client, ch), (ids) => ids.includes('alice'), 'alice in the conversation');
    await cv.conversations(ch).messages.create({ author: 'alice', body: 'Hello, Alice here' });
    await pollUntil(() => sentTo(CUSTOMER), (b) => b.includes('Hello, Alice here'), "the agent's message at the carrier");
    await inbound('Thanks, my bill is wrong');
    await pollUntil(() => bodies(client, ch), (b) => b.includes('Thanks, my bill is wrong'), 'the reply in the conversation');
    // The flow no longer hears the conversation: still one execution, one greeting.
    assert.equal((await st.flows(fw).executions.list()).length, 1);
    assert.equal((await sentTo(CUSTOMER)).filter((b) => b === greeting).length, 1);
    assert.equal((await s.W.tasks.list()).length, 1);

    // Wrap up, then close the agent's interaction participant: the task completes.
    const ix = await client.flexApi.v1.interaction(kd).fetch();
    const uo = ix.channel.sid;
    assert.ok(isSid('UO', uo));
    const C = client.flexApi.v1.interaction(kd).channels(uo);
    const parts = await pollUntil(() => C.participants.list(), (ps) => ps.some((p) => p.type === 'agent'), 'an agent participant');
    const agent = parts.find((p) => p.type === 'agent');
    assert.equal(agent.routingProperties.worker_sid, s.alice);
    assert.equal(agent.routingProperties.task_sid, task.sid);
    await C.participants(agent.sid).update({ status: 'wrapup' });
    await pollUntil(() => s.W.tasks(task.sid).fetch(), (t) => t.assignmentStatus === 'wrapping', 'the task to be wrapping');
    const closed = await C.participants(agent.sid).update({ status: 'closed' });
    assert.equal(closed.sid, agent.sid);
    await pollUntil(() => s.W.tasks(task.sid).fetch(), (t) => t.assignmentStatus === 'completed', 'the task to complete');
    assert.equal((await C.update({ status: 'closed' })).status, 'closed');
    await pollUntil(() => cv.conversations(ch).fetch(), (c) => c.state === 'closed', 'the conversation to close');
  });
});

test('seed flow 5: a system reminder, then the reply starts the flow and routes a task', async () => {
  await withServers(async ({ client, inbound, sentTo }) => {
    const s = await routingSetup(client);
    const st = client.studio.v2;
    const cv = client.conversations.v1;
    const fw = (await st.flows.create({ friendlyName: 'reminders', status: 'published', definition: greetAndHandOver(s) })).sid;

    // The application: a conversation with the customer, the flow's webhook,
    // an automated reminder.
    const conv = await cv.conversations.create({ friendlyName: 'reminder' });
    const ch = conv.sid;
    const customer = await cv.conversations(ch).participants.create({
      'messagingBinding.address': CUSTOMER, 'messagingBinding.proxyAddress': OUR_NUMBER,
    });
    assert.deepEqual(customer.messagingBinding, { type: 'sms', address: CUSTOMER, proxy_address: OUR_NUMBER });
    const hook = await cv.conversations(ch).webhooks.create({ target: 'studio', 'configuration.flowSid': fw });
    assert.ok(isSid('WH', hook.sid), lastTrip(client));
    assert.equal(hook.target, 'studio');
    assert.equal(hook.configuration.flow_sid, fw);
    const reminder = 'Your appointment is tomorrow at 10';
    const msg = await cv.conversations(ch).messages.create({ author: 'system', body: reminder });
    assert.equal(msg.author, 'system');
    await pollUntil(() => sentTo(CUSTOMER), (b) => b.includes(reminder), 'the reminder at the carrier');
    assert.deepEqual(await st.flows(fw).executions.list(), [], "the system's reminder starts nothing");

    // The customer's reply starts the execution, which routes a task.
    await inbound('Can I move it?');
    const task = await onlyTask(s);
    const attrs = JSON.parse(task.attributes);
    assert.equal(attrs.conversationSid, ch);
    assert.equal(attrs.name, CUSTOMER);
    assert.equal(attrs.topic, 'can i move it?');
    const [x] = await pollUntil(() => st.flows(fw).executions.list(),
      (xs) => xs.length === 1 && xs[0].status === 'ended', 'one ended execution');
    assert.equal(x.contactChannelAddress, CUSTOMER);
    await pollUntil(() => sentTo(CUSTOMER), (b) => b.includes(`Hi ${CUSTOMER}, an agent will be with you shortly`), 'the greeting');

    await accept(s, task.sid);
    await pollUntil(() => identities(client, ch), (ids) => ids.includes('alice'), 'alice in the conversation');
    const seen = await bodies(client, ch);
    assert.ok(seen.includes(reminder) && seen.includes('Can I move it?'), `the agent sees both: ${seen}`);
    assert.equal((await cv.conversations.list()).length, 1, 'the reply joined the existing conversation');
    assert.equal((await st.flows(fw).executions.list()).length, 1);
  });
});

test('a REST execution asks, waits for the reply through the carrier, and branches on it', async () => {
  await withServers(async ({ client, inbound, sentTo }) => {
    const s = await routingSetup(client);
    const st = client.studio.v2;

    // A CRM for make-http-request.
    const crmCalls = [];
    const crm = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        crmCalls.push({ method: req.method, url: req.url, body });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ tier: 'gold' }));
      });
    });
    await new Promise((resolve) => crm.listen(0, '127.0.0.1', resolve));
    try {
      const def = {
        initial_state: 'Trigger',
        states: [
          { name: 'Trigger', type: 'trigger', properties: {}, transitions: [{ event: 'incomingRequest', next: 'ask' }] },
          { name: 'ask', type: 'send-and-wait-for-reply',
            properties: { body: 'Hi {{flow.data.name}}, reply YES to talk to us', timeout: '3600' },
            transitions: [{ event: 'incomingMessage', next: 'lookup' }, { event: 'timeout' }, { event: 'deliveryFailure' }] },
          { name: 'lookup', type: 'make-http-request',
            properties: {
              method: 'POST', content_type: 'application/x-www-form-urlencoded;charset=utf-8',
              url: `http://127.0.0.1:${crm.address().port}/crm`,
              parameters: [{ key: 'from', value: '{{contact.channel.address}}' }],
            },
            transitions: [{ event: 'success', next: 'split' }, { event: 'failed' }] },
          { name: 'split', type: 'split-based-on', properties: { input: '{{widgets.ask.inbound.Body}}' },
            transitions: [
              { event: 'noMatch', next: 'bye' },
              { event: 'match', next: 'to_flex',
                conditions: [{ friendly_name: 'yes', arguments: ['{{widgets.ask.inbound.Body}}'], type: 'equal_to', value: 'yes' }] },
            ] },
          { name: 'bye', type: 'send-message', properties: { body: 'Bye' }, transitions: [{ event: 'sent' }, { event: 'failed' }] },
          { name: 'to_flex', type: 'send-to-flex',
            properties: { workflow: s.workflow, channel: 'sms', attributes: '{"tier": "{{widgets.lookup.parsed.tier}}", "name": "{{flow.data.name}}"}' },
            transitions: [{ event: 'callComplete' }, { event: 'failedToEnqueue' }, { event: 'callFailure' }] },
        ],
      };
      const fw = (await st.flows.create({ friendlyName: 'outreach', status: 'published', definition: def })).sid;
      const X = st.flows(fw).executions;

      const x = await X.create({ to: CUSTOMER, from: OUR_NUMBER, parameters: { name: 'Ann' } });
      const fn = x.sid;
      assert.ok(isSid('FN', fn), `execution sid ${fn}; ${lastTrip(client)}`);
      assert.equal(x.status, 'active');
      assert.equal(x.flowSid, fw);
      assert.equal(x.contactChannelAddress, CUSTOMER);
      assert.equal(x.links.steps, `${STUDIO}/v2/Flows/${fw}/Executions/${fn}/Steps`);
      await pollUntil(() => sentTo(CUSTOMER), (b) => b.includes('Hi Ann, reply YES to talk to us'), 'the question at the carrier');
      const waiting = await X(fn).executionContext().fetch();
      assert.equal(waiting.context.flow.data.name, 'Ann');
      assert.deepEqual((await X.list({ status: 'active' })).map((e) => e.sid), [fn]);

      // The reply comes through the carrier and resumes the execution.
      await inbound('Yes');
      const task = await onlyTask(s);
      const attrs = JSON.parse(task.attributes);
      assert.equal(attrs.tier, 'gold');
      assert.equal(attrs.name, 'Ann');
      assert.ok(isSid('CH', attrs.conversationSid));
      assert.equal(crmCalls.length, 1);
      assert.equal(crmCalls[0].method, 'POST');
      assert.equal(new URLSearchParams(crmCalls[0].body).get('from'), CUSTOMER);
      await pollUntil(() => X(fn).fetch(), (e) => e.status === 'ended', 'the execution to end');
      const ctx = await X(fn).executionContext().fetch();
      assert.equal(ctx.context.widgets.ask.inbound.Body, 'Yes');
      const path = (await X(fn).steps.list()).map((p) => `${p.transitionedFrom}>${p.transitionedTo}`);
      for (const hop of ['ask>lookup', 'lookup>split', 'split>to_flex']) assert.ok(path.includes(hop), `${hop} in ${path}`);

      // Another one, ended by hand.
      const y = await X.create({ to: '+15550000002', from: OUR_NUMBER });
      assert.equal(y.status, 'active');
      assert.deepEqual((await X.list({ status: 'active' })).map((e) => e.sid), [y.sid]);
      const ended = await X(y.sid).update({ status: 'ended' });
      assert.equal(ended.status, 'ended');
      assert.deepEqual(await X.list({ status: 'active' }), []);
      assert.deepEqual((await X.list({ status: 'ended' })).map((e) => e.sid).sort(), [fn, y.sid].sort());
      assert.equal(await X(y.sid).remove(), true);
      assert.deepEqual((await X.list()).map((e) => e.sid), [fn]);

      // Bad input.
      await expectRestError(X.create({ to: '+15550000003', from: OUR_NUMBER, parameters: [1] }), 400, 20001, client);
      await expectRestError(X('FN' + '0'.repeat(32)).fetch(), 404, 20404, client);
      assert.deepEqual((await X.list()).map((e) => e.sid), [fn], 'nothing added');
    } finally {
      await new Promise((resolve) => { crm.close(() => resolve()); crm.closeAllConnections(); });
    }
  });
});

test('seed flow 3: a web form creates web and SMS interactions through the API', async () => {
  await withServers(async ({ client, sentTo }) => {
    const s = await routingSetup(client);
    const flex = client.flexApi.v1;
    const routing = (channel, attributes) => ({
      properties: { workspace_sid: s.ws, workflow_sid: s.workflow, task_channel_unique_name: channel, attributes },
    });

    // The web form's chat.
    const web = await flex.interaction.create({
      channel: { type: 'web', initiated_by: 'customer', participants: [{ identity: 'ann' }] },
      routing: routing('chat', { customerName: 'Ann', topic: 'billing' }),
    });
    assert.ok(isSid('KD', web.sid), `interaction sid ${web.sid}; ${lastTrip(client)}`);
    assert.equal(web.channel.type, 'web');
    const wt = web.routing.properties.sid;
    assert.ok(isSid('WT', wt), `task sid ${wt}`);
    const task = await s.W.tasks(wt).fetch();
    const attrs = JSON.parse(task.attributes);
    assert.equal(attrs.customerName, 'Ann');
    assert.equal(attrs.topic, 'billing');
    assert.equal(attrs.flexInteractionSid, web.sid);
    assert.equal(task.taskChannelUniqueName, 'chat');
    const ch = attrs.conversationSid;
    assert.ok(isSid('CH', ch), `conversationSid in ${task.attributes}`);
    assert.deepEqual(await identities(client, ch), ['ann']);
    const [customer] = await flex.interaction(web.sid).channels(web.channel.sid).participants.list();
    assert.equal(customer.type, 'customer');

    // The same form asking for a text back.
    const sms = await flex.interaction.create({
      channel: { type: 'sms', initiated_by: 'api', participants: [{ address: CUSTOMER, proxy_address: OUR_NUMBER }] },
      routing: routing('sms', { customerName: 'Ann' }),
    });
    assert.ok(isSid('KD', sms.sid), lastTrip(client));
    const smsTask = await s.W.tasks(sms.routing.properties.sid).fetch();
    const smsCh = JSON.parse(smsTask.attributes).conversationSid;
    assert.ok(isSid('CH', smsCh) && smsCh !== ch);
    const [binding] = await client.conversations.v1.conversations(smsCh).participants.list();
    assert.deepEqual(binding.messagingBinding, { type: 'sms', address: CUSTOMER, proxy_address: OUR_NUMBER });
    assert.equal((await s.W.tasks.list()).length, 2);

    // Alice takes the web chat first (the older task), then the text.
    await accept(s, wt);
    await pollUntil(() => identities(client, ch), (ids) => ids.includes('alice'), 'alice in the web chat');
    await accept(s, smsTask.sid);
    await pollUntil(() => identities(client, smsCh), (ids) => ids.includes('alice'), 'alice in the SMS conversation');
    await client.conversations.v1.conversations(smsCh).messages.create({ author: 'alice', body: 'About your web form' });
    await pollUntil(() => sentTo(CUSTOMER), (b) => b.includes('About your web form'), "the agent's text at the carrier");
  });
});
