'use strict';
// A small children's-app service on node-postgres and knex, using childguard
// the pool-safe way: every request runs in its own transaction that declares
// its purpose (and, where the installed childguard has it, the end user on
// whose behalf it acts) with set_config(..., true) -- the same as SET LOCAL,
// with bind parameters.  Both end at COMMIT or ROLLBACK, so the next client
// of the pooled connection inherits nothing: behind pgbouncer in transaction
// mode, or any pool, a purpose never leaks from one request to another.
//
//   BEGIN;
//   SELECT set_config('childguard.purpose', $1, true);   -- SET LOCAL childguard.purpose
//   SELECT set_config('childguard.end_user', $2, true);  -- if the setting exists
//   ... the request's statements ...
//   COMMIT;
//
// Never `SET childguard.purpose` at session level on a pooled connection.

const { Pool } = require('pg');
const knexFactory = require('knex');

// Does the installed childguard record an end-user identity?  Asked once.
async function hasEndUserSetting(client) {
  const r = await client.query(
    "SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'childguard.end_user'");
  return r.rowCount > 0;
}

// Run fn(client) in a transaction that declares the purpose (and end user).
async function withPurpose(pool, { purpose, endUser }, fn, state = {}) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_catalog.set_config('childguard.purpose', $1, true)", [purpose]);
    if (endUser !== undefined) {
      if (state.endUser === undefined) state.endUser = await hasEndUserSetting(client);
      if (state.endUser) {
        await client.query("SELECT pg_catalog.set_config('childguard.end_user', $1, true)", [endUser]);
      }
    }
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

// The service: students of a school, their names and schools child data.
function createService(config) {
  const { purpose } = config;
  const pool = new Pool(config.pg);
  const knex = knexFactory({ client: 'pg', connection: config.pg, pool: { min: 0, max: 2 } });
  const state = {};

  return {
    pool,
    knex,

    // node-postgres: write and read one student
    enroll(student, endUser) {
      return withPurpose(pool, { purpose, endUser }, (c) =>
        c.query('INSERT INTO students (id, name, school, grade) VALUES ($1, $2, $3, $4)',
          [student.id, student.name, student.school, student.grade]), state);
    },
    async getStudent(id, endUser) {
      const r = await withPurpose(pool, { purpose, endUser }, (c) =>
        c.query('SELECT id, name, school, grade FROM students WHERE id = $1', [id]), state);
      return r.rows[0] || null;
    },

    // knex: a class list, the same pattern in a knex transaction
    classList(grade, endUser) {
      return knex.transaction(async (trx) => {
        await trx.raw("SELECT pg_catalog.set_config('childguard.purpose', ?, true)", [purpose]);
        if (endUser !== undefined) {
          if (state.endUser === undefined) {
            const r = await trx.raw(
              "SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'childguard.end_user'");
            state.endUser = r.rowCount > 0;
          }
          if (state.endUser) {
            await trx.raw("SELECT pg_catalog.set_config('childguard.end_user', ?, true)", [endUser]);
          }
        }
        return trx('students').select('id', 'name').where({ grade }).orderBy('id');
      });
    },
    rename(id, name) {
      return knex.transaction(async (trx) => {
        await trx.raw("SELECT pg_catalog.set_config('childguard.purpose', ?, true)", [purpose]);
        return trx('students').where({ id }).update({ name });
      });
    },

    async close() {
      await knex.destroy();
      await pool.end();
    },
  };
}

module.exports = { createService, withPurpose };
