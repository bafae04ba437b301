'use strict';
// TaskRouter v1 compatibility: every test is a real round trip from the
// official `twilio` library to the Switchboard binary.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setTimeout: delay } = require('node:timers/promises');
const { startServer, twilio } = require('./server');

const OTHER_SID = 'AC' + 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const OTHER_TOKEN = 'token2-compat-secret';

let server;
let client; // account 1
let tr; // client.taskrouter.v1

before(async () => {
  server = await startServer({ extraAccounts: [{ sid: OTHER_SID, token: OTHER_TOKEN }] });
  client = server.client();
  tr = client.taskrouter.v1;
});

after(async () => {
  if (server) await server.stop();
});

// ---------------------------------------------------------------- helpers

// The last round trip a client made, for assertion messages.
function lastTrip(c = client) {
  const e = c.httpClient.last();
  if (!e) return '(no request)';
  const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  return `${e.method} ${e.uri} params=${JSON.stringify(e.params || {})} ` +
    `data=${JSON.stringify(e.data || {})} -> ${e.status} ${String(body).slice(0, 600)}`;
}

async function expectRestError(promise, status, code, c = client) {
  let err;
  try {
    const value = await promise;
    assert.fail(`expected RestException ${status}/${code}, got success: ` +
      `${JSON.stringify(value && value.toJSON ? value.toJSON() : value)}; ${lastTrip(c)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.ok(err instanceof twilio.RestException,
    `expected RestException, got ${err && err.constructor && err.constructor.name}: ${err}; ${lastTrip(c)}`);
  assert.equal(err.status, status, `status; ${lastTrip(c)}`);
  assert.equal(err.code, code, `code; ${lastTrip(c)}`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0, 'error message is empty');
  return err;
}

async function pollUntil(fn, pred, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (pred(last)) return last;
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${what}; last value: ` +
        `${JSON.stringify(last && last.toJSON ? last.toJSON() : last)}`);
    }
    await delay(20);
  }
}

const isSid = (prefix, s) => new RegExp(`^${prefix}[0-9a-f]{32}$`).test(s);

function workflowConfig(filters, defaultQueueSid) {
  return JSON.stringify({
    task_routing: {
      filters,
      default_filter: { queue: defaultQueueSid },
    },
  });
}

async function newWorkspace(name) {
  return tr.workspaces.create({ friendlyName: `${name}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}` });
}

async function activityByName(ws, name) {
  const acts = await tr.workspaces(ws.sid).activities.list();
  const a = acts.find((x) => x.friendlyName === name);
  assert.ok(a, `activity ${name} not found among ${acts.map((x) => x.friendlyName)}`);
  return a;
}

// ---------------------------------------------------------------- 1

