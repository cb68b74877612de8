-- `make bench` (test/bench/run.sh): one children's-app database in three
-- flavours, side by side in the same database:
--   cg     childguard: three child_data columns, protect(), the consent
--          registry, two purposes, one approved grant for bench_app
--   plain  the same tables in plain text, no checks
--   alt    the usual hand-built alternative: bytea columns written with
--          pgp_sym_encrypt, a security_invoker view decrypting with
--          pgp_sym_decrypt, and an RLS policy joining a consent table
-- psql variables: children, rows, flat (1: the registry and the profiles
-- only, for the flat-latency databases), pool (distinct pgp ciphertexts per
-- column, see below).  Runs as the superuser; the workloads run as bench_app.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION childguard;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_app') THEN
		CREATE ROLE bench_app LOGIN;
		CREATE ROLE bench_dpo;
		CREATE ROLE bench_recorder;
	END IF;
END
$$;
SELECT childguard.appoint_officer('bench_dpo');
SELECT childguard.enroll_consent_recorder('bench_recorder');
SET ROLE bench_dpo;
SELECT childguard.define_purpose('learning', ARRAY(SELECT category FROM childguard.category), '10 years');
SELECT childguard.define_purpose('messaging', ARRAY(SELECT category FROM childguard.category), '10 years');
SELECT childguard.publish_notice('bench-notice', '{learning,messaging}', 'benchmark', 'here', 'encrypted',
								 'none', 'none', 'none', 'none');
RESET ROLE;
SELECT childguard.request_access('bench_app', '{learning,messaging}', now() + interval '30 days',
								 max_children => 2000000000) AS bench_grant \gset
SET ROLE bench_dpo;
SELECT childguard.approve_access(:bench_grant);
RESET ROLE;

-- Per-row registration through the public API (register_child,
-- register_guardian, record_consent for both purposes): children
-- PREFIX || i for i in [lo, hi], every one under 14 (consent by guardian).
CREATE FUNCTION public.bench_register_cg(prefix text, lo int, hi int) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
	me text := current_user;
BEGIN
	PERFORM childguard.register_child(prefix || i, date '2015-01-01' + i % 1000)
	   FROM generate_series(lo, hi) i;
	SET LOCAL ROLE bench_recorder;
	PERFORM childguard.register_guardian('g' || prefix || i, prefix || i)
	   FROM generate_series(lo, hi) i;
	PERFORM childguard.record_consent(prefix || i, p, 'bench-notice', 'g' || prefix || i,
									  guardian_informed => 'g' || prefix || i)
	   FROM generate_series(lo, hi) i, (VALUES ('learning'), ('messaging')) v(p);
	EXECUTE format('SET LOCAL ROLE %I', me);
	RETURN hi - lo + 1;
END
$f$;

-- The same through the set-based path (register_children,
-- register_guardians, record_consents from staging tables), where the
-- installed childguard has it (1.2); a rejected row fails the benchmark.
CREATE FUNCTION public.bench_register_cg_set(prefix text, lo int, hi int) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
	me text := current_user;
	bad bigint;
BEGIN
	SET LOCAL client_min_messages = warning;
	DROP TABLE IF EXISTS public.bench_stage_children, public.bench_stage_guardians,
		public.bench_stage_consents;
	CREATE TABLE public.bench_stage_children AS
		SELECT prefix || i AS child_id, date '2015-01-01' + i % 1000 AS birth_date
		  FROM generate_series(lo, hi) i;
	CREATE TABLE public.bench_stage_guardians AS
		SELECT 'g' || prefix || i AS guardian_id, prefix || i AS child_id
		  FROM generate_series(lo, hi) i;
	CREATE TABLE public.bench_stage_consents AS
		SELECT prefix || i AS child_id, p AS purpose, 'bench-notice'::text AS notice,
			   'g' || prefix || i AS given_by, 'g' || prefix || i AS guardian_informed
		  FROM generate_series(lo, hi) i, (VALUES ('learning'), ('messaging')) v(p);
	GRANT SELECT ON public.bench_stage_guardians, public.bench_stage_consents TO bench_recorder;
	SELECT count(*) INTO bad FROM childguard.register_children('public.bench_stage_children') r
	 WHERE r.sqlstate IS NOT NULL;
	SET LOCAL ROLE bench_recorder;
	SELECT bad + count(*) INTO bad FROM childguard.register_guardians('public.bench_stage_guardians') r
	 WHERE r.sqlstate IS NOT NULL;
	SELECT bad + count(*) INTO bad FROM childguard.record_consents('public.bench_stage_consents') r
	 WHERE r.sqlstate IS NOT NULL;
	EXECUTE format('SET LOCAL ROLE %I', me);
	IF bad > 0 THEN
		RAISE EXCEPTION 'bench: % rows rejected by the set-based registration', bad;
	END IF;
	DROP TABLE public.bench_stage_children, public.bench_stage_guardians, public.bench_stage_consents;
	RETURN hi - lo + 1;
