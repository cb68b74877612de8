-- Key material through SQL (issue 8, item 6): no role but a superuser
-- reaches the master key file, its directory or the wrapped data keys,
-- whichever server-file route it takes.  Messages name no path.
-- a database of its own
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_key_material;
CREATE DATABASE regress_key_material;
\c regress_key_material
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE EXTENSION file_fdw;
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE ROLE regress_k_reader IN ROLE pg_read_server_files;
CREATE ROLE regress_k_writer IN ROLE pg_write_server_files;
CREATE ROLE regress_k_runner IN ROLE pg_execute_server_program;
CREATE ROLE regress_k_all IN ROLE pg_read_all_data;
CREATE ROLE regress_k_granted;
RESET client_min_messages;
-- where things are (superuser only); relative paths are relative to the data
-- directory (the documented test settings name the key relatively: make installcheck)
SELECT CASE WHEN current_setting('childguard.master_key_file') LIKE '/%'
            THEN current_setting('childguard.master_key_file')
            ELSE current_setting('data_directory') || '/' || current_setting('childguard.master_key_file')
       END AS keyfile,
       current_setting('data_directory') AS datadir \gset
SELECT regexp_replace(:'keyfile', '/[^/]*$', '') AS keydir \gset
SELECT set_config('regress.keyfile', :'keyfile', false) IS NOT NULL AS ok;
SELECT repeat('../', length(:'datadir') - length(replace(:'datadir', '/', ''))) || ltrim(:'keyfile', '/') AS relkey \gset
SELECT size FROM pg_stat_file(:'keyfile');             -- a superuser can: 64 hex digits and a newline
-- a symbolic link and a hard link to the key, and another file in its directory
DO $$
BEGIN
	EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
	               format('ln -sf %s %s/regress_key_link && ln -f %s %s/regress_key_hard && cat > /dev/null',
	                      current_setting('regress.keyfile'), current_setting('data_directory'),
	                      current_setting('regress.keyfile'), current_setting('data_directory')));
	EXECUTE format('COPY (SELECT ''not a key'') TO %L',
	               regexp_replace(current_setting('regress.keyfile'), '/[^/]*$', '') || '/regress_notes.txt');
END
$$;
CREATE TABLE loot (t text);
GRANT INSERT, SELECT ON loot TO PUBLIC;
GRANT EXECUTE ON FUNCTION pg_read_file(text), pg_read_file(text, bigint, bigint),
                          pg_read_binary_file(text), pg_stat_file(text), pg_ls_dir(text),
                          lo_import(text), lo_import(text, oid), lo_export(oid, text)
   TO regress_k_reader, regress_k_writer;

-- COPY FROM: the file, through "..", relative, a symlink, a hard link, its directory
SET ROLE regress_k_reader;
COPY loot FROM :'keyfile';
\echo :LAST_ERROR_SQLSTATE
SELECT :'keydir' || '/../' || regexp_replace(:'keydir', '^.*/', '') || '/' || regexp_replace(:'keyfile', '^.*/', '') AS dotted \gset
COPY loot FROM :'dotted';
\echo :LAST_ERROR_SQLSTATE
COPY loot FROM :'relkey';
\echo :LAST_ERROR_SQLSTATE
COPY loot FROM 'regress_key_link';
\echo :LAST_ERROR_SQLSTATE
COPY loot FROM 'regress_key_hard';
\echo :LAST_ERROR_SQLSTATE
SELECT :'keydir' || '/regress_notes.txt' AS notes \gset
COPY loot FROM :'notes';
\echo :LAST_ERROR_SQLSTATE
-- other server files stay readable by roles entitled to them
COPY loot FROM 'PG_VERSION';
SELECT t AS pg_version FROM loot;
-- COPY TO into the key's directory (replacing the key) is refused too
RESET ROLE;
SET ROLE regress_k_writer;
COPY (SELECT 'ab') TO :'keyfile';
\echo :LAST_ERROR_SQLSTATE
SELECT :'keydir' || '/new.key' AS newkey \gset
COPY (SELECT 'ab') TO :'newkey';
\echo :LAST_ERROR_SQLSTATE
-- nor may it rewrite the server's configuration (and name its own key command)
COPY (SELECT 'childguard.master_key_command = ''cat /tmp/x''') TO 'postgresql.auto.conf';
\echo :LAST_ERROR_SQLSTATE
SELECT :'datadir' || '/pg_hba.conf' AS hba \gset
COPY (SELECT 'local all all trust') TO :'hba';
\echo :LAST_ERROR_SQLSTATE
COPY (SELECT 1) TO 'base/planted';
\echo :LAST_ERROR_SQLSTATE
-- writing elsewhere is what the privilege is for
SELECT :'datadir' || '/../regress_written.txt' AS outside \gset
COPY (SELECT 'fine') TO :'outside';
RESET ROLE;
-- server programs run as the server's account: refused to non-superusers
SET ROLE regress_k_runner;
COPY loot FROM PROGRAM 'cat /dev/null';
\echo :LAST_ERROR_SQLSTATE
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- ALTER SYSTEM granted per parameter: not for parameters that reach the key
GRANT ALTER SYSTEM ON PARAMETER archive_command, childguard.master_key_command,
      shared_preload_libraries, work_mem TO regress_k_runner;