test('lifecycle: workspace, queue, workflow, worker, task, reservation, events, statistics', async () => {
  const ws = await newWorkspace('lifecycle');
  assert.ok(isSid('WS', ws.sid), `workspace sid ${ws.sid}`);
  assert.equal(ws.accountSid, server.accountSid);
  assert.ok(ws.friendlyName.startsWith('lifecycle-'));
  assert.ok(ws.dateCreated instanceof Date && !isNaN(ws.dateCreated), `dateCreated ${ws.dateCreated}`);
  const W = tr.workspaces(ws.sid);

  assert.equal(ws.url, `https://taskrouter.twilio.com/v1/Workspaces/${ws.sid}`);
  assert.equal(ws.links && ws.links.activities, `https://taskrouter.twilio.com/v1/Workspaces/${ws.sid}/Activities`);
  const fetchedWs = await W.fetch();
  assert.equal(fetchedWs.sid, ws.sid);
  assert.equal(fetchedWs.friendlyName, ws.friendlyName);

  // Default activities.
  const activities = await W.activities.list();
  const actNames = activities.map((a) => a.friendlyName).sort();
  for (const n of ['Available', 'Break', 'Offline', 'Unavailable']) {
    assert.ok(actNames.includes(n), `default activity ${n} missing: ${actNames}`);
  }
  const byName = Object.fromEntries(activities.map((a) => [a.friendlyName, a]));
  assert.equal(byName.Available.available, true);
  assert.equal(byName.Offline.available, false);
  assert.equal(byName.Unavailable.available, false);
  assert.equal(byName.Break.available, false);
  for (const a of activities) {
    assert.ok(isSid('WA', a.sid), `activity sid ${a.sid}`);
    assert.equal(a.workspaceSid, ws.sid);
  }
  // The workspace's default activity is Offline.
  assert.equal(fetchedWs.defaultActivitySid, byName.Offline.sid);
  assert.equal(fetchedWs.defaultActivityName, 'Offline');

  // Default task channels.
  const channels = await W.taskChannels.list();
  const chNames = channels.map((c) => c.uniqueName).sort();
  for (const n of ['chat', 'default', 'email', 'sms', 'video', 'voice']) {
    assert.ok(chNames.includes(n), `default task channel ${n} missing: ${chNames}`);
  }
  for (const c of channels) assert.ok(isSid('TC', c.sid), `task channel sid ${c.sid}`);

  // Queue.
  const queue = await W.taskQueues.create({
    friendlyName: 'English',
    targetWorkers: 'languages HAS "en"',
  });
  assert.ok(isSid('WQ', queue.sid), `queue sid ${queue.sid}`);
  assert.equal(queue.targetWorkers, 'languages HAS "en"');
  assert.equal(queue.friendlyName, 'English');
  assert.equal(queue.workspaceSid, ws.sid);

  // Workflow.
  const config = workflowConfig(
    [{ filter_friendly_name: 'English speakers', expression: 'language == "en"', targets: [{ queue: queue.sid }] }],
    queue.sid,
  );
  const workflow = await W.workflows.create({ friendlyName: 'Routing', configuration: config });
  assert.ok(isSid('WW', workflow.sid), `workflow sid ${workflow.sid}`);
  assert.equal(workflow.friendlyName, 'Routing');
  assert.equal(typeof workflow.configuration, 'string', 'configuration is echoed as a string');
  const parsedCfg = JSON.parse(workflow.configuration);
  assert.equal(parsedCfg.task_routing.filters[0].targets[0].queue, queue.sid);
  assert.equal(parsedCfg.task_routing.default_filter.queue, queue.sid);

  // Worker.
  const worker = await W.workers.create({
    friendlyName: 'alice',
    attributes: JSON.stringify({ languages: ['en'] }),
    activitySid: byName.Available.sid,
  });
  assert.ok(isSid('WK', worker.sid), `worker sid ${worker.sid}`);
  assert.equal(worker.activitySid, byName.Available.sid);
  assert.equal(worker.activityName, 'Available');
  assert.equal(worker.available, true);
  assert.deepEqual(JSON.parse(worker.attributes), { languages: ['en'] });

  // Task.
  const task = await W.tasks.create({
    workflowSid: workflow.sid,
    attributes: JSON.stringify({ language: 'en', customer: 'bob' }),
  });
  assert.ok(isSid('WT', task.sid), `task sid ${task.sid}`);
  assert.equal(task.workflowSid, workflow.sid);
  assert.deepEqual(JSON.parse(task.attributes), { language: 'en', customer: 'bob' });
  assert.ok(['pending', 'reserved'].includes(task.assignmentStatus), `new task status ${task.assignmentStatus}`);

  const T = W.tasks(task.sid);
  const reservedTask = await pollUntil(() => T.fetch(), (t) => t.assignmentStatus === 'reserved', 'task reserved');
  assert.equal(reservedTask.taskQueueSid, queue.sid);
  assert.equal(reservedTask.workflowSid, workflow.sid);

  // Real-time statistics while the task is reserved.
  const rtWhileReserved = await W.realTimeStatistics().fetch();
  assert.equal(rtWhileReserved.totalTasks, 1, `totalTasks while reserved; ${lastTrip()}`);
  assert.equal(rtWhileReserved.tasksByStatus && rtWhileReserved.tasksByStatus.reserved, 1,
    `tasksByStatus.reserved; ${lastTrip()}`);

  // Reservations.
  const reservations = await T.reservations.list();
  assert.equal(reservations.length, 1, `reservations; ${lastTrip()}`);
  const res = reservations[0];
  assert.ok(isSid('WR', res.sid), `reservation sid ${res.sid}`);
  assert.equal(res.reservationStatus, 'pending');
  assert.equal(res.workerSid, worker.sid);
  assert.equal(res.workerName, 'alice');
  assert.equal(res.taskSid, task.sid);

  // The worker-scoped view sees the same reservation.
  const workerRes = await W.workers(worker.sid).reservations.list();
  assert.deepEqual(workerRes.map((r) => r.sid), [res.sid]);

  const accepted = await T.reservations(res.sid).update({ reservationStatus: 'accepted' });
  assert.equal(accepted.sid, res.sid);
  assert.equal(accepted.reservationStatus, 'accepted');

  const assigned = await T.fetch();
  assert.equal(assigned.assignmentStatus, 'assigned');

  const wrapping = await T.update({ assignmentStatus: 'wrapping' });
  assert.equal(wrapping.assignmentStatus, 'wrapping');
  const completed = await T.update({ assignmentStatus: 'completed', reason: 'done' });
  assert.equal(completed.assignmentStatus, 'completed');
  assert.equal(completed.reason, 'done');
  assert.equal((await T.fetch()).assignmentStatus, 'completed');

  // Events for the task.
  const events = await W.events.list({ taskSid: task.sid });
  const types = events.map((e) => e.eventType);
  for (const t of ['task.created', 'reservation.created', 'reservation.accepted', 'task.completed']) {
    assert.ok(types.includes(t), `event ${t} missing from ${JSON.stringify(types)}; ${lastTrip()}`);
  }
  for (const e of events) {
    assert.ok(isSid('EV', e.sid), `event sid ${e.sid}`);
    assert.equal(e.workspaceSid, ws.sid);
    assert.ok(e.eventDate instanceof Date && !isNaN(e.eventDate), `eventDate ${e.eventDate}`);
  }
  const created = events.find((e) => e.eventType === 'task.created');
  assert.equal(created.resourceSid, task.sid);
  assert.equal(created.resourceType, 'task');

  // Workspace statistics.
  const wsStats = await W.statistics().fetch();
  assert.equal(wsStats.workspaceSid, ws.sid);
  assert.ok(wsStats.cumulative && typeof wsStats.cumulative === 'object', `cumulative; ${lastTrip()}`);
  assert.ok(wsStats.realtime && typeof wsStats.realtime === 'object', `realtime; ${lastTrip()}`);
  assert.equal(wsStats.cumulative.tasks_created, 1, `cumulative.tasks_created; ${lastTrip()}`);
  assert.equal(wsStats.cumulative.tasks_completed, 1, `cumulative.tasks_completed; ${lastTrip()}`);
  assert.equal(wsStats.cumulative.reservations_accepted, 1, `cumulative.reservations_accepted; ${lastTrip()}`);
  assert.equal(wsStats.realtime.total_workers, 1, `realtime.total_workers; ${lastTrip()}`);

  const wsRt = await W.realTimeStatistics().fetch();
  assert.equal(wsRt.workspaceSid, ws.sid);
  assert.equal(wsRt.totalWorkers, 1, `totalWorkers; ${lastTrip()}`);
  assert.ok(Array.isArray(wsRt.activityStatistics), `activityStatistics; ${lastTrip()}`);
  const availStat = wsRt.activityStatistics.find((a) => a.friendly_name === 'Available');
  assert.ok(availStat, `Available in activity_statistics; ${lastTrip()}`);
  assert.equal(availStat.workers, 1);
  assert.equal(availStat.sid, byName.Available.sid);
  assert.equal(wsRt.tasksByStatus.pending, 0);
  assert.equal(wsRt.tasksByStatus.reserved, 0);
  assert.equal(wsRt.tasksByStatus.assigned, 0);

  const wsCum = await W.cumulativeStatistics().fetch();
  assert.equal(wsCum.workspaceSid, ws.sid);
  assert.equal(wsCum.tasksCreated, 1, `tasksCreated; ${lastTrip()}`);
  assert.equal(wsCum.tasksCompleted, 1, `tasksCompleted; ${lastTrip()}`);
  assert.equal(wsCum.tasksCanceled, 0, `tasksCanceled; ${lastTrip()}`);
  assert.equal(wsCum.reservationsCreated, 1, `reservationsCreated; ${lastTrip()}`);
  assert.equal(wsCum.reservationsAccepted, 1, `reservationsAccepted; ${lastTrip()}`);
  assert.equal(wsCum.reservationsRejected, 0, `reservationsRejected; ${lastTrip()}`);
  assert.ok(wsCum.startTime instanceof Date && !isNaN(wsCum.startTime), `startTime ${wsCum.startTime}`);
  assert.ok(wsCum.endTime instanceof Date && !isNaN(wsCum.endTime), `endTime ${wsCum.endTime}`);

  // TaskChannel and SplitByWaitTime under the library's own option names.
  const onTaskChannel = await W.cumulativeStatistics().fetch({ taskChannel: task.taskChannelUniqueName });
  assert.equal(onTaskChannel.tasksCreated, wsCum.tasksCreated, `tasksCreated on the task's channel; ${lastTrip()}`);
  const otherChannel = task.taskChannelUniqueName === 'voice' ? 'chat' : 'voice';
  const onOther = await W.cumulativeStatistics().fetch({ taskChannel: otherChannel });
  assert.equal(onOther.tasksCreated, 0, `tasksCreated on ${otherChannel}; ${lastTrip()}`);
  // The test's one acceptance came well within an hour of its task's creation.
  const split = await W.cumulativeStatistics().fetch({ splitByWaitTime: '3600' });
  assert.deepEqual(split.splitByWaitTime['3600'], {
    below: { reservations_accepted: wsCum.reservationsAccepted, tasks_canceled: wsCum.tasksCanceled },
    above: { reservations_accepted: 0, tasks_canceled: 0 },
  }, `splitByWaitTime; ${lastTrip()}`);
  await expectRestError(W.cumulativeStatistics().fetch({ splitByWaitTime: '-5' }), 400, 20001);
  await expectRestError(W.cumulativeStatistics().fetch({ taskChannel: 'no-such-channel' }), 400, 20001);

  // Task queue statistics.
  const Q = W.taskQueues(queue.sid);
  const qStats = await Q.statistics().fetch();
  assert.equal(qStats.taskQueueSid, queue.sid);
  assert.equal(qStats.cumulative.tasks_entered, 1, `queue cumulative.tasks_entered; ${lastTrip()}`);
  assert.equal(qStats.cumulative.reservations_accepted, 1, `queue cumulative.reservations_accepted; ${lastTrip()}`);
  assert.equal(qStats.realtime.total_eligible_workers, 1, `queue realtime.total_eligible_workers; ${lastTrip()}`);

  const qRt = await Q.realTimeStatistics().fetch();
  assert.equal(qRt.taskQueueSid, queue.sid);
  assert.equal(qRt.totalEligibleWorkers, 1, `totalEligibleWorkers; ${lastTrip()}`);
  assert.equal(qRt.totalAvailableWorkers, 1, `totalAvailableWorkers; ${lastTrip()}`);
  assert.equal(qRt.tasksByStatus.pending, 0);

  const qCum = await Q.cumulativeStatistics().fetch();
  assert.equal(qCum.taskQueueSid, queue.sid);
  assert.equal(qCum.tasksEntered, 1, `tasksEntered; ${lastTrip()}`);
  assert.equal(qCum.tasksCompleted, 1, `tasksCompleted; ${lastTrip()}`);
  assert.equal(qCum.reservationsCreated, 1, `reservationsCreated; ${lastTrip()}`);
  assert.equal(qCum.reservationsAccepted, 1, `reservationsAccepted; ${lastTrip()}`);

  // All queues' statistics (a list).
  const allQ = await W.taskQueues.statistics.list();
  assert.equal(allQ.length, 1, `TaskQueues/Statistics; ${lastTrip()}`);
  assert.equal(allQ[0].taskQueueSid, queue.sid);
  assert.equal(allQ[0].cumulative.tasks_entered, 1);

  // Worker statistics.
  const wkStats = await W.workers(worker.sid).statistics().fetch();
  assert.equal(wkStats.workerSid, worker.sid);
  assert.equal(wkStats.cumulative.reservations_created, 1, `worker cumulative.reservations_created; ${lastTrip()}`);
  assert.equal(wkStats.cumulative.reservations_accepted, 1, `worker cumulative.reservations_accepted; ${lastTrip()}`);

  const wksStats = await W.workers.statistics().fetch();
  assert.equal(wksStats.workspaceSid, ws.sid);
  assert.equal(wksStats.realtime.total_workers, 1, `workers realtime.total_workers; ${lastTrip()}`);
  assert.equal(wksStats.cumulative.reservations_accepted, 1, `workers cumulative.reservations_accepted; ${lastTrip()}`);

  // Workflow statistics.
  const wfStats = await W.workflows(workflow.sid).statistics().fetch();
  assert.equal(wfStats.workflowSid, workflow.sid);
  assert.equal(wfStats.cumulative.tasks_entered, 1, `workflow cumulative.tasks_entered; ${lastTrip()}`);
  assert.equal(wfStats.cumulative.tasks_completed, 1, `workflow cumulative.tasks_completed; ${lastTrip()}`);
  assert.equal(wfStats.cumulative.reservations_accepted, 1, `workflow cumulative.reservations_accepted; ${lastTrip()}`);
  assert.ok(wfStats.realtime && typeof wfStats.realtime === 'object', `workflow realtime; ${lastTrip()}`);
});