END
$f$;

CREATE SCHEMA cg;
CREATE SCHEMA plain;
CREATE SCHEMA alt;
GRANT USAGE ON SCHEMA cg, plain, alt TO bench_app;

-- ---- childguard ----------------------------------------------------------------
CREATE TABLE cg.profile (child text PRIMARY KEY,
						 name childguard.child_data(name),
						 phone childguard.child_data(contact),
						 home childguard.child_data(address),
						 grade int);
CREATE TABLE cg.activity (id bigint PRIMARY KEY, child text NOT NULL,
						  name childguard.child_data(name),
						  phone childguard.child_data(contact),
						  home childguard.child_data(address),
						  score int);
CREATE INDEX ON cg.activity (child);
SELECT childguard.protect('cg.profile', 'child');
SELECT childguard.protect('cg.activity', 'child');
GRANT SELECT, INSERT, UPDATE ON cg.profile, cg.activity TO bench_app;

-- ---- plain text ----------------------------------------------------------------
CREATE TABLE plain.profile (child text PRIMARY KEY, name text, phone text, home text, grade int);
CREATE TABLE plain.activity (id bigint PRIMARY KEY, child text NOT NULL, name text, phone text,
							 home text, score int);
CREATE INDEX ON plain.activity (child);
CREATE TABLE plain.child (child_id text PRIMARY KEY, birth_date date NOT NULL);
CREATE TABLE plain.guardian (guardian_id text PRIMARY KEY, child text NOT NULL REFERENCES plain.child);
CREATE TABLE plain.consent (child text NOT NULL REFERENCES plain.child, purpose text NOT NULL,
							given_by text NOT NULL, granted boolean NOT NULL DEFAULT true,
							withdrawn_at timestamptz, PRIMARY KEY (child, purpose));
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA plain TO bench_app;

-- ---- hand-built alternative ------------------------------------------------------
CREATE TABLE alt.profile (child text PRIMARY KEY, name bytea, phone bytea, home bytea, grade int);
CREATE TABLE alt.activity (id bigint PRIMARY KEY, child text NOT NULL, name bytea, phone bytea,
						   home bytea, score int);
CREATE INDEX ON alt.activity (child);
CREATE TABLE alt.child (child_id text PRIMARY KEY, birth_date date NOT NULL);
CREATE TABLE alt.guardian (guardian_id text PRIMARY KEY, child text NOT NULL REFERENCES alt.child,
						   phone bytea);
CREATE TABLE alt.consent (child text NOT NULL, purpose text NOT NULL, given_by text NOT NULL,
						  granted boolean NOT NULL DEFAULT true, withdrawn_at timestamptz,
						  PRIMARY KEY (child, purpose));
ALTER TABLE alt.profile ENABLE ROW LEVEL SECURITY;
ALTER TABLE alt.activity ENABLE ROW LEVEL SECURITY;
CREATE POLICY consent ON alt.profile TO bench_app
	USING (EXISTS (SELECT 1 FROM alt.consent c
					WHERE c.child = profile.child AND c.purpose = current_setting('app.purpose')
					  AND c.granted AND c.withdrawn_at IS NULL));
CREATE POLICY consent ON alt.activity TO bench_app
	USING (EXISTS (SELECT 1 FROM alt.consent c
					WHERE c.child = activity.child AND c.purpose = current_setting('app.purpose')
					  AND c.granted AND c.withdrawn_at IS NULL));
