'use strict';
// The example service's own tests (node:test), run by `make check`
// (test/run-check.sh, suite "example") against its cluster; PGHOST, PGPORT
// and PGUSER (a superuser) say where.  The set-up makes a database with
// childguard, an officer, a consent recorder and the application role the
// service logs in as; the tests then use the service as an app would.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { createService, withPurpose } = require('../src/app');

const DB = 'cg_example_app';
const APP = 'cg_example_app';
let admin;      // superuser, in DB
let service;

async function sql(client, text, params) {
  return (await client.query(text, params)).rows;
}

before(async () => {
  const root = new Client({ database: 'postgres' });
  await root.connect();
  await root.query(`DROP DATABASE IF EXISTS ${DB}`);
  for (const r of ['cg_example_dpo', 'cg_example_rec', APP]) {
    const exists = await sql(root, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [r]);
    if (exists.length === 0) await root.query(`CREATE ROLE ${r} ${r === APP ? 'LOGIN' : ''}`);
  }
  await root.query(`CREATE DATABASE ${DB}`);
  await root.end();

  admin = new Client({ database: DB });
  await admin.connect();
  await admin.query(`
    SET client_min_messages = warning;
    CREATE EXTENSION childguard CASCADE;
    SELECT childguard.appoint_officer('cg_example_dpo');
    SELECT childguard.enroll_application('${APP}');
    SELECT childguard.enroll_consent_recorder('cg_example_rec');
    GRANT CREATE ON SCHEMA public TO ${APP};
    SET ROLE cg_example_dpo;
    SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
    SELECT childguard.publish_notice('privacy', '{tutoring}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
    RESET ROLE;
    SET ROLE ${APP};
    SELECT childguard.register_child(c, '2016-03-01') FROM unnest('{c1,c2,c3}'::text[]) c;
    SELECT childguard.request_access('${APP}', '{tutoring}', now() + interval '1 day');
    CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data, grade int);
    SELECT childguard.protect('students', 'id', '{"name": "name", "school": "school"}');
    RESET ROLE;
    SET ROLE cg_example_dpo;
    SELECT childguard.approve_access(grant_id) FROM childguard.access_grants;
    RESET ROLE;
    SET ROLE cg_example_rec;
    SELECT childguard.register_guardian('g-' || c, c) FROM unnest('{c1,c2,c3}'::text[]) c;
    SELECT childguard.record_consent(c, 'tutoring', 'privacy', 'g-' || c) FROM unnest('{c1,c2}'::text[]) c;
    RESET ROLE;`);
  service = createService({ purpose: 'tutoring', pg: { database: DB, user: APP, max: 1 } });
});

after(async () => {
  if (service) await service.close();
  if (admin) await admin.end();
  const root = new Client({ database: 'postgres' });
  await root.connect();
  await root.query(`DROP DATABASE IF EXISTS ${DB}`);
  await root.end();
});

test('a student enrolled under the purpose reads back as plaintext', async () => {
  await service.enroll({ id: 'c1', name: '小明', school: '第一小学', grade: 3 }, 'teacher-7');
  const s = await service.getStudent('c1', 'teacher-7');
  assert.equal(s.name, '小明');
  assert.equal(s.school, '第一小学');
});

test('it is stored encrypted: without a purpose a superuser sees the envelope', async () => {
  const rows = await sql(admin, "SELECT name::text AS name FROM students WHERE id = 'c1'");
  assert.match(rows[0].name, /^cg1:/);
  assert.doesNotMatch(rows[0].name, /小明/);
});

test("collection without consent fails with childguard's SQLSTATE in the driver's error", async () => {
  await assert.rejects(
    service.enroll({ id: 'c3', name: 'Zoe', school: 'x', grade: 3 }),
    (err) => err.code === 'ZC103');
  assert.equal(await service.getStudent('c3'), null);
});

test('pool-safe: the next client of the pooled connection inherits no purpose', async () => {
  // the pool has one connection: this query runs on the one the request used
  const r = await service.pool.query(
    "SELECT coalesce(current_setting('childguard.purpose', true), '') AS purpose, count(*)::int AS n FROM students");
  assert.equal(r.rows[0].purpose, '');
  assert.equal(r.rows[0].n, 0, 'rows are invisible without a purpose');
});

test('the unsafe pattern, for contrast: a session-level SET leaks to the next client', async () => {
  const c = await service.pool.connect();
  try {
    await c.query("SET childguard.purpose = 'tutoring'");
  } catch (err) {
    // an operator may make childguard refuse session-level purposes: then
    // nothing can leak this way either
    c.release();
    assert.match(err.code, /^ZC/, 'refused by childguard');
    return;
  }
  c.release();
  const leaked = await service.pool.query('SELECT count(*)::int AS n FROM students');
  assert.equal(leaked.rows[0].n, 1, 'the next client reads under the purpose it never declared');
  await service.pool.query('RESET childguard.purpose');
});

test('knex: a class list under the purpose', async () => {
  await service.enroll({ id: 'c2', name: '小红', school: '第一小学', grade: 3 });
  const list = await service.classList(3, 'teacher-7');
  assert.deepEqual(list.map((s) => [s.id, s.name]), [['c1', '小明'], ['c2', '小红']]);
  assert.equal(await service.rename('c2', '小红红'), 1);
  assert.equal((await service.getStudent('c2')).name, '小红红');
});

test('a withdrawn consent stops the next read', async () => {
  await admin.query(`SET ROLE cg_example_rec;
    SELECT childguard.withdraw_consent('c2', 'tutoring', 'g-c2'); RESET ROLE;`);
  assert.equal(await service.getStudent('c2'), null);
  assert.deepEqual((await service.classList(3)).map((s) => s.id), ['c1']);
});

test("an unknown purpose fails with ZC101, and the request's transaction is rolled back", async () => {
  await assert.rejects(
    withPurpose(service.pool, { purpose: 'marketing' }, (c) => c.query('SELECT 1')),
    (err) => err.code === 'ZC101');
  const r = await service.pool.query('SELECT count(*)::int AS n FROM students');
  assert.equal(r.rows[0].n, 0);
});

test('the end user is recorded in the audit trail where childguard has the setting', async (t) => {
  const has = await sql(admin, "SELECT 1 FROM pg_settings WHERE name = 'childguard.end_user'");
  if (has.length === 0) {
    t.skip('this childguard has no childguard.end_user setting');
    return;
  }
  await service.getStudent('c1', 'teacher-42');
  const cols = await sql(admin, `SELECT 1 FROM pg_attribute WHERE attrelid = 'childguard.access_log'::regclass
                                  AND attname = 'end_user' AND NOT attisdropped`);
  if (cols.length === 0) {
    t.skip('the access log has no end_user column');
    return;
  }
  // the audit writer writes the app session's record in its own time
  let n = 0;
  for (let i = 0; i < 100 && n === 0; i++) {
    n = (await sql(admin, "SELECT count(*)::int AS n FROM childguard.access_log WHERE end_user = 'teacher-42'"))[0].n;
    if (n === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(n >= 1, "a record names the end user 'teacher-42'");
});