// ---------------------------------------------------------------- 2

test('worker channels: list and update capacity', async () => {
  const ws = await newWorkspace('channels');
  const W = tr.workspaces(ws.sid);
  const worker = await W.workers.create({ friendlyName: 'carol', attributes: '{}' });
  // A worker created without an activity gets the workspace default (Offline).
  assert.equal(worker.activityName, 'Offline');
  assert.equal(worker.available, false);

  const wc = await W.workers(worker.sid).workerChannels.list();
  const names = wc.map((c) => c.taskChannelUniqueName).sort();
  assert.deepEqual(names, ['chat', 'default', 'email', 'sms', 'video', 'voice'], `worker channels; ${lastTrip()}`);
  for (const c of wc) {
    assert.ok(isSid('WC', c.sid), `worker channel sid ${c.sid}`);
    assert.ok(isSid('TC', c.taskChannelSid), `task channel sid ${c.taskChannelSid}`);
    assert.equal(c.workerSid, worker.sid);
    assert.equal(c.workspaceSid, ws.sid);
    assert.equal(typeof c.configuredCapacity, 'number');
    assert.equal(c.assignedTasks, 0);
  }

  const updated = await W.workers(worker.sid).workerChannels('chat').update({ capacity: 3 });
  assert.equal(updated.taskChannelUniqueName, 'chat', `update by unique name; ${lastTrip()}`);
  assert.equal(updated.configuredCapacity, 3, `configuredCapacity after update; ${lastTrip()}`);

  const fetched = await W.workers(worker.sid).workerChannels('chat').fetch();
  assert.equal(fetched.configuredCapacity, 3);
  assert.equal(fetched.sid, updated.sid);

  // By WC sid as well, and the other channels are untouched.
  const bySid = await W.workers(worker.sid).workerChannels(updated.sid).fetch();
  assert.equal(bySid.taskChannelUniqueName, 'chat');
  const again = await W.workers(worker.sid).workerChannels.list();
  const voice = again.find((c) => c.taskChannelUniqueName === 'voice');
  const voiceBefore = wc.find((c) => c.taskChannelUniqueName === 'voice');
  assert.equal(voice.configuredCapacity, voiceBefore.configuredCapacity);
  assert.equal(again.find((c) => c.taskChannelUniqueName === 'chat').configuredCapacity, 3);

  // Disabling a channel.
  const off = await W.workers(worker.sid).workerChannels('sms').update({ available: false });
  assert.equal(off.available, false);
  assert.equal((await W.workers(worker.sid).workerChannels('sms').fetch()).available, false);
});

