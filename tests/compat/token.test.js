'use strict';
// Access tokens both ways with the official `twilio` library: tokens its
// AccessToken makes (HS256, HS384, HS512; chat and TaskRouter grants) pass
// `switchboard token verify`, and tokens `switchboard token mint` makes pass
// the library's own JWT dependency (jsonwebtoken) with the same claims.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const jsonwebtoken = require('jsonwebtoken');
const { twilio, binaryPath } = require('./server');

const ACCOUNT_SID = 'AC' + '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const KEY_SID = 'SK' + '1234567890abcdef1234567890abcdef';
const SECRET = 'compat-key-secret-0123456789';
const CHAT_SERVICE = 'IS' + 'abcdefabcdefabcdefabcdefabcdefab';
const WORKSPACE = 'WS' + '00112233445566778899aabbccddeeff';
const WORKER = 'WK' + 'ffeeddccbbaa99887766554433221100';

function verify(jwt, secret = SECRET) {
  const r = spawnSync(binaryPath(), ['token', 'verify', '--secret', secret, '--key', KEY_SID, '--account', ACCOUNT_SID, jwt],
                      { encoding: 'utf8' });
  return { status: r.status, body: JSON.parse(r.stdout) };
}

test('tokens the library makes verify here, with their grants', () => {
  const { AccessToken } = twilio.jwt;
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    const token = new AccessToken(ACCOUNT_SID, KEY_SID, SECRET, { identity: 'alice', ttl: 600 });
    token.addGrant(new AccessToken.ChatGrant({ serviceSid: CHAT_SERVICE }));
    token.addGrant(new AccessToken.TaskRouterGrant({ workspaceSid: WORKSPACE, workerSid: WORKER, role: 'worker' }));
    const { status, body } = verify(token.toJwt(alg));
    assert.equal(status, 0, JSON.stringify(body));
    assert.equal(body.identity, 'alice');
    assert.equal(body.key_sid, KEY_SID);
    assert.equal(body.account_sid, ACCOUNT_SID);
    assert.equal(body.expires_at - body.issued_at, 600);
    assert.deepEqual(body.grants.chat, { service_sid: CHAT_SERVICE });
    assert.deepEqual(body.grants.task_router, { workspace_sid: WORKSPACE, worker_sid: WORKER, role: 'worker' });
  }
});

test('a library token with another secret, or expired, is refused with its code', () => {
  const { AccessToken } = twilio.jwt;
  const token = new AccessToken(ACCOUNT_SID, KEY_SID, 'another-secret', { identity: 'mallory' });
  assert.deepEqual(verify(token.toJwt()), { status: 1, body: { code: 20107, message: 'Invalid Access Token signature', status: 401 } });
  // Expired: the library's JWT dependency signs one that ended long ago.
  const jwt = jsonwebtoken.sign({ jti: `${KEY_SID}-1`, grants: { identity: 'bob' }, iat: 1, exp: 61 },
                                SECRET, { algorithm: 'HS256', issuer: KEY_SID, subject: ACCOUNT_SID,
                                          header: { cty: 'twilio-fpa;v=1', typ: 'JWT' } });
  assert.equal(verify(jwt).body.code, 20104);
});

test('tokens minted here pass the library\'s JWT checks with the same claims', () => {
  const jwt = execFileSync(binaryPath(), ['token', 'mint', '--account', ACCOUNT_SID, '--key', KEY_SID, '--secret', SECRET,
                                          '--identity', 'guest-42', '--ttl', '900', '--chat-service', CHAT_SERVICE,
                                          '--workspace', WORKSPACE, '--worker', WORKER, '--role', 'worker'],
                           { encoding: 'utf8' }).trim();
  const decoded = jsonwebtoken.verify(jwt, SECRET, { algorithms: ['HS256'], complete: true });
  assert.deepEqual(decoded.header, { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
  const claims = decoded.payload;
  assert.equal(claims.iss, KEY_SID);
  assert.equal(claims.sub, ACCOUNT_SID);
  assert.equal(claims.jti, `${KEY_SID}-${claims.iat}`);
  assert.equal(claims.exp - claims.iat, 900);
  assert.deepEqual(claims.grants, {
    identity: 'guest-42',
    chat: { service_sid: CHAT_SERVICE },
    task_router: { workspace_sid: WORKSPACE, worker_sid: WORKER, role: 'worker' },
  });
  // And the same shape the library makes: its token for the same inputs has the same claim names.
  const lib = new twilio.jwt.AccessToken(ACCOUNT_SID, KEY_SID, SECRET, { identity: 'guest-42', ttl: 900 });
  lib.addGrant(new twilio.jwt.AccessToken.ChatGrant({ serviceSid: CHAT_SERVICE }));
  const libClaims = jsonwebtoken.decode(lib.toJwt());
  assert.deepEqual(Object.keys(libClaims).sort(), Object.keys(claims).sort());
});

// API keys through the official client (api.twilio.com's 2010 API): the
// secret of a new key signs tokens that `switchboard token verify` takes.
const { startServer } = require('./server');

test('API keys: newKeys.create, keys list, fetch, update and remove', async () => {
  const server = await startServer();
  try {
    const client = server.client();
    const key = await client.newKeys.create({ friendlyName: 'web chat' });
    assert.match(key.sid, /^SK[0-9a-f]{32}$/);
    assert.equal(key.friendlyName, 'web chat');
    assert.equal(key.secret.length, 32);
    assert.ok(key.dateCreated instanceof Date && !isNaN(key.dateCreated));

    const listed = await client.keys.list();
    assert.deepEqual(listed.map((k) => k.sid), [key.sid]);
    const fetched = await client.keys(key.sid).fetch();
    assert.equal(fetched.friendlyName, 'web chat');
    const updated = await client.keys(key.sid).update({ friendlyName: 'renamed' });
    assert.equal(updated.friendlyName, 'renamed');

    // A token signed with the new key's secret verifies for this account.
    const token = new twilio.jwt.AccessToken(server.accountSid, key.sid, key.secret, { identity: 'guest' });
    const r = spawnSync(binaryPath(), ['token', 'verify', '--secret', key.secret, '--key', key.sid,
                                       '--account', server.accountSid, token.toJwt()], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout);

    assert.equal(await client.keys(key.sid).remove(), true);
    await assert.rejects(client.keys(key.sid).fetch(), (e) => e.status === 404 && e.code === 20404);
    assert.deepEqual(await client.keys.list(), []);
  } finally {
    await server.stop();
  }
});