SET ROLE regress_k_runner;
ALTER SYSTEM SET archive_command = 'cp %p /tmp/%f';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET childguard.master_key_command = 'cat /tmp/key';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET shared_preload_libraries = 'childguard, evil';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET work_mem = '8MB';                 -- an ordinary parameter is fine
ALTER SYSTEM RESET work_mem;
RESET ROLE;
REVOKE ALTER SYSTEM ON PARAMETER archive_command, childguard.master_key_command,
       shared_preload_libraries, work_mem FROM regress_k_runner;

-- the file functions and server-side large objects: refused to non-superusers
SET ROLE regress_k_reader;
SELECT pg_read_file(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_read_file(:'keyfile', 0, 64);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_read_binary_file(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
SELECT size FROM pg_stat_file(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_ls_dir(:'keydir');
\echo :LAST_ERROR_SQLSTATE
SELECT lo_import(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
SELECT lo_import(:'keyfile', 424242);
\echo :LAST_ERROR_SQLSTATE
-- through PL/pgSQL, dynamic SQL, a view owned by a superuser
CREATE FUNCTION pg_temp.peek(p text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN pg_read_file(p); END $$;
SELECT pg_temp.peek(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION pg_temp.peek_dynamic(p text) RETURNS text LANGUAGE plpgsql
  AS $$ DECLARE r text; BEGIN EXECUTE 'SELECT pg_read_file($1)' INTO r USING p; RETURN r; END $$;
SELECT pg_temp.peek_dynamic(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
-- a COPY run from PL/pgSQL is a utility statement like any other
CREATE FUNCTION pg_temp.load(p text) RETURNS void LANGUAGE plpgsql
  AS $$ BEGIN EXECUTE format('COPY loot FROM %L', p); END $$;
SELECT pg_temp.load(:'keyfile');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
CREATE VIEW peek_view AS SELECT pg_read_file('PG_VERSION') AS f;
GRANT SELECT ON peek_view TO regress_k_reader;
SET ROLE regress_k_reader;
SELECT f FROM peek_view;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- file_fdw: a foreign table over the key, by filename or program
CREATE SERVER regress_files FOREIGN DATA WRAPPER file_fdw;
GRANT USAGE ON FOREIGN SERVER regress_files TO regress_k_reader;
GRANT CREATE ON SCHEMA public TO regress_k_reader;
SET ROLE regress_k_reader;
CREATE FOREIGN TABLE key_ft (t text) SERVER regress_files OPTIONS (filename :'keyfile');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE key_ft (t text) SERVER regress_files OPTIONS (program 'cat');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE version_ft (t text) SERVER regress_files OPTIONS (filename 'PG_VERSION');
SELECT t AS pg_version FROM version_ft;
ALTER FOREIGN TABLE version_ft OPTIONS (SET filename 'regress_key_link');
\echo :LAST_ERROR_SQLSTATE
SELECT t AS still_pg_version FROM version_ft;
RESET ROLE;

-- wrapped data keys: row security, no policy; pg_read_all_data and explicit
-- SELECT see nothing, the extension (its owner) everything
SELECT childguard.register_child('k-' || i, '2016-01-01') > 0 AS ok FROM generate_series(1, 2) i;
GRANT USAGE ON SCHEMA childguard TO regress_k_granted;
GRANT SELECT ON childguard.data_key TO regress_k_granted;
SET ROLE regress_k_all;
SELECT count(*) AS keys_seen FROM childguard.data_key;
COPY childguard.data_key TO STDOUT;
RESET ROLE;
SET ROLE regress_k_granted;
SELECT count(*) AS keys_seen FROM childguard.data_key;
RESET ROLE;
SELECT count(*) AS keys_superuser_sees FROM childguard.data_key;

-- clean up
DO $$
BEGIN
	EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
	               format('rm -f %s/regress_key_link %s/regress_key_hard %s/../regress_written.txt %s/regress_notes.txt && cat > /dev/null',
	                      current_setting('data_directory'), current_setting('data_directory'),
	                      current_setting('data_directory'),
	                      regexp_replace(current_setting('childguard.master_key_file'), '/[^/]*$', '')));
END
$$;
DROP FOREIGN TABLE version_ft;
DROP VIEW peek_view;
DROP TABLE loot;
DROP OWNED BY regress_k_reader, regress_k_writer, regress_k_runner, regress_k_all, regress_k_granted CASCADE;
DROP ROLE regress_k_reader, regress_k_writer, regress_k_runner, regress_k_all, regress_k_granted;
\c contrib_regression
DROP DATABASE regress_key_material;