// ---------------------------------------------------------------- 3

test('paging: list follows next_page_url, page exposes nextPageUrl', async () => {
  const ws = await newWorkspace('paging');
  const W = tr.workspaces(ws.sid);
  const made = [];
  for (let i = 0; i < 7; i++) {
    made.push(await W.activities.create({ friendlyName: `extra-${i}`, available: i % 2 === 0 }));
  }
  const expected = 4 + 7;

  const sentBefore = client.httpClient.sent;
  const all = await W.activities.list({ pageSize: 3 });
  const gets = client.httpClient.log.filter((e) => e.seq > sentBefore);
  assert.equal(all.length, expected, `list({pageSize:3}) returned ${all.length}; ${lastTrip()}`);
  const sids = new Set(all.map((a) => a.sid));
  assert.equal(sids.size, expected, 'duplicate records across pages');
  for (const m of made) assert.ok(sids.has(m.sid), `activity ${m.friendlyName} missing from paged list`);
  assert.equal(gets.length, Math.ceil(expected / 3), `page requests: ${gets.map((g) => g.uri).join(' , ')}`);
  for (const g of gets) assert.equal(g.status, 200);

  const page = await W.activities.page({ pageSize: 3 });
  assert.equal(page.instances.length, 3);
  assert.ok(typeof page.nextPageUrl === 'string' && page.nextPageUrl.length > 0, `nextPageUrl ${page.nextPageUrl}`);
  assert.ok(!page.previousPageUrl, `first page previousPageUrl should be empty: ${page.previousPageUrl}`);
  const page2 = await page.nextPage();
  assert.ok(page2, 'nextPage() returned nothing');
  assert.equal(page2.instances.length, 3);
  const p1 = new Set(page.instances.map((a) => a.sid));
  for (const a of page2.instances) assert.ok(!p1.has(a.sid), 'page 2 repeats page 1');

  // The last page has no next page.
  const lastPage = await W.activities.page({ pageSize: expected });
  assert.equal(lastPage.instances.length, expected);
  assert.ok(!lastPage.nextPageUrl, `last page nextPageUrl should be empty: ${lastPage.nextPageUrl}`);

  // limit stops early.
  const limited = await W.activities.list({ pageSize: 3, limit: 5 });
  assert.equal(limited.length, 5);

  // Filter on the list.
  const avail = await W.activities.list({ available: 'true', pageSize: 2 });
  const availNames = avail.map((a) => a.friendlyName).sort();
  assert.deepEqual(availNames, ['Available', 'extra-0', 'extra-2', 'extra-4', 'extra-6'], `available filter; ${lastTrip()}`);

  // Paging workers too.
  for (let i = 0; i < 5; i++) await W.workers.create({ friendlyName: `w${i}` });
  const workers = await W.workers.list({ pageSize: 2 });
  assert.deepEqual(workers.map((w) => w.friendlyName).sort(), ['w0', 'w1', 'w2', 'w3', 'w4']);
});