CREATE VIEW alt.profile_v WITH (security_invoker = true) AS
	SELECT child, pgp_sym_decrypt(name, current_setting('app.key')) AS name,
		   pgp_sym_decrypt(phone, current_setting('app.key')) AS phone,
		   pgp_sym_decrypt(home, current_setting('app.key')) AS home, grade
	  FROM alt.profile;
CREATE VIEW alt.activity_v WITH (security_invoker = true) AS
	SELECT id, child, pgp_sym_decrypt(name, current_setting('app.key')) AS name,
		   pgp_sym_decrypt(phone, current_setting('app.key')) AS phone,
		   pgp_sym_decrypt(home, current_setting('app.key')) AS home, score
	  FROM alt.activity;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA alt TO bench_app;

-- ---- data ------------------------------------------------------------------------
-- The same plaintexts everywhere: a name (9-15 bytes), a phone number (11),
-- an address (31-40).
CREATE FUNCTION public.bench_name(i bigint) RETURNS text IMMUTABLE LANGUAGE sql
	AS $$ SELECT '学生' || i $$;
CREATE FUNCTION public.bench_phone(i bigint) RETURNS text IMMUTABLE LANGUAGE sql
	AS $$ SELECT '13' || lpad(i::text, 9, '0') $$;
CREATE FUNCTION public.bench_home(i bigint) RETURNS text IMMUTABLE LANGUAGE sql
	AS $$ SELECT '幸福路' || i || '号 ' || (i % 30 + 1) || '栋 海淀区' $$;

-- the children: through the set-based path where there is one (faster)
SELECT to_regproc('childguard.register_children') IS NOT NULL AS bench_has_set \gset
\if :bench_has_set
SELECT public.bench_register_cg_set('c', 1, :children);
\else
SELECT public.bench_register_cg('c', 1, :children);
\endif
INSERT INTO plain.child SELECT 'c' || i, date '2015-01-01' + i % 1000 FROM generate_series(1, :children) i;
INSERT INTO plain.guardian SELECT 'gc' || i, 'c' || i FROM generate_series(1, :children) i;
INSERT INTO plain.consent SELECT 'c' || i, p, 'gc' || i FROM generate_series(1, :children) i,
	(VALUES ('learning'), ('messaging')) v(p);
INSERT INTO alt.child SELECT * FROM plain.child;
INSERT INTO alt.guardian SELECT guardian_id, child, NULL FROM plain.guardian;
INSERT INTO alt.consent SELECT * FROM plain.consent;

INSERT INTO plain.profile SELECT 'c' || i, bench_name(i), bench_phone(i), bench_home(i), i % 6 + 1
	FROM generate_series(1, :children) i;
\if :flat
-- a flat-latency database: the profiles only
\else
INSERT INTO plain.activity
	SELECT i, 'c' || ((i - 1) % :children + 1), bench_name(i), bench_phone(i), bench_home(i), i % 100
	FROM generate_series(1, :rows) i;

-- pgp_sym_encrypt (default options: iterated, salted S2K) costs about as much
-- as pgp_sym_decrypt, so encrypting millions of values here would take hours:
-- the alternative's rows take their ciphertexts from a pool of :pool distinct
-- values per column (same plaintext sizes).  Decrypting costs the same per
-- value whether or not two rows hold the same ciphertext.
CREATE TEMP TABLE pool AS
	SELECT k, pgp_sym_encrypt(bench_name(k), 'bench-key') AS name,
		   pgp_sym_encrypt(bench_phone(k), 'bench-key') AS phone,
		   pgp_sym_encrypt(bench_home(k), 'bench-key') AS home
	  FROM generate_series(0, :pool - 1) k;
CREATE INDEX ON pool (k);
INSERT INTO alt.profile SELECT 'c' || i, p.name, p.phone, p.home, i % 6 + 1
	FROM generate_series(1, :children) i JOIN pool p ON p.k = i % :pool;
INSERT INTO alt.activity SELECT i, 'c' || ((i - 1) % :children + 1), p.name, p.phone, p.home, i % 100
	FROM generate_series(1, :rows) i JOIN pool p ON p.k = i % :pool;
\endif

SET ROLE bench_app;
SET childguard.purpose = 'learning';
INSERT INTO cg.profile SELECT * FROM plain.profile;
\if :flat
\else
INSERT INTO cg.activity SELECT * FROM plain.activity;
\endif
RESET ROLE;
VACUUM ANALYZE;