// ---------------------------------------------------------------- 4

test('errors: wrong credentials -> 401/20003', async () => {
  const countBefore = (await tr.workspaces.list()).length;
  const bad = server.client(server.accountSid, 'not-the-token');
  await expectRestError(bad.taskrouter.v1.workspaces.list(), 401, 20003, bad);
  await expectRestError(bad.taskrouter.v1.workspaces.create({ friendlyName: 'intruder' }), 401, 20003, bad);
  const unknown = server.client('AC' + '0'.repeat(32), 'whatever');
  await expectRestError(unknown.taskrouter.v1.workspaces.list(), 401, 20003, unknown);
  const listed = await tr.workspaces.list();
  assert.equal(listed.length, countBefore, 'a workspace was created with wrong credentials');
  assert.ok(!listed.some((w) => w.friendlyName === 'intruder'));
});

test('errors: unknown SIDs -> 404/20404', async () => {
  const ws = await newWorkspace('notfound');
  const W = tr.workspaces(ws.sid);
  await expectRestError(W.tasks('WT' + '0'.repeat(32)).fetch(), 404, 20404);
  await expectRestError(W.workers('WK' + '0'.repeat(32)).fetch(), 404, 20404);
  await expectRestError(W.taskQueues('WQ' + '0'.repeat(32)).fetch(), 404, 20404);
  await expectRestError(tr.workspaces('WS' + '0'.repeat(32)).fetch(), 404, 20404);
  await expectRestError(W.tasks('WT' + '0'.repeat(32)).update({ assignmentStatus: 'canceled' }), 404, 20404);
  assert.equal((await W.tasks.list()).length, 0);
});

test("errors: another account's workspace -> 404/20404", async () => {
  const ws = await newWorkspace('owned');
  const other = server.client(OTHER_SID, OTHER_TOKEN);
  const otr = other.taskrouter.v1;

  // Account 2 authenticates fine and sees none of account 1's workspaces.
  const own = await otr.workspaces.list();
  assert.ok(!own.some((w) => w.sid === ws.sid), 'account 2 lists account 1 workspace');

  await expectRestError(otr.workspaces(ws.sid).fetch(), 404, 20404, other);
  await expectRestError(otr.workspaces(ws.sid).update({ friendlyName: 'hijacked' }), 404, 20404, other);
  await expectRestError(otr.workspaces(ws.sid).taskQueues.create({ friendlyName: 'sneaky' }), 404, 20404, other);
  await expectRestError(otr.workspaces(ws.sid).remove(), 404, 20404, other);

  const still = await tr.workspaces(ws.sid).fetch();
  assert.equal(still.friendlyName, ws.friendlyName);
  assert.equal((await tr.workspaces(ws.sid).taskQueues.list()).length, 0);

  // And account 2's own workspace belongs to account 2.
  const mine = await otr.workspaces.create({ friendlyName: 'account2-ws' });
  assert.equal(mine.accountSid, OTHER_SID);
  await expectRestError(tr.workspaces(mine.sid).fetch(), 404, 20404);
});

test('errors: invalid TargetWorkers -> 400/20001, nothing created', async () => {
  const ws = await newWorkspace('badexpr');
  const W = tr.workspaces(ws.sid);
  const good = await W.taskQueues.create({ friendlyName: 'good', targetWorkers: '1==1' });
  const queuesBefore = (await W.taskQueues.list()).length;
  assert.equal(queuesBefore, 1);

  await expectRestError(W.taskQueues.create({ friendlyName: 'bad', targetWorkers: 'languages HAS' }), 400, 20001);
  await expectRestError(W.taskQueues.create({ friendlyName: 'bad2', targetWorkers: 'skills IN [' }), 400, 20001);
  assert.equal((await W.taskQueues.list()).length, queuesBefore, 'queue count changed after bad create');

  await expectRestError(W.taskQueues(good.sid).update({ targetWorkers: '(((' }), 400, 20001);
  const unchanged = await W.taskQueues(good.sid).fetch();
  assert.equal(unchanged.targetWorkers, '1==1', 'bad update changed the queue');
});

test('errors: invalid workflow configuration -> 400/20001, nothing created', async () => {
  const ws = await newWorkspace('badwf');
  const W = tr.workspaces(ws.sid);
  const q = await W.taskQueues.create({ friendlyName: 'q', targetWorkers: '1==1' });
  const goodCfg = workflowConfig([], q.sid);
  const wf = await W.workflows.create({ friendlyName: 'ok', configuration: goodCfg });

  await expectRestError(W.workflows.create({ friendlyName: 'bad', configuration: 'not json' }), 400, 20001);
  await expectRestError(W.workflows.create({ friendlyName: 'bad', configuration: '{"task_routing": 5}' }), 400, 20001);
  await expectRestError(
    W.workflows.create({ friendlyName: 'bad', configuration: workflowConfig([], 'WQ' + '0'.repeat(32)) }),
    400, 20001);
  await expectRestError(
    W.workflows.create({
      friendlyName: 'bad',
      configuration: workflowConfig([{ expression: 'a ==', targets: [{ queue: q.sid }] }], q.sid),
    }),
    400, 20001);
  const wfs = await W.workflows.list();
  assert.deepEqual(wfs.map((w) => w.sid), [wf.sid], 'workflow count changed after bad creates');

  await expectRestError(W.workflows(wf.sid).update({ configuration: '{' }), 400, 20001);
  const kept = await W.workflows(wf.sid).fetch();
  assert.deepEqual(JSON.parse(kept.configuration), JSON.parse(goodCfg), 'bad update changed the workflow');
  assert.equal((await W.taskQueues.list()).length, 1);
});

// ---------------------------------------------------------------- 5

// Two queues: "sales" (one available seller) and "general" (nobody), so the
// sales task is reserved and the support tasks stay pending.
async function filterFixture(name, { virtualStart = false } = {}) {
  const ws = await newWorkspace(name);
  const W = tr.workspaces(ws.sid);
  const available = await activityByName(ws, 'Available');
  const sales = await W.taskQueues.create({ friendlyName: 'sales', targetWorkers: 'skills HAS "sales"' });
  const general = await W.taskQueues.create({ friendlyName: 'general', targetWorkers: 'skills HAS "general"' });
  const wf = await W.workflows.create({
    friendlyName: 'wf',
    configuration: workflowConfig(
      [{ filter_friendly_name: 'sales', expression: 'type == "sales"', targets: [{ queue: sales.sid }] }],
      general.sid),
  });
  await W.workers.create({
    friendlyName: 'seller',
    attributes: JSON.stringify({ skills: ['sales'] }),
    activitySid: available.sid,
  });
  // With virtualStart, the virtual start times run sales < mid < high2 < high.
  const base = Math.floor(Date.now() / 1000) * 1000;
  const hoursAgo = (h) => new Date(base - h * 3600 * 1000);
  const mk = (type, priority, hours) => W.tasks.create({
    workflowSid: wf.sid,
    attributes: JSON.stringify({ type }),
    priority,
    ...(virtualStart ? { virtualStartTime: hoursAgo(hours) } : {}),
  });
  const tSales = await mk('sales', 1, 4);
  const tHigh = await mk('support', 5, 1);
  const tMid = await mk('support', 3, 3);
  const tHigh2 = await mk('support', 5, 2);
  if (virtualStart) {
    assert.equal(tHigh.virtualStartTime.getTime(), hoursAgo(1).getTime(), `virtualStartTime echoed; ${lastTrip()}`);
  }
  assert.equal(tHigh.priority, 5);
  await pollUntil(() => W.tasks(tSales.sid).fetch(), (t) => t.assignmentStatus === 'reserved', 'sales task reserved');
  for (const t of [tHigh, tMid, tHigh2]) {
    await pollUntil(() => W.tasks(t.sid).fetch(), (x) => x.taskQueueSid === general.sid, 'support task queued');
  }
  return { ws, W, sales, general, wf, tSales, tHigh, tMid, tHigh2 };
}

test('task filters: assignmentStatus, evaluateTaskAttributes, queue and workflow filters', async () => {
  const { W, general, wf, tSales, tHigh, tMid, tHigh2 } = await filterFixture('filters');
  const supportSids = [tHigh.sid, tMid.sid, tHigh2.sid].sort();

  const pending = await W.tasks.list({ assignmentStatus: ['pending'] });
  assert.deepEqual(pending.map((t) => t.sid).sort(), supportSids, `pending; ${lastTrip()}`);
  for (const t of pending) {
    assert.equal(t.assignmentStatus, 'pending');
    assert.equal(t.taskQueueSid, general.sid);
  }

  const reserved = await W.tasks.list({ assignmentStatus: ['reserved'] });
  assert.deepEqual(reserved.map((t) => t.sid), [tSales.sid], `reserved; ${lastTrip()}`);

  const both = await W.tasks.list({ assignmentStatus: ['pending', 'reserved'] });
  assert.equal(both.length, 4, `pending+reserved (repeated key); ${lastTrip()}`);

  const assigned = await W.tasks.list({ assignmentStatus: ['assigned'] });
  assert.equal(assigned.length, 0, `assigned; ${lastTrip()}`);

  const support = await W.tasks.list({ evaluateTaskAttributes: 'type == "support"' });
  assert.deepEqual(support.map((t) => t.sid).sort(), supportSids, `evaluateTaskAttributes; ${lastTrip()}`);
  const none = await W.tasks.list({ evaluateTaskAttributes: 'type == "billing"' });
  assert.equal(none.length, 0, `evaluateTaskAttributes no match; ${lastTrip()}`);
  const combined = await W.tasks.list({ evaluateTaskAttributes: 'type == "support"', assignmentStatus: ['reserved'] });
  assert.equal(combined.length, 0, `evaluateTaskAttributes + assignmentStatus; ${lastTrip()}`);

  const inGeneral = await W.tasks.list({ taskQueueSid: general.sid });
  assert.equal(inGeneral.length, 3, `taskQueueSid filter; ${lastTrip()}`);
  const byQueueName = await W.tasks.list({ taskQueueName: 'sales' });
  assert.deepEqual(byQueueName.map((t) => t.sid), [tSales.sid], `taskQueueName filter; ${lastTrip()}`);
  const byWf = await W.tasks.list({ workflowSid: wf.sid, pageSize: 3 });
  assert.equal(byWf.length, 4, `workflowSid filter + paging; ${lastTrip()}`);
  const byPriority = await W.tasks.list({ priority: 5 });
  assert.deepEqual(byPriority.map((t) => t.sid).sort(), [tHigh.sid, tHigh2.sid].sort(), `priority filter; ${lastTrip()}`);
});

test('task ordering (every form the library documents)', async (t) => {
  const { W, tSales, tHigh, tMid, tHigh2 } = await filterFixture('ordering', { virtualStart: true });
  // Created in this order: sales p1, support p5, support p3, support p5.
  const cases = {
    'DateCreated:asc': [tSales, tHigh, tMid, tHigh2],
    'DateCreated:desc': [tHigh2, tMid, tHigh, tSales],
    'Priority:desc,DateCreated:asc': [tHigh, tHigh2, tMid, tSales],
    'Priority:desc': null, // priorities 5,5,3,1 (ties in any order)
    'Priority:asc': null, // priorities 1,3,5,5
    'Priority:asc,DateCreated:desc': [tSales, tMid, tHigh2, tHigh],
    'VirtualStartTime:asc': [tSales, tMid, tHigh2, tHigh],
    'VirtualStartTime:desc': [tHigh, tHigh2, tMid, tSales],
    'Priority:desc,VirtualStartTime:asc': [tHigh2, tHigh, tMid, tSales],
  };
  for (const [ordering, expected] of Object.entries(cases)) {
    await t.test(ordering, async () => {
      const got = await W.tasks.list({ ordering });
      if (expected) {
        assert.deepEqual(got.map((x) => x.sid), expected.map((x) => x.sid), `${ordering}; ${lastTrip()}`);
      } else {
        const want = ordering.endsWith('desc') ? [5, 5, 3, 1] : [1, 3, 5, 5];
        assert.deepEqual(got.map((x) => x.priority), want, `${ordering}; ${lastTrip()}`);
      }
    });
  }
});

test('worker and queue list filters', async () => {
  const ws = await newWorkspace('wfilters');
  const W = tr.workspaces(ws.sid);
  const available = await activityByName(ws, 'Available');
  const en = await W.taskQueues.create({ friendlyName: 'en', targetWorkers: 'languages HAS "en"' });
  const fr = await W.taskQueues.create({ friendlyName: 'fr', targetWorkers: 'languages HAS "fr"' });
  const ann = await W.workers.create({ friendlyName: 'ann', attributes: '{"languages":["en"]}', activitySid: available.sid });
  const ben = await W.workers.create({ friendlyName: 'ben', attributes: '{"languages":["en","fr"]}' });

  const names = (xs) => xs.map((x) => x.friendlyName).sort();
  assert.deepEqual(names(await W.workers.list({ available: 'true' })), ['ann'], `available; ${lastTrip()}`);
  assert.deepEqual(names(await W.workers.list({ activityName: 'Offline' })), ['ben'], `activityName; ${lastTrip()}`);
  assert.deepEqual(names(await W.workers.list({ activitySid: available.sid })), ['ann'], `activitySid; ${lastTrip()}`);
  assert.deepEqual(names(await W.workers.list({ friendlyName: 'ben' })), ['ben'], `friendlyName; ${lastTrip()}`);
  assert.deepEqual(names(await W.workers.list({ targetWorkersExpression: 'languages HAS "fr"' })), ['ben'],
    `targetWorkersExpression; ${lastTrip()}`);
  assert.deepEqual(names(await W.workers.list({ taskQueueSid: en.sid })), ['ann', 'ben'], `taskQueueSid; ${lastTrip()}`);
  assert.deepEqual(names(await W.workers.list({ taskQueueName: 'fr' })), ['ben'], `taskQueueName; ${lastTrip()}`);

  assert.deepEqual(names(await W.taskQueues.list({ friendlyName: 'fr' })), ['fr'], `queue friendlyName; ${lastTrip()}`);
  assert.deepEqual(names(await W.taskQueues.list({ workerSid: ann.sid })), ['en'], `queue workerSid; ${lastTrip()}`);
  assert.deepEqual(names(await W.taskQueues.list({ evaluateWorkerAttributes: '{"languages":["fr"]}' })), ['fr'],
    `queue evaluateWorkerAttributes; ${lastTrip()}`);
  assert.deepEqual(names(await W.taskQueues.list({ workerSid: ben.sid })), ['en', 'fr'], `queue workerSid; ${lastTrip()}`);
  assert.equal(fr.targetWorkers, 'languages HAS "fr"');

  const wsByName = await tr.workspaces.list({ friendlyName: ws.friendlyName });
  assert.deepEqual(wsByName.map((x) => x.sid), [ws.sid], `workspace friendlyName; ${lastTrip()}`);
});

// ---------------------------------------------------------------- 6

test('update and delete: workspace, activity, queue, workflow, worker, task', async () => {
  const ws = await newWorkspace('crud');
  const W = tr.workspaces(ws.sid);

  const wsUp = await W.update({ friendlyName: `${ws.friendlyName}-renamed`, eventCallbackUrl: 'https://example.com/events' });
  assert.equal(wsUp.friendlyName, `${ws.friendlyName}-renamed`);
  assert.equal(wsUp.eventCallbackUrl, 'https://example.com/events');
  const wsF = await W.fetch();
  assert.equal(wsF.friendlyName, `${ws.friendlyName}-renamed`);
  assert.equal(wsF.eventCallbackUrl, 'https://example.com/events');
  assert.ok(wsF.dateUpdated.getTime() >= wsF.dateCreated.getTime());

  const act = await W.activities.create({ friendlyName: 'Lunch', available: false });
  const actUp = await W.activities(act.sid).update({ friendlyName: 'Long lunch' });
  assert.equal(actUp.friendlyName, 'Long lunch');
  assert.equal(actUp.available, false);
  assert.equal((await W.activities(act.sid).fetch()).friendlyName, 'Long lunch');

  const q = await W.taskQueues.create({ friendlyName: 'q1', targetWorkers: '1==1' });
  const qUp = await W.taskQueues(q.sid).update({ friendlyName: 'q1-renamed', targetWorkers: 'skill == "x"', maxReservedWorkers: 3 });
  assert.equal(qUp.friendlyName, 'q1-renamed');
  assert.equal(qUp.targetWorkers, 'skill == "x"');
  assert.equal(qUp.maxReservedWorkers, 3);
  const qF = await W.taskQueues(q.sid).fetch();
  assert.equal(qF.friendlyName, 'q1-renamed');
  assert.equal(qF.targetWorkers, 'skill == "x"');

  const wf = await W.workflows.create({ friendlyName: 'wf1', configuration: workflowConfig([], q.sid) });
  const q2 = await W.taskQueues.create({ friendlyName: 'q2', targetWorkers: '1==1' });
  const newCfg = workflowConfig([{ expression: 'x == 1', targets: [{ queue: q2.sid }] }], q2.sid);
  const wfUp = await W.workflows(wf.sid).update({ friendlyName: 'wf1-renamed', configuration: newCfg, taskReservationTimeout: 60 });
  assert.equal(wfUp.friendlyName, 'wf1-renamed');
  assert.deepEqual(JSON.parse(wfUp.configuration), JSON.parse(newCfg));
  assert.equal(wfUp.taskReservationTimeout, 60);
  const wfF = await W.workflows(wf.sid).fetch();
  assert.equal(wfF.friendlyName, 'wf1-renamed');
  assert.deepEqual(JSON.parse(wfF.configuration), JSON.parse(newCfg));

  // Worker update then delete.
  const wk = await W.workers.create({ friendlyName: 'dave', attributes: '{"skill":"x"}' });
  const wkUp = await W.workers(wk.sid).update({ friendlyName: 'david', attributes: '{"skill":"y"}' });
  assert.equal(wkUp.friendlyName, 'david');
  assert.deepEqual(JSON.parse(wkUp.attributes), { skill: 'y' });
  assert.equal(await W.workers(wk.sid).remove(), true);
  await expectRestError(W.workers(wk.sid).fetch(), 404, 20404);
  assert.equal((await W.workers.list()).length, 0);

  // Task (pending: nobody is available) update then delete.
  const task = await W.tasks.create({ workflowSid: wf.sid, attributes: '{"x":1}', priority: 2 });
  assert.equal(task.priority, 2);
  const queued = await pollUntil(() => W.tasks(task.sid).fetch(), (x) => x.taskQueueSid !== null, 'task queued');
  assert.equal(queued.taskQueueSid, q2.sid, 'filter x == 1 should route to q2');
  assert.equal(queued.assignmentStatus, 'pending');
  const taskUp = await W.tasks(task.sid).update({ priority: 7, attributes: '{"x":1,"y":2}' });
  assert.equal(taskUp.priority, 7);
  assert.deepEqual(JSON.parse(taskUp.attributes), { x: 1, y: 2 });
  assert.equal(await W.tasks(task.sid).remove(), true);
  await expectRestError(W.tasks(task.sid).fetch(), 404, 20404);
  assert.equal((await W.tasks.list()).length, 0);

  // Queue delete (q1 is not referenced by the updated workflow).
  assert.equal(await W.taskQueues(q.sid).remove(), true);
  await expectRestError(W.taskQueues(q.sid).fetch(), 404, 20404);
  assert.deepEqual((await W.taskQueues.list()).map((x) => x.sid), [q2.sid]);

  // Activity delete.
  assert.equal(await W.activities(act.sid).remove(), true);
  await expectRestError(W.activities(act.sid).fetch(), 404, 20404);

  // Workflow delete, then workspace delete.
  assert.equal(await W.workflows(wf.sid).remove(), true);
  await expectRestError(W.workflows(wf.sid).fetch(), 404, 20404);
  assert.equal(await W.remove(), true);
  await expectRestError(W.fetch(), 404, 20404);
});
