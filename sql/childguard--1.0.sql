/* childguard 1.0 — the extension script */
\echo Use "CREATE EXTENSION childguard CASCADE" to load this file. \quit

-------------------------------------------------------------------------------
-- Registries.  Their rows are dumped with the database (pg_extension_config_dump)
-- and a statement trigger tells every backend to drop its caches on change.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._catalog_changed() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_catalog_changed';
REVOKE ALL ON FUNCTION childguard._catalog_changed() FROM PUBLIC;

CREATE TABLE childguard.category (
	category	text PRIMARY KEY,
	description	text NOT NULL
);
COMMENT ON TABLE childguard.category IS
	'The data categories a child_data column can be classified as (fixed list).';
INSERT INTO childguard.category VALUES
	('name',       'name (姓名)'),
	('contact',    'phone number, e-mail, account or other contact detail'),
	('address',    'home address (家庭住址)'),
	('school',     'school attended (就读学校)'),
	('image',      'portrait, photograph (肖像)'),
	('voice',      'voice and video recordings (声音影像)'),
	('biometric',  'fingerprint, face and other biometric data'),
	('health',     'health and medical data'),
	('disability', 'disability status'),
	('family',     'family and guardianship situation'),
	('location',   'precise location and whereabouts'),
	('judicial',   'judicial and welfare case records'),
	('other',      'any other personal information of a child');

CREATE TABLE childguard.child (
	subject_no		bigint GENERATED ALWAYS AS IDENTITY,
	child_id		text NOT NULL,
	birth_date		date NOT NULL,
	key_version		integer NOT NULL DEFAULT 1,
	registered_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	erased_at		timestamptz,
	in_difficulty	boolean NOT NULL DEFAULT false,
	can_express		boolean NOT NULL DEFAULT true,
	CONSTRAINT child_pkey PRIMARY KEY (subject_no),
	CONSTRAINT child_child_id_key UNIQUE (child_id),
	CONSTRAINT child_child_id_check CHECK (child_id <> '')
);
COMMENT ON TABLE childguard.child IS
	'Registered children (data subjects); subject_no is what envelopes carry.';

CREATE TABLE childguard.data_key (
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	key_version		integer NOT NULL,
	wrapped_key		bytea,
	master_key_id	bytea NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	destroyed_at	timestamptz,
	CONSTRAINT data_key_pkey PRIMARY KEY (subject_no, key_version),
	CONSTRAINT data_key_destroyed_check
		CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);
COMMENT ON TABLE childguard.data_key IS
	'Per-child data keys, wrapped by the master key; a destroyed key (wrapped_key NULL) is crypto-shredded data.';

CREATE TRIGGER child_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.child FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();
CREATE TRIGGER data_key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.data_key FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

SELECT pg_catalog.pg_extension_config_dump('childguard.child', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.child_subject_no_seq', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.data_key', '');

REVOKE ALL ON ALL TABLES IN SCHEMA childguard FROM PUBLIC;
GRANT SELECT ON childguard.category TO PUBLIC;

-------------------------------------------------------------------------------
-- The child_data type
-------------------------------------------------------------------------------

CREATE TYPE childguard.child_data;

CREATE FUNCTION childguard.child_data_in(cstring, oid, integer)
	RETURNS childguard.child_data
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
CREATE FUNCTION childguard.child_data_out(childguard.child_data)
	RETURNS cstring
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
CREATE FUNCTION childguard.child_data_recv(internal, oid, integer)
	RETURNS childguard.child_data
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
CREATE FUNCTION childguard.child_data_send(childguard.child_data)
	RETURNS bytea
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
CREATE FUNCTION childguard.child_data_typmod_in(cstring[])
	RETURNS integer
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME';
CREATE FUNCTION childguard.child_data_typmod_out(integer)
	RETURNS cstring
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME';

CREATE TYPE childguard.child_data (
	INPUT = childguard.child_data_in,
	OUTPUT = childguard.child_data_out,
	RECEIVE = childguard.child_data_recv,
	SEND = childguard.child_data_send,
	TYPMOD_IN = childguard.child_data_typmod_in,
	TYPMOD_OUT = childguard.child_data_typmod_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external,			-- ciphertext does not compress
	CATEGORY = 'U'
);
COMMENT ON TYPE childguard.child_data IS
	'A child''s personal information: stored encrypted (AES-256-GCM) and bound to its child and category; shown as plaintext only when the read is allowed. Modifier: the category, e.g. child_data(name).';

-- ORMs often bind parameters as text or varchar: let them be assigned
CREATE CAST (text AS childguard.child_data) WITH INOUT AS ASSIGNMENT;
CREATE CAST (varchar AS childguard.child_data) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION childguard.child_data_eq(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
CREATE FUNCTION childguard.child_data_ne(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';

-- In pg_catalog, so "WHERE name = '...'" resolves whatever the search_path.
CREATE OPERATOR pg_catalog.= (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_eq,
	COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR pg_catalog.<> (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_ne,
	COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.= (childguard.child_data, childguard.child_data) IS
	'equal plaintext; reads both values, so it needs a declared purpose';

CREATE FUNCTION childguard.envelope(childguard.child_data) RETURNS text
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'child_data_envelope';
COMMENT ON FUNCTION childguard.envelope(childguard.child_data) IS
	'The sealed (encrypted) text form of a value, whatever the session''s purpose.';

CREATE FUNCTION childguard.envelope_info(value childguard.child_data,
		OUT format_version integer, OUT category text, OUT subject_no bigint,
		OUT key_version integer, OUT pending boolean, OUT ciphertext_bytes bigint)
	RETURNS record
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'child_data_envelope_info';
COMMENT ON FUNCTION childguard.envelope_info(childguard.child_data) IS
	'The public header of a value: format, category, subject number, key version; decrypts nothing.';

-------------------------------------------------------------------------------
-- Keys
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._new_data_key(subject_no bigint, key_version integer,
		OUT wrapped_key bytea, OUT master_key_id bytea)
	RETURNS record
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_new_data_key';
CREATE FUNCTION childguard._rewrap_data_key(subject_no bigint, key_version integer,
		wrapped_key bytea, master_key_id bytea)
	RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_rewrap_data_key';
CREATE FUNCTION childguard.master_key_id(previous boolean DEFAULT false)
	RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_master_key_id';
REVOKE ALL ON FUNCTION childguard._new_data_key(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._rewrap_data_key(bigint, integer, bytea, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard.master_key_id(boolean) IS
	'Fingerprint of the configured master key (or of the previous one, during rotation); not secret.';

CREATE FUNCTION childguard.rotate_master_key() RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current_id bytea := childguard.master_key_id(false);
	n bigint;
BEGIN
	IF NOT pg_catalog.pg_has_role(session_user, (SELECT nspowner FROM pg_catalog.pg_namespace
	                                             WHERE nspname = 'childguard'), 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to rotate the master key'
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard schema can rotate keys.';
	END IF;
	UPDATE childguard.data_key k
	   SET wrapped_key = childguard._rewrap_data_key(k.subject_no, k.key_version,
	                                                 k.wrapped_key, k.master_key_id),
	       master_key_id = current_id
	 WHERE k.wrapped_key IS NOT NULL
	   AND k.master_key_id OPERATOR(pg_catalog.<>) current_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.rotate_master_key() FROM PUBLIC;
COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key under the current master key (online; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';

CREATE VIEW childguard.master_key_status AS
	SELECT k.master_key_id,
	       k.master_key_id = childguard.master_key_id(false) AS is_current,
	       count(*) FILTER (WHERE k.wrapped_key IS NOT NULL) AS live_keys,
	       count(*) FILTER (WHERE k.wrapped_key IS NULL) AS destroyed_keys
	  FROM childguard.data_key k
	 GROUP BY k.master_key_id;
REVOKE ALL ON childguard.master_key_status FROM PUBLIC;
COMMENT ON VIEW childguard.master_key_status IS
	'Data keys per wrapping master key; after a rotation every live key should be is_current.';

-------------------------------------------------------------------------------
-- Children
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.register_child(child_id text, birth_date date,
										  in_difficulty boolean DEFAULT false,
										  can_express boolean DEFAULT true)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
BEGIN
	IF child_id IS NULL OR child_id = '' THEN
		RAISE EXCEPTION 'child id must not be empty' USING ERRCODE = '22023';
	END IF;
	IF birth_date IS NULL OR NOT pg_catalog.isfinite(birth_date) OR birth_date > CURRENT_DATE THEN
		RAISE EXCEPTION 'invalid birth date for child "%"', child_id
			USING ERRCODE = '22023',
			      DETAIL = 'A birth date is required, finite, and cannot be in the future.';
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.child c WHERE c.child_id = register_child.child_id) THEN
		RAISE EXCEPTION 'child "%" is already registered', child_id
			USING ERRCODE = '23505';
	END IF;
	IF in_difficulty IS NULL OR can_express IS NULL THEN
		RAISE EXCEPTION 'circumstances must not be null' USING ERRCODE = '22004';
	END IF;
	INSERT INTO childguard.child (child_id, birth_date, in_difficulty, can_express)
	VALUES (register_child.child_id, register_child.birth_date,
	        register_child.in_difficulty, register_child.can_express)
	RETURNING subject_no INTO s;
	INSERT INTO childguard.data_key (subject_no, key_version, wrapped_key, master_key_id)
	SELECT s, 1, k.wrapped_key, k.master_key_id
	  FROM childguard._new_data_key(s, 1) k;
	RETURN s;
END
$$;
REVOKE ALL ON FUNCTION childguard.register_child(text, date, boolean, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard.register_child(text, date, boolean, boolean) IS
	'Register a child (data subject) under the application''s id, with birth date and circumstances (D-Art 12), and create the child''s data key. Returns the subject number.';

-------------------------------------------------------------------------------
-- Protecting tables
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.seal_row() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_seal_row';
COMMENT ON FUNCTION childguard.seal_row() IS
	'Row trigger installed by protect(): seals typed-in child data for the row''s child and the column''s category.';

CREATE FUNCTION childguard.row_visible(child text) RETURNS boolean
	LANGUAGE C STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'cg_row_visible';
COMMENT ON FUNCTION childguard.row_visible(text) IS
	'Row policy predicate installed by protect(): true when the session''s declared purpose may use this child''s data now (grant, consent by the right person for the child''s age, retention, not erased, not forbidden for a child in difficulty).';

CREATE FUNCTION childguard.protect(tbl regclass, subject_column name,
								   categories jsonb DEFAULT '{}')
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET client_min_messages = warning
AS $$
DECLARE
	cgtype oid := 'childguard.child_data'::pg_catalog.regtype;
	col record;
	cat text;
	key text;
BEGIN
	IF tbl IS NULL OR subject_column IS NULL THEN
		RAISE EXCEPTION 'table and subject column are required' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.jsonb_typeof(categories) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'categories must be a JSON object mapping column names to categories'
			USING ERRCODE = '22023', HINT = 'For example: {"name": "name", "school": "school"}';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	               WHERE a.attrelid = tbl AND a.attname = subject_column
	                 AND a.attnum > 0 AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', subject_column, tbl
			USING ERRCODE = '42703';
	END IF;
	-- every key must name a child_data column, every value a known category
	FOR key, cat IN SELECT * FROM pg_catalog.jsonb_each_text(categories) LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
		               WHERE a.attrelid = tbl AND a.attname = key
		                 AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist', key, tbl
				USING ERRCODE = '42703';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
		               WHERE a.attrelid = tbl AND a.attname = key AND a.atttypid = cgtype) THEN
			RAISE EXCEPTION 'column "%" of relation "%" is not of type childguard.child_data', key, tbl
				USING ERRCODE = '42804',
				      HINT = 'Only child_data columns can be classified.';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM childguard.category c WHERE c.category = pg_catalog.lower(cat)) THEN
			RAISE EXCEPTION 'unknown child data category "%"', cat
				USING ERRCODE = '22023',
				      HINT = 'Known categories are listed in childguard.category.';
		END IF;
	END LOOP;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	           WHERE a.attrelid = tbl AND a.attname = subject_column AND a.atttypid = cgtype) THEN
		RAISE EXCEPTION 'subject column "%" cannot hold child data itself', subject_column
			USING ERRCODE = '42804';
	END IF;
	FOR key, cat IN SELECT * FROM pg_catalog.jsonb_each_text(categories) LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE childguard.child_data(%s)',
		                          tbl, key, pg_catalog.lower(cat));
	END LOOP;
	-- every child_data column must now have a category
	FOR col IN SELECT a.attname FROM pg_catalog.pg_attribute a
	           WHERE a.attrelid = tbl AND a.atttypid = cgtype AND a.atttypmod < 0
	             AND a.attnum > 0 AND NOT a.attisdropped LOOP
		RAISE EXCEPTION 'column "%" of relation "%" has no data category', col.attname, tbl
			USING ERRCODE = '22023',
			      HINT = pg_catalog.format('Name it in categories, e.g. {"%s": "other"}.', col.attname);
	END LOOP;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
	           WHERE t.tgrelid = tbl AND t.tgname = 'zz_childguard_seal') THEN
		EXECUTE pg_catalog.format('DROP TRIGGER zz_childguard_seal ON %s', tbl);
	END IF;
	-- named to sort last, so it sees what other BEFORE triggers wrote
	EXECUTE pg_catalog.format(
		'CREATE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON %s '
		'FOR EACH ROW EXECUTE FUNCTION childguard.seal_row(%L)', tbl, subject_column);
	-- ALWAYS: session_replication_role = replica must not switch sealing off
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER zz_childguard_seal', tbl);

	-- Row-level security, forced on the owner too: rows of children whose
	-- data the session's purpose may not use are invisible.  Restrictive,
	-- so the table's own policies can narrow but never widen it.
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
	EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent_update ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_base ON %s', tbl);
	EXECUTE pg_catalog.format(
		'CREATE POLICY childguard_consent ON %s AS RESTRICTIVE FOR SELECT '
		'USING (childguard.row_visible(%I::text))', tbl, subject_column);
	EXECUTE pg_catalog.format(
		'CREATE POLICY childguard_consent_update ON %s AS RESTRICTIVE FOR UPDATE '
		'USING (childguard.row_visible(%I::text))', tbl, subject_column);
	-- restrictive policies need a permissive one to pass; unless the table
	-- has its own, everything else is allowed
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
	               WHERE p.polrelid = tbl AND p.polpermissive) THEN
		EXECUTE pg_catalog.format(
			'CREATE POLICY childguard_base ON %s AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true)', tbl);
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.protect(regclass, name, jsonb) IS
	'Protect a table: classify its child_data columns by category, install the trigger that seals each value for the row''s child (named by subject_column), and the row-level security policies (forced on the owner) that hide rows of children whose data the session''s purpose may not use. Run as the table''s owner.';

CREATE FUNCTION childguard.unprotect(tbl regclass) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_seal ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent_update ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_base ON %s', tbl);
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = tbl) THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
		EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.unprotect(regclass) IS
	'Remove the seal trigger and row policies.  Stored values stay encrypted and still decrypt only when allowed; the table then refuses new child data until protected again.';

CREATE VIEW childguard.protected_columns AS
	SELECT c.oid::regclass AS table_name,
	       a.attname AS column_name,
	       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
	       pg_catalog.substring(pg_catalog.format_type(a.atttypid, a.atttypmod),
	                            '\((.*)\)$') AS category,
	       t.tgargs IS NOT NULL AND c.relrowsecurity AND c.relforcerowsecurity AS is_protected,
	       pg_catalog.convert_from(pg_catalog.substr(t.tgargs, 1,
	                   pg_catalog.position(t.tgargs, '\x00'::bytea) - 1), 'UTF8') AS subject_column
	  FROM pg_catalog.pg_attribute a
	  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
	  LEFT JOIN pg_catalog.pg_trigger t
	    ON t.tgrelid = c.oid AND t.tgfoid = 'childguard.seal_row()'::pg_catalog.regprocedure
	   AND t.tgenabled = 'A'
	 WHERE a.atttypid = 'childguard.child_data'::pg_catalog.regtype
	   AND a.attnum > 0 AND NOT a.attisdropped
	   AND c.relkind IN ('r', 'p');
GRANT SELECT ON childguard.protected_columns TO PUBLIC;
COMMENT ON VIEW childguard.protected_columns IS
	'Every child_data column in the database, its category, and whether its table is protected.';
-------------------------------------------------------------------------------
-- The protection officer (Art 8, 15) and the roles that may use childguard.
--
-- Registry functions are SECURITY DEFINER, so they act with the extension
-- owner's rights; each checks who called it with childguard._caller(): the
-- session's role (after SET ROLE), never the owner of some SECURITY DEFINER
-- function or view in between.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._caller() RETURNS name
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_caller';
COMMENT ON FUNCTION childguard._caller() IS
	'The role the session acts as (SET ROLE), outside any SECURITY DEFINER function: who is asking.';

CREATE TABLE childguard.officer (
	role_name		name PRIMARY KEY,
	appointed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	appointed_by	name NOT NULL
);
COMMENT ON TABLE childguard.officer IS
	'Roles appointed as personal-information protection officer (儿童个人信息保护负责人, Art 8); they publish notices, define purposes and approve staff access.';
SELECT pg_catalog.pg_extension_config_dump('childguard.officer', '');
CREATE TRIGGER officer_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.officer FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

-- Is the caller the extension's owner (or a member of it)?
CREATE FUNCTION childguard._caller_is_owner() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.pg_has_role(childguard._caller(), n.nspowner, 'MEMBER')
	  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'childguard'
$$;

-- Is the caller an appointed officer (or a member of an officer role)?
CREATE FUNCTION childguard._caller_is_officer() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM childguard.officer o
	                 JOIN pg_catalog.pg_roles r ON r.rolname = o.role_name
	                WHERE pg_catalog.pg_has_role(childguard._caller(), r.oid, 'MEMBER'))
$$;

CREATE FUNCTION childguard._require_officer(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT childguard._caller_is_officer() THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      DETAIL = pg_catalog.format('Role "%s" is not a protection officer.', childguard._caller()),
			      HINT = 'Only a role appointed with childguard.appoint_officer() can do this.';
	END IF;
END
$$;

CREATE FUNCTION childguard._require_owner(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT childguard._caller_is_owner() THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard extension can do this.';
	END IF;
END
$$;

CREATE FUNCTION childguard.appoint_officer(officer regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('appoint a protection officer');
	IF officer IS NULL THEN
		RAISE EXCEPTION 'officer role must not be null' USING ERRCODE = '22004';
	END IF;
	INSERT INTO childguard.officer (role_name, appointed_by)
	VALUES (officer::text::name, childguard._caller())
	ON CONFLICT (role_name) DO NOTHING;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', officer);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
	        pg_catalog.string_agg(f::text, ', '), officer)
	  FROM pg_catalog.unnest(childguard._officer_functions()) f;
	EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s',
	        pg_catalog.string_agg(v::text, ', '), officer)
	  FROM pg_catalog.unnest(childguard._officer_views()) v;
END
$$;
COMMENT ON FUNCTION childguard.appoint_officer(regrole) IS
	'Art 8: appoint a role as protection officer (extension owner only); grants it the officer functions and views.';

CREATE FUNCTION childguard.dismiss_officer(officer regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('dismiss a protection officer');
	DELETE FROM childguard.officer o WHERE o.role_name = officer::text::name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" is not a protection officer', officer
			USING ERRCODE = '22023';
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.dismiss_officer(regrole) IS
	'Remove a role from the protection officers (extension owner only).';

CREATE FUNCTION childguard.enroll_application(app regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to enroll an application role'
			USING ERRCODE = '42501',
			      HINT = 'Only the extension owner or a protection officer can do this.';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', app);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
	        pg_catalog.string_agg(f::text, ', '), app)
	  FROM pg_catalog.unnest(childguard._application_functions()) f;
END
$$;
COMMENT ON FUNCTION childguard.enroll_application(regrole) IS
	'Let a role (an application or staff member) register children and guardians, record consents and request access. Reading child data still needs an approved grant.';
-------------------------------------------------------------------------------
-- Guardians (监护人) and each child's circumstances (D-Art 12)
-------------------------------------------------------------------------------

CREATE TABLE childguard.guardian (
	guardian_id		text PRIMARY KEY CHECK (guardian_id <> ''),
	registered_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE childguard.guardian IS
	'Guardians, under the application''s own ids.';

CREATE TABLE childguard.child_guardian (
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	guardian_id		text NOT NULL REFERENCES childguard.guardian (guardian_id),
	relation		text NOT NULL DEFAULT 'guardian',
	since			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT child_guardian_pkey PRIMARY KEY (subject_no, guardian_id)
);
COMMENT ON TABLE childguard.child_guardian IS
	'Which guardian is responsible for which child; only these may consent for a child under 14.';

SELECT pg_catalog.pg_extension_config_dump('childguard.guardian', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.child_guardian', '');
CREATE TRIGGER child_guardian_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.child_guardian FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

-- The subject number of a registered child, or an error.
CREATE FUNCTION childguard._subject_of(child text) RETURNS bigint
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
BEGIN
	SELECT c.subject_no INTO s FROM childguard.child c WHERE c.child_id = child;
	IF s IS NULL THEN
		RAISE EXCEPTION 'child "%" is not registered', child
			USING ERRCODE = 'ZC011',
			      HINT = 'Register the child with childguard.register_child() first.';
	END IF;
	RETURN s;
END
$$;

CREATE FUNCTION childguard.register_guardian(guardian_id text, child text,
											 relation text DEFAULT 'guardian')
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
BEGIN
	IF guardian_id IS NULL OR guardian_id = '' THEN
		RAISE EXCEPTION 'guardian id must not be empty' USING ERRCODE = '22023';
	END IF;
	IF relation IS NULL OR relation = '' THEN
		RAISE EXCEPTION 'relation must not be empty' USING ERRCODE = '22023';
	END IF;
	s := childguard._subject_of(child);
	IF EXISTS (SELECT 1 FROM childguard.child c WHERE c.child_id = register_guardian.guardian_id) THEN
		RAISE EXCEPTION 'guardian id "%" is already a child''s id', guardian_id
			USING ERRCODE = '22023',
			      DETAIL = 'Consent records tell a child from a guardian by their ids, so the two must differ.';
	END IF;
	INSERT INTO childguard.guardian (guardian_id) VALUES (register_guardian.guardian_id)
	ON CONFLICT DO NOTHING;
	INSERT INTO childguard.child_guardian (subject_no, guardian_id, relation)
	VALUES (s, register_guardian.guardian_id, register_guardian.relation)
	ON CONFLICT ON CONSTRAINT child_guardian_pkey
	DO UPDATE SET relation = EXCLUDED.relation;
END
$$;
COMMENT ON FUNCTION childguard.register_guardian(text, text, text) IS
	'Register a guardian (parent or other legal guardian) of a registered child.';

CREATE FUNCTION childguard.set_child_circumstances(child text, in_difficulty boolean,
												   can_express boolean DEFAULT true)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_officer('set a child''s circumstances');
	IF in_difficulty IS NULL OR can_express IS NULL THEN
		RAISE EXCEPTION 'circumstances must not be null' USING ERRCODE = '22004';
	END IF;
	UPDATE childguard.child c
	   SET in_difficulty = set_child_circumstances.in_difficulty,
	       can_express = set_child_circumstances.can_express
	 WHERE c.subject_no = childguard._subject_of(child);
END
$$;
COMMENT ON FUNCTION childguard.set_child_circumstances(text, boolean, boolean) IS
	'D-Art 12: mark a child as in difficult circumstances (困境儿童) and whether the child can express their will; changes who must consent.';
-------------------------------------------------------------------------------
-- Purposes (Art 7, 11, 12, 14, 17; D-Art 15) and security assessments (Art 16, 17)
-------------------------------------------------------------------------------

CREATE TABLE childguard.purpose (
	purpose_id		integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	purpose			text NOT NULL,
	kind			text NOT NULL DEFAULT 'use',
	categories		text[] NOT NULL,
	retention		interval NOT NULL,
	forbidden_in_difficulty boolean NOT NULL DEFAULT false,
	description		text NOT NULL DEFAULT '',
	defined_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	defined_by		name NOT NULL,
	CONSTRAINT purpose_purpose_key UNIQUE (purpose),
	CONSTRAINT purpose_kind_check CHECK (kind IN ('use', 'transfer', 'disclose')),
	CONSTRAINT purpose_retention_check CHECK (retention > '0'::interval)
);
COMMENT ON TABLE childguard.purpose IS
	'What child data may be processed for: the categories it needs (necessity, Art 11), how long (Art 12), its kind (use, transfer to a third party, disclosure), and whether it is forbidden for children in difficulty (D-Art 15).';

CREATE TABLE childguard.security_assessment (
	assessment_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	purpose_id		integer NOT NULL REFERENCES childguard.purpose (purpose_id),
	summary			text NOT NULL CHECK (summary <> ''),
	assessor		text NOT NULL CHECK (assessor <> ''),
	assessed_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	recorded_by		name NOT NULL
);
COMMENT ON TABLE childguard.security_assessment IS
	'Art 16/17: security assessments of a transfer or processing purpose; a transfer needs one before plaintext can be copied out.';

SELECT pg_catalog.pg_extension_config_dump('childguard.purpose', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.purpose_purpose_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.security_assessment', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.security_assessment_assessment_id_seq', '');
CREATE TRIGGER purpose_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.purpose FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();
CREATE TRIGGER security_assessment_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.security_assessment FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

-- The purpose row's id, or an error.
CREATE FUNCTION childguard._purpose_of(purpose text) RETURNS integer
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p integer;
BEGIN
	SELECT x.purpose_id INTO p FROM childguard.purpose x WHERE x.purpose = _purpose_of.purpose;
	IF p IS NULL THEN
		RAISE EXCEPTION 'unknown purpose "%"', purpose
			USING ERRCODE = 'ZC101',
			      HINT = 'Purposes are defined by the protection officer with childguard.define_purpose().';
	END IF;
	RETURN p;
END
$$;

-- Validated, lower-cased, sorted, de-duplicated category names.
CREATE FUNCTION childguard._categories(categories text[]) RETURNS text[]
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c text;
BEGIN
	IF categories IS NULL OR pg_catalog.cardinality(categories) = 0 THEN
		RAISE EXCEPTION 'at least one data category is required' USING ERRCODE = '22023';
	END IF;
	FOREACH c IN ARRAY categories LOOP
		IF c IS NULL OR NOT EXISTS (SELECT 1 FROM childguard.category k
		                            WHERE k.category = pg_catalog.lower(c)) THEN
			RAISE EXCEPTION 'unknown child data category "%"', c
				USING ERRCODE = '22023',
				      HINT = 'Known categories are listed in childguard.category.';
		END IF;
	END LOOP;
	RETURN ARRAY(SELECT DISTINCT pg_catalog.lower(x) FROM pg_catalog.unnest(categories) x ORDER BY 1);
END
$$;

CREATE FUNCTION childguard.define_purpose(purpose text, categories text[], retention interval,
										  kind text DEFAULT 'use',
										  forbidden_in_difficulty boolean DEFAULT false,
										  description text DEFAULT '')
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p integer;
BEGIN
	PERFORM childguard._require_officer('define a purpose');
	IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid purpose name "%"', purpose
			USING ERRCODE = '22023',
			      DETAIL = 'A purpose name is 1 to 63 lower-case letters, digits or underscores, starting with a letter.';
	END IF;
	IF kind IS NULL OR kind NOT IN ('use', 'transfer', 'disclose') THEN
		RAISE EXCEPTION 'invalid purpose kind "%"', kind
			USING ERRCODE = '22023', HINT = 'The kind is use, transfer or disclose.';
	END IF;
	IF retention IS NULL OR retention <= '0'::interval THEN
		RAISE EXCEPTION 'a purpose needs a positive retention period'
			USING ERRCODE = '22023', DETAIL = 'Art 12: data may not be kept longer than its purpose needs.';
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.purpose x WHERE x.purpose = define_purpose.purpose) THEN
		RAISE EXCEPTION 'purpose "%" is already defined', purpose
			USING ERRCODE = '23505',
			      HINT = 'A purpose cannot be widened once defined (Art 14); define a new purpose and ask for consent to it.';
	END IF;
	INSERT INTO childguard.purpose (purpose, kind, categories, retention,
	                                forbidden_in_difficulty, description, defined_by)
	VALUES (define_purpose.purpose, define_purpose.kind, childguard._categories(categories),
	        define_purpose.retention, coalesce(define_purpose.forbidden_in_difficulty, false),
	        coalesce(define_purpose.description, ''), childguard._caller())
	RETURNING purpose_id INTO p;
	RETURN p;
END
$$;
COMMENT ON FUNCTION childguard.define_purpose(text, text[], interval, text, boolean, text) IS
	'Define a purpose (officer): the categories it needs, its retention, kind (use/transfer/disclose) and whether children in difficulty are excluded from it (fundraising, livestream sales, publicity: D-Art 15).';

CREATE FUNCTION childguard.record_assessment(purpose text, summary text, assessor text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a bigint;
BEGIN
	PERFORM childguard._require_officer('record a security assessment');
	IF coalesce(summary, '') = '' OR coalesce(assessor, '') = '' THEN
		RAISE EXCEPTION 'a security assessment needs a summary and an assessor'
			USING ERRCODE = '22023';
	END IF;
	INSERT INTO childguard.security_assessment (purpose_id, summary, assessor, recorded_by)
	VALUES (childguard._purpose_of(purpose), summary, assessor, childguard._caller())
	RETURNING assessment_id INTO a;
	RETURN a;
END
$$;
COMMENT ON FUNCTION childguard.record_assessment(text, text, text) IS
	'Art 16/17: record the security assessment of a transfer purpose (or of a processor''s work); copying plaintext out under a transfer purpose needs one.';
-------------------------------------------------------------------------------
-- Notices (Art 10): what the guardian is told before consenting.  Versioned;
-- a material new version makes consents given on older versions lapse for
-- the purposes it covers (Art 10, last paragraph: re-consent).
-------------------------------------------------------------------------------

CREATE TABLE childguard.notice (
	notice_id		text NOT NULL CHECK (notice_id <> ''),
	version			integer NOT NULL CHECK (version > 0),
	purposes		text[] NOT NULL,
	material		boolean NOT NULL,
	-- the seven items of Art 10, each required
	purpose_method_scope	text NOT NULL,	-- (一) 目的、方式和范围
	storage_location_period	text NOT NULL,	-- (二) 存储的地点、期限和到期后的处理方式
	security_measures		text NOT NULL,	-- (三) 安全保障措施
	refusal_consequences	text NOT NULL,	-- (四) 拒绝的后果
	complaint_channels		text NOT NULL,	-- (五) 投诉、举报的渠道和方式
	correction_deletion		text NOT NULL,	-- (六) 更正、删除的途径和方法
	other_matters			text NOT NULL,	-- (七) 其他应当告知的事项
	published_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	published_by	name NOT NULL,
	CONSTRAINT notice_pkey PRIMARY KEY (notice_id, version),
	CONSTRAINT notice_items_check CHECK (
		purpose_method_scope <> '' AND storage_location_period <> '' AND
		security_measures <> '' AND refusal_consequences <> '' AND
		complaint_channels <> '' AND correction_deletion <> '' AND other_matters <> '')
);
COMMENT ON TABLE childguard.notice IS
	'Art 10 notices, versioned; each version carries the seven required items and the purposes it covers.';

SELECT pg_catalog.pg_extension_config_dump('childguard.notice', '');

CREATE FUNCTION childguard.publish_notice(notice_id text, purposes text[],
		purpose_method_scope text, storage_location_period text, security_measures text,
		refusal_consequences text, complaint_channels text, correction_deletion text,
		other_matters text, material boolean DEFAULT true)
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v integer;
	missing text[];
	p text;
BEGIN
	PERFORM childguard._require_officer('publish a notice');
	IF notice_id IS NULL OR notice_id = '' THEN
		RAISE EXCEPTION 'notice id must not be empty' USING ERRCODE = '22023';
	END IF;
	SELECT pg_catalog.array_agg(item) INTO missing
	  FROM (VALUES (1, 'purpose_method_scope', purpose_method_scope),
	               (2, 'storage_location_period', storage_location_period),
	               (3, 'security_measures', security_measures),
	               (4, 'refusal_consequences', refusal_consequences),
	               (5, 'complaint_channels', complaint_channels),
	               (6, 'correction_deletion', correction_deletion),
	               (7, 'other_matters', other_matters)) i(n, item, val)
	 WHERE pg_catalog.btrim(coalesce(val, '')) = '';
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'notice "%" is missing required items', notice_id
			USING ERRCODE = 'ZC107',
			      DETAIL = pg_catalog.format('Art 10 requires all seven items; missing: %s.',
			                                 pg_catalog.array_to_string(missing, ', ')),
			      HINT = 'Give every item; write what applies, e.g. "none" for other matters only if there are none.';
	END IF;
	IF purposes IS NULL OR pg_catalog.cardinality(purposes) = 0 THEN
		RAISE EXCEPTION 'notice "%" must cover at least one purpose', notice_id
			USING ERRCODE = '22023';
	END IF;
	FOREACH p IN ARRAY purposes LOOP
		PERFORM childguard._purpose_of(p);
	END LOOP;
	-- one publisher at a time per notice: versions are consecutive
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('childguard.notice:' || notice_id));
	SELECT coalesce(max(n.version), 0) + 1 INTO v
	  FROM childguard.notice n WHERE n.notice_id = publish_notice.notice_id;
	IF v > 1 AND material IS NULL THEN
		RAISE EXCEPTION 'say whether the new version of notice "%" is material', notice_id
			USING ERRCODE = '22004';
	END IF;
	INSERT INTO childguard.notice VALUES (
		publish_notice.notice_id, v,
		ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(purposes) x ORDER BY 1),
		v = 1 OR material,
		purpose_method_scope, storage_location_period, security_measures,
		refusal_consequences, complaint_channels, correction_deletion, other_matters,
		pg_catalog.now(), childguard._caller());
	IF v > 1 AND material THEN
		-- consents given on earlier versions lapse for the purposes this one covers
		UPDATE childguard.consent c
		   SET lapsed_at = pg_catalog.now()
		 WHERE c.notice_id = publish_notice.notice_id
		   AND c.notice_version < v
		   AND c.lapsed_at IS NULL
		   AND c.purpose_id IN (SELECT x.purpose_id FROM childguard.purpose x
		                         WHERE x.purpose = ANY (purposes));
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION childguard.publish_notice(text, text[], text, text, text, text, text, text, text, boolean) IS
	'Art 10: publish a new version of a notice (officer). All seven items are required. A material new version makes consents given on earlier versions lapse for the purposes it covers. Returns the version number.';
-------------------------------------------------------------------------------
-- Consents (Art 9, 10, 14; D-Art 12): each row is one decision, granted or
-- refused, by a guardian or by the child, on one notice version, for one
-- purpose.  Withdrawal and lapse (a material new notice) are stamped on the
-- row; nothing is ever deleted, so the history is the proof.
--
-- Who must consent is decided when the consent is checked, from the birth
-- date (no batch job: a birthday changes the answer):
--   under 14                          a guardian of the child
--   14 or over                        the child
--   14 or over, in difficulty         the child, with a guardian informed
--   14 or over, in difficulty,
--     unable to express their will    a guardian (and no refusal by the child)
-- The decision is in C (src/consent.c); record_consent() applies the same
-- rule to refuse consent from anyone else.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.child_age(birth_date date, on_date date DEFAULT CURRENT_DATE)
	RETURNS integer
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_child_age';
COMMENT ON FUNCTION childguard.child_age(date, date) IS
	'Age in whole years on a date (default: today); the rule childguard uses for the age of consent.';

CREATE TABLE childguard.consent (
	consent_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	purpose_id		integer NOT NULL REFERENCES childguard.purpose (purpose_id),
	decision		text NOT NULL CHECK (decision IN ('granted', 'refused')),
	giver_kind		text NOT NULL CHECK (giver_kind IN ('guardian', 'child')),
	guardian_id		text REFERENCES childguard.guardian (guardian_id),
	informed_guardian_id text REFERENCES childguard.guardian (guardian_id),
	notice_id		text NOT NULL,
	notice_version	integer NOT NULL,
	given_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	recorded_by		name NOT NULL,
	withdrawn_at	timestamptz,
	lapsed_at		timestamptz,
	CONSTRAINT consent_notice_fkey FOREIGN KEY (notice_id, notice_version)
		REFERENCES childguard.notice (notice_id, version),
	CONSTRAINT consent_giver_check CHECK ((giver_kind = 'guardian') = (guardian_id IS NOT NULL)),
	CONSTRAINT consent_withdrawn_check CHECK (withdrawn_at IS NULL OR decision = 'granted')
);
CREATE INDEX consent_subject_purpose_idx ON childguard.consent (subject_no, purpose_id);
COMMENT ON TABLE childguard.consent IS
	'Every consent decision (granted or refused), who gave it, on which notice version, and when it was withdrawn or lapsed.';

SELECT pg_catalog.pg_extension_config_dump('childguard.consent', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.consent_consent_id_seq', '');
CREATE TRIGGER consent_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.consent FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

CREATE FUNCTION childguard.record_consent(child text, purpose text, notice text, given_by text,
										  decision text DEFAULT 'granted',
										  notice_version integer DEFAULT NULL,
										  guardian_informed text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	p childguard.purpose;
	n childguard.notice;
	kind text;
	age integer;
	id bigint;
BEGIN
	IF decision IS NULL OR decision NOT IN ('granted', 'refused') THEN
		RAISE EXCEPTION 'invalid consent decision "%"', decision
			USING ERRCODE = '22023', HINT = 'The decision is granted or refused.';
	END IF;
	IF given_by IS NULL OR given_by = '' THEN
		RAISE EXCEPTION 'who gave the consent must be named' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM childguard.child x WHERE x.subject_no = childguard._subject_of(child);
	SELECT * INTO p FROM childguard.purpose x WHERE x.purpose_id = childguard._purpose_of(record_consent.purpose);
	IF c.erased_at IS NOT NULL THEN
		RAISE EXCEPTION 'child "%" has been erased', child USING ERRCODE = 'ZC012';
	END IF;

	-- the notice: the current version, covering the purpose
	SELECT * INTO n FROM childguard.notice x
	 WHERE x.notice_id = notice ORDER BY x.version DESC LIMIT 1;
	IF n.notice_id IS NULL THEN
		RAISE EXCEPTION 'unknown notice "%"', notice USING ERRCODE = '22023';
	END IF;
	IF notice_version IS NOT NULL AND notice_version <> n.version THEN
		RAISE EXCEPTION 'notice "%" version % has been superseded', notice, notice_version
			USING ERRCODE = 'ZC108',
			      DETAIL = pg_catalog.format('The current version is %s.', n.version),
			      HINT = 'Consent must be given on the notice the guardian is shown now.';
	END IF;
	IF NOT p.purpose = ANY (n.purposes) THEN
		RAISE EXCEPTION 'notice "%" does not cover purpose "%"', notice, purpose
			USING ERRCODE = 'ZC108',
			      HINT = 'Publish a notice version that tells the guardian about this purpose.';
	END IF;

	-- who is giving it, and may they?
	IF given_by = c.child_id THEN
		kind := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no AND g.guardian_id = given_by) THEN
		kind := 'guardian';
	ELSE
		RAISE EXCEPTION 'consent for child "%" cannot be given by "%"', child, given_by
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Only a registered guardian of the child, or the child when old enough, can decide.';
	END IF;
	age := childguard.child_age(c.birth_date);
	IF kind = 'child' AND age < 14 THEN
		RAISE EXCEPTION 'child "%" is under 14 and cannot consent alone', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Art 9: a guardian''s consent is required for a child under 14.',
			      HINT = 'Record the consent of a registered guardian.';
	END IF;
	IF kind = 'guardian' AND age >= 14 AND NOT (c.in_difficulty AND NOT c.can_express) THEN
		RAISE EXCEPTION 'child "%" is 14 or over and decides for themselves', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'D-Art 12: from 14 the child''s own consent is required; a guardian consents only for a child who cannot express their will.',
			      HINT = 'Record the child''s own consent.';
	END IF;
	IF kind = 'child' AND c.in_difficulty AND decision = 'granted' THEN
		IF guardian_informed IS NULL OR NOT EXISTS (
				SELECT 1 FROM childguard.child_guardian g
				 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
			RAISE EXCEPTION 'a guardian of child "%" must be informed of this consent', child
				USING ERRCODE = 'ZC106',
				      DETAIL = 'D-Art 12: for a child 14 or over in difficult circumstances, a parent or guardian is informed explicitly.',
				      HINT = 'Pass guardian_informed => the id of the guardian who was told.';
		END IF;
	ELSIF guardian_informed IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM childguard.child_guardian g
			 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
		RAISE EXCEPTION '"%" is not a guardian of child "%"', guardian_informed, child
			USING ERRCODE = 'ZC106';
	END IF;
	IF decision = 'granted' AND c.in_difficulty AND p.forbidden_in_difficulty THEN
		RAISE EXCEPTION 'purpose "%" is forbidden for children in difficult circumstances', purpose
			USING ERRCODE = 'ZC109',
			      DETAIL = 'D-Art 15: their data cannot be used for fundraising, livestream sales, publicity and the like, whoever consents.';
	END IF;

	INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                informed_guardian_id, notice_id, notice_version, recorded_by)
	VALUES (c.subject_no, p.purpose_id, decision, kind,
	        CASE WHEN kind = 'guardian' THEN given_by END,
	        guardian_informed, n.notice_id, n.version, childguard._caller())
	RETURNING consent_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_consent(text, text, text, text, text, integer, text) IS
	'Art 9/10, D-Art 12: record a guardian''s or child''s decision (granted or refused) on the current version of a notice for a purpose. Refused unless given by the person the child''s age and circumstances require.';

CREATE FUNCTION childguard.refuse_consent(child text, purpose text, notice text, given_by text)
	RETURNS bigint
	LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT childguard.record_consent(child, purpose, notice, given_by, 'refused')
$$;
COMMENT ON FUNCTION childguard.refuse_consent(text, text, text, text) IS
	'Art 10: record that the guardian (or child) chose the refusal option.';

CREATE FUNCTION childguard.withdraw_consent(child text, purpose text, given_by text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint := childguard._subject_of(child);
	p integer := childguard._purpose_of(purpose);
	id bigint;
BEGIN
	UPDATE childguard.consent c
	   SET withdrawn_at = pg_catalog.now()
	 WHERE c.consent_id = (
	        SELECT x.consent_id FROM childguard.consent x
	         WHERE x.subject_no = s AND x.purpose_id = p
	           AND x.decision = 'granted' AND x.withdrawn_at IS NULL AND x.lapsed_at IS NULL
	           AND (x.guardian_id = given_by OR
	                (x.giver_kind = 'child' AND given_by = child))
	         ORDER BY x.consent_id DESC LIMIT 1)
	RETURNING c.consent_id INTO id;
	IF id IS NULL THEN
		RAISE EXCEPTION 'no active consent by "%" for child "%" and purpose "%"', given_by, child, purpose
			USING ERRCODE = 'ZC113';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.withdraw_consent(text, text, text) IS
	'Withdraw a consent given by given_by (a guardian, or the child); every session''s next read of that child''s data for the purpose is denied once this commits.';
-------------------------------------------------------------------------------
-- Staff access (Art 15-17): least privilege through time-bounded grants,
-- approved by a protection officer who is neither the requester nor the
-- grantee.  A processor (受委托方, Art 16) is a grant with an agreement; it
-- holds for exactly its role (not for members of it) and that role cannot
-- request access for anyone else, so it cannot be delegated further.
-------------------------------------------------------------------------------

CREATE TABLE childguard.access_grant (
	grant_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	grantee			name NOT NULL,
	purposes		text[] NOT NULL,
	categories		text[],			-- NULL: every category of the purposes
	max_children	integer CHECK (max_children > 0),	-- per statement; NULL: childguard.max_children_per_statement
	valid_from		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	valid_until		timestamptz NOT NULL,
	processor		boolean NOT NULL DEFAULT false,
	agreement		text,
	reason			text NOT NULL DEFAULT '',
	requested_by	name NOT NULL,
	requested_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	approved_by		name,
	approved_at		timestamptz,
	revoked_by		name,
	revoked_at		timestamptz,
	CONSTRAINT access_grant_period_check CHECK (valid_until > valid_from),
	CONSTRAINT access_grant_processor_check CHECK (NOT processor OR coalesce(agreement, '') <> ''),
	CONSTRAINT access_grant_two_person_check CHECK (approved_by IS DISTINCT FROM requested_by),
	CONSTRAINT access_grant_approval_check CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
COMMENT ON TABLE childguard.access_grant IS
	'Art 15-17: who may read child data, for which purposes and categories, until when, how many children per statement; requested, approved by an officer, revoked.';

SELECT pg_catalog.pg_extension_config_dump('childguard.access_grant', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.access_grant_grant_id_seq', '');
CREATE TRIGGER access_grant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.access_grant FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

CREATE FUNCTION childguard.request_access(grantee regrole, purposes text[], valid_until timestamptz,
										  categories text[] DEFAULT NULL,
										  max_children integer DEFAULT NULL,
										  reason text DEFAULT '',
										  processor boolean DEFAULT false,
										  agreement text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	allowed text[];
	p text;
	id bigint;
BEGIN
	IF grantee IS NULL OR valid_until IS NULL THEN
		RAISE EXCEPTION 'grantee and valid_until are required' USING ERRCODE = '22004';
	END IF;
	IF valid_until <= pg_catalog.now() THEN
		RAISE EXCEPTION 'access must end in the future' USING ERRCODE = '22023';
	END IF;
	IF NOT pg_catalog.pg_has_role(caller, grantee, 'MEMBER')
	   AND NOT childguard._caller_is_officer() THEN
		RAISE EXCEPTION 'permission denied to request access for role "%"', grantee
			USING ERRCODE = '42501',
			      HINT = 'Request access for your own role, or ask a protection officer.';
	END IF;
	-- a processor works for us and cannot hand the work on (Art 16)
	IF EXISTS (SELECT 1 FROM childguard.access_grant g
	            WHERE g.processor AND g.grantee = caller AND g.revoked_at IS NULL)
	   AND grantee::text::name <> caller THEN
		RAISE EXCEPTION 'a processor cannot delegate access to another role'
			USING ERRCODE = '42501',
			      DETAIL = 'Art 16: entrusted processing may not exceed the entrusted scope.';
	END IF;
	IF purposes IS NULL OR pg_catalog.cardinality(purposes) = 0 THEN
		RAISE EXCEPTION 'at least one purpose is required' USING ERRCODE = '22023';
	END IF;
	FOREACH p IN ARRAY purposes LOOP
		PERFORM childguard._purpose_of(p);
	END LOOP;
	IF categories IS NOT NULL THEN
		categories := childguard._categories(categories);
		SELECT ARRAY(SELECT DISTINCT c FROM childguard.purpose x, pg_catalog.unnest(x.categories) c
		              WHERE x.purpose = ANY (purposes)) INTO allowed;
		IF NOT categories <@ allowed THEN
			RAISE EXCEPTION 'categories outside the purposes requested'
				USING ERRCODE = 'ZC104',
				      DETAIL = pg_catalog.format('The purposes need only: %s.', pg_catalog.array_to_string(allowed, ', ')),
				      HINT = 'Art 15: staff get the least access their work needs.';
		END IF;
	END IF;
	IF max_children IS NOT NULL AND max_children <= 0 THEN
		RAISE EXCEPTION 'max_children must be positive' USING ERRCODE = '22023';
	END IF;
	IF processor AND coalesce(agreement, '') = '' THEN
		RAISE EXCEPTION 'a processor grant needs its agreement' USING ERRCODE = '22023',
			DETAIL = 'Art 16: entrusted processing needs an agreement stating duties, matters, period, nature and purpose.';
	END IF;
	INSERT INTO childguard.access_grant (grantee, purposes, categories, max_children, valid_until,
	                                     processor, agreement, reason, requested_by)
	VALUES (grantee::text::name,
	        ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(purposes) x ORDER BY 1),
	        categories, max_children, valid_until, coalesce(processor, false), agreement,
	        coalesce(reason, ''), caller)
	RETURNING grant_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text) IS
	'Art 15: ask for a role to read child data for purposes (and optionally only some categories) until valid_until; max_children raises the per-statement limit on distinct children. A processor grant (Art 16) needs its agreement. Returns the grant id, to be approved by an officer.';

-- The grant, locked against a concurrent approval or revocation, or an error.
CREATE FUNCTION childguard._grant_for_update(grant_id bigint) RETURNS childguard.access_grant
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g childguard.access_grant;
BEGIN
	SELECT * INTO g FROM childguard.access_grant x WHERE x.grant_id = _grant_for_update.grant_id FOR UPDATE;
	IF g.grant_id IS NULL THEN
		RAISE EXCEPTION 'access grant % does not exist', grant_id USING ERRCODE = '22023';
	END IF;
	RETURN g;
END
$$;
REVOKE ALL ON FUNCTION childguard._grant_for_update(bigint) FROM PUBLIC;

CREATE FUNCTION childguard.approve_access(grant_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	g childguard.access_grant;
	p text;
BEGIN
	PERFORM childguard._require_officer('approve access');
	g := childguard._grant_for_update(approve_access.grant_id);
	IF g.requested_by = caller OR pg_catalog.pg_has_role(caller, g.grantee, 'MEMBER') THEN
		RAISE EXCEPTION 'access grant % cannot be approved by its requester or grantee', grant_id
			USING ERRCODE = 'ZC112',
			      DETAIL = pg_catalog.format('Role "%s" requested it for role "%s".', g.requested_by, g.grantee),
			      HINT = 'Another protection officer must approve it (Art 15: two people).';
	END IF;
	IF g.approved_at IS NOT NULL OR g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already %', grant_id,
			CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked' ELSE 'approved' END
			USING ERRCODE = '22023';
	END IF;
	IF g.valid_until <= pg_catalog.now() THEN
		RAISE EXCEPTION 'access grant % has expired', grant_id USING ERRCODE = '22023';
	END IF;
	IF g.processor THEN
		FOREACH p IN ARRAY g.purposes LOOP
			IF NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
			                JOIN childguard.purpose x USING (purpose_id)
			               WHERE x.purpose = p) THEN
				RAISE EXCEPTION 'processing for purpose "%" has no security assessment', p
					USING ERRCODE = 'ZC111',
					      DETAIL = 'Art 16: entrusting a third party needs a security assessment first.',
					      HINT = 'Record it with childguard.record_assessment().';
			END IF;
		END LOOP;
	END IF;
	UPDATE childguard.access_grant x
	   SET approved_by = caller, approved_at = pg_catalog.now()
	 WHERE x.grant_id = approve_access.grant_id;
END
$$;
COMMENT ON FUNCTION childguard.approve_access(bigint) IS
	'Art 15: approve a requested grant (officer; never the requester or the grantee).';

CREATE FUNCTION childguard.revoke_access(grant_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	g childguard.access_grant;
BEGIN
	g := childguard._grant_for_update(revoke_access.grant_id);
	IF NOT childguard._caller_is_officer() AND g.grantee <> caller THEN
		RAISE EXCEPTION 'permission denied to revoke access grant %', grant_id
			USING ERRCODE = '42501',
			      HINT = 'A protection officer, or the grantee giving it up, can revoke a grant.';
	END IF;
	IF g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already revoked', grant_id USING ERRCODE = 'ZC113';
	END IF;
	UPDATE childguard.access_grant x
	   SET revoked_by = caller, revoked_at = pg_catalog.now()
	 WHERE x.grant_id = revoke_access.grant_id;
END
$$;
COMMENT ON FUNCTION childguard.revoke_access(bigint) IS
	'End a grant now (officer, or the grantee); reads under it stop at the next statement.';
-------------------------------------------------------------------------------
-- Declaring a purpose, and the registries as views (C6 inspection)
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.set_purpose(purpose text, is_local boolean DEFAULT false)
	RETURNS text
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.set_config('childguard.purpose', coalesce(purpose, ''), is_local)
$$;
COMMENT ON FUNCTION childguard.set_purpose(text, boolean) IS
	'Declare the purpose of this session (or, with is_local, of this transaction); the same as SET childguard.purpose. An unknown purpose, or one the role has no grant for, is an error.';

CREATE FUNCTION childguard.current_purpose() RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT NULLIF(pg_catalog.current_setting('childguard.purpose', true), '')
$$;
COMMENT ON FUNCTION childguard.current_purpose() IS 'The session''s declared purpose, or NULL.';

CREATE FUNCTION childguard.consent_in_force(child text, purpose text, on_date date DEFAULT CURRENT_DATE)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH c AS (SELECT * FROM childguard.child x WHERE x.child_id = child),
	     p AS (SELECT * FROM childguard.purpose x WHERE x.purpose = consent_in_force.purpose),
	     w AS (  -- the last word of each kind of giver (see src/consent.c)
	        SELECT DISTINCT ON (k.giver_kind) k.giver_kind,
	               CASE WHEN k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL THEN 'none'
	                    ELSE k.decision END AS word,
	               k.given_at, k.informed_guardian_id IS NOT NULL AS informed
	          FROM childguard.consent k, c, p
	         WHERE k.subject_no = c.subject_no AND k.purpose_id = p.purpose_id
	         ORDER BY k.giver_kind,
	                  GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC,
	                  (k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL) DESC,
	                  k.consent_id DESC)
	SELECT c.erased_at IS NULL
	   AND NOT (c.in_difficulty AND p.forbidden_in_difficulty)
	   AND CASE
	       WHEN childguard.child_age(c.birth_date, on_date) < 14 OR (c.in_difficulty AND NOT c.can_express)
	       THEN EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'guardian' AND w.word = 'granted'
	                    AND w.given_at + p.retention > pg_catalog.now())
	            AND NOT (childguard.child_age(c.birth_date, on_date) >= 14 AND
	                     EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'refused'))
	       ELSE EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'granted'
	                    AND (w.informed OR NOT c.in_difficulty)
	                    AND w.given_at + p.retention > pg_catalog.now())
	       END
	  FROM c, p
$$;
COMMENT ON FUNCTION childguard.consent_in_force(text, text, date) IS
	'Whether a consent that counts is in force for the child and purpose on a date (for inspection; reads decide in C with the same rule). NULL if the child or purpose is unknown.';

CREATE VIEW childguard.children AS
	SELECT c.child_id, c.birth_date, childguard.child_age(c.birth_date) AS age,
	       c.in_difficulty, c.can_express, c.registered_at, c.erased_at,
	       ARRAY(SELECT g.guardian_id FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no ORDER BY 1) AS guardians,
	       c.subject_no
	  FROM childguard.child c;
COMMENT ON VIEW childguard.children IS 'Registered children, their age today, circumstances and guardians.';

CREATE VIEW childguard.guardians AS
	SELECT g.guardian_id, c.child_id, g.relation, g.since
	  FROM childguard.child_guardian g JOIN childguard.child c USING (subject_no);
COMMENT ON VIEW childguard.guardians IS 'Guardians and the children they are responsible for.';

CREATE VIEW childguard.notices AS
	SELECT n.*, n.version = max(n.version) OVER (PARTITION BY n.notice_id) AS is_current
	  FROM childguard.notice n;
COMMENT ON VIEW childguard.notices IS 'Every version of every notice, with its seven Art 10 items.';

CREATE VIEW childguard.purposes AS
	SELECT p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty,
	       p.description, p.defined_at, p.defined_by,
	       EXISTS (SELECT 1 FROM childguard.security_assessment a
	                WHERE a.purpose_id = p.purpose_id) AS assessed
	  FROM childguard.purpose p;
COMMENT ON VIEW childguard.purposes IS 'Defined purposes: categories needed, retention, kind, exclusions, assessment.';

CREATE VIEW childguard.consents AS
	SELECT k.consent_id, c.child_id, p.purpose, k.decision, k.giver_kind,
	       coalesce(k.guardian_id, c.child_id) AS given_by, k.informed_guardian_id,
	       k.notice_id, k.notice_version, k.given_at, k.recorded_by,
	       k.withdrawn_at, k.lapsed_at,
	       CASE WHEN k.withdrawn_at IS NOT NULL THEN 'withdrawn'
	            WHEN k.lapsed_at IS NOT NULL THEN 'lapsed'
	            ELSE k.decision END AS state
	  FROM childguard.consent k
	  JOIN childguard.child c USING (subject_no)
	  JOIN childguard.purpose p USING (purpose_id);
COMMENT ON VIEW childguard.consents IS 'Every consent decision with its state: granted, refused, withdrawn or lapsed.';

CREATE VIEW childguard.access_grants AS
	SELECT g.*,
	       CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
	            WHEN g.approved_at IS NULL THEN 'requested'
	            WHEN g.valid_until <= pg_catalog.now() THEN 'expired'
	            WHEN g.valid_from > pg_catalog.now() THEN 'approved, not yet valid'
	            ELSE 'in force' END AS status
	  FROM childguard.access_grant g;
COMMENT ON VIEW childguard.access_grants IS 'Staff and processor grants and their status.';

CREATE VIEW childguard.officers AS SELECT * FROM childguard.officer;
COMMENT ON VIEW childguard.officers IS 'Appointed protection officers (Art 8).';
-------------------------------------------------------------------------------
-- Who may call what.  Nothing is granted to PUBLIC except reading the
-- category list and the protected-columns view and declaring a purpose;
-- appoint_officer() and enroll_application() grant the rest.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.publish_notice(text, text[], text, text, text, text, text, text, text, boolean)',
		'childguard.define_purpose(text, text[], interval, text, boolean, text)',
		'childguard.record_assessment(text, text, text)',
		'childguard.set_child_circumstances(text, boolean, boolean)',
		'childguard.approve_access(bigint)',
		'childguard.revoke_access(bigint)',
		'childguard.enroll_application(regrole)',
		'childguard.consent_in_force(text, text, date)'
	]::regprocedure[] || childguard._application_functions()
$$;

CREATE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['childguard.children', 'childguard.guardians', 'childguard.notices',
	             'childguard.purposes', 'childguard.consents', 'childguard.access_grants',
	             'childguard.officers']::regclass[]
$$;

CREATE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_child(text, date, boolean, boolean)',
		'childguard.register_guardian(text, text, text)',
		'childguard.record_consent(text, text, text, text, text, integer, text)',
		'childguard.refuse_consent(text, text, text, text)',
		'childguard.withdraw_consent(text, text, text)',
		'childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text)',
		'childguard.revoke_access(bigint)'
	]::regprocedure[]
$$;

DO $$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY childguard._officer_functions() || ARRAY[
			'childguard.appoint_officer(regrole)', 'childguard.dismiss_officer(regrole)',
			'childguard._subject_of(text)', 'childguard._purpose_of(text)',
			'childguard._categories(text[])', 'childguard._require_officer(text)',
			'childguard._require_owner(text)', 'childguard._caller_is_officer()',
			'childguard._caller_is_owner()']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA childguard FROM PUBLIC;
GRANT SELECT ON childguard.category, childguard.protected_columns TO PUBLIC;
-------------------------------------------------------------------------------
-- The access log (C4; Art 15, 21, 22; D-Art 17).  One row per top-level
-- statement that decrypted, was denied or wrote child data, written only by
-- the audit writer (a background worker, src/audit_worker.c) in its own
-- transactions, so a record survives the caller's ROLLBACK and errors.
-- Rows are hash-chained; verify_access_log() finds an edit or a deletion.
-- No role can INSERT, UPDATE, DELETE or TRUNCATE it (triggers, ENABLE
-- ALWAYS, checked in C: src/audit_guard.c).  See docs/audit.md.
-------------------------------------------------------------------------------

CREATE TABLE childguard.access_log (
	id					bigint PRIMARY KEY,
	statement_at		timestamptz NOT NULL,
	logged_at			timestamptz NOT NULL,
	session_id			text NOT NULL,
	backend_pid			integer NOT NULL,
	session_role		text,
	acting_role			text,
	client_addr			text,
	application_name	text,
	command				text NOT NULL,
	purpose				text,
	grant_id			bigint,
	relations			text[] NOT NULL,
	columns				text[] NOT NULL,
	children_read		bigint[] NOT NULL,
	children_denied		bigint[] NOT NULL,
	children_written	bigint[] NOT NULL,
	children			integer NOT NULL,
	rows				bigint NOT NULL,
	outcome				text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'error')),
	sqlstate			text,
	query_id			bigint,
	prev_hash			bytea,
	hash				bytea NOT NULL
);
-- BRIN: cheap to keep up for an append-only log, enough for time windows
CREATE INDEX access_log_statement_at_idx ON childguard.access_log USING brin (statement_at);



COMMENT ON TABLE childguard.access_log IS
	'Art 15/22: one record per statement that read, was denied or wrote child data: when, which session and roles, from where, for which purpose and grant, which relations and columns, which children (subject numbers), how many rows, the outcome, the query id. Hash-chained; written only by the audit writer.';
COMMENT ON COLUMN childguard.access_log.session_id IS 'as log_line_prefix %c shows it: session start time and process id, in hex';
COMMENT ON COLUMN childguard.access_log.session_role IS 'the role that logged in';
COMMENT ON COLUMN childguard.access_log.acting_role IS 'the role the session acted as (SET ROLE), whose grant counts';
COMMENT ON COLUMN childguard.access_log.columns IS 'child_data columns the statement used, as schema.table.column';
COMMENT ON COLUMN childguard.access_log.children_read IS 'subject numbers of the children whose data was decrypted';
COMMENT ON COLUMN childguard.access_log.children_denied IS 'subject numbers of the children whose data or rows were withheld';
COMMENT ON COLUMN childguard.access_log.children_written IS 'subject numbers of the children whose data was written (collected)';
COMMENT ON COLUMN childguard.access_log.children IS 'distinct children in the three lists';
COMMENT ON COLUMN childguard.access_log.outcome IS 'allowed: child data was used (some children may still be listed as denied); denied: all of it was refused; error: the statement failed (see sqlstate)';
COMMENT ON COLUMN childguard.access_log.hash IS 'SHA-256 of prev_hash and the canonical form of the other columns (src/audit_chain.c)';

CREATE TABLE childguard.access_log_head (
	one_row				boolean PRIMARY KEY DEFAULT true CHECK (one_row),
	last_id				bigint NOT NULL DEFAULT 0,
	last_hash			bytea,
	purged_upto_id		bigint NOT NULL DEFAULT 0,
	purged_upto_hash	bytea,
	epoch				timestamptz,
	last_seq			bigint NOT NULL DEFAULT 0
);
INSERT INTO childguard.access_log_head DEFAULT VALUES;
COMMENT ON TABLE childguard.access_log_head IS
	'The head of the access log''s hash chain (last id and hash) and what retention purged (last purged id and hash); kept by the audit writer.';

CREATE FUNCTION childguard._access_log_guard() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_access_log_guard';
COMMENT ON FUNCTION childguard._access_log_guard() IS
	'Refuses every change to the access log except by the audit writer.';
-- statement level: refused before any row is touched, and no per-row cost
-- for the writer
CREATE TRIGGER access_log_guard BEFORE INSERT OR UPDATE OR DELETE
	ON childguard.access_log FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_guard_truncate BEFORE TRUNCATE
	ON childguard.access_log FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_head_guard BEFORE INSERT OR UPDATE OR DELETE
	ON childguard.access_log_head FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_head_guard_truncate BEFORE TRUNCATE
	ON childguard.access_log_head FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
-- ALWAYS: session_replication_role = replica must not switch them off
ALTER TABLE childguard.access_log ENABLE ALWAYS TRIGGER access_log_guard;
ALTER TABLE childguard.access_log ENABLE ALWAYS TRIGGER access_log_guard_truncate;
ALTER TABLE childguard.access_log_head ENABLE ALWAYS TRIGGER access_log_head_guard;
ALTER TABLE childguard.access_log_head ENABLE ALWAYS TRIGGER access_log_head_guard_truncate;

CREATE FUNCTION childguard.verify_access_log(OUT valid boolean, OUT records_checked bigint,
											 OUT broken_id bigint, OUT reason text)
	RETURNS record
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_verify_access_log';
COMMENT ON FUNCTION childguard.verify_access_log() IS
	'Walk the access log''s hash chain: valid, or the first broken link (the id where it breaks and why: a record altered, deleted, inserted, or the newest or oldest ones removed).';

CREATE FUNCTION childguard.audit_wait() RETURNS void
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_audit_wait';
COMMENT ON FUNCTION childguard.audit_wait() IS
	'Wait until every audit record this session has produced is committed to the access log (what childguard.audit_sync does after each statement).';

-------------------------------------------------------------------------------
-- Views over the log
-------------------------------------------------------------------------------

CREATE VIEW childguard.access_log_children AS
	SELECT l.id, l.statement_at, l.session_role, l.acting_role, l.purpose, l.grant_id,
	       l.command, l.outcome, a.access, a.subject_no, c.child_id
	  FROM childguard.access_log l
	 CROSS JOIN LATERAL (
	        SELECT 'read'::text, s FROM pg_catalog.unnest(l.children_read) s
	        UNION ALL
	        SELECT 'denied'::text, s FROM pg_catalog.unnest(l.children_denied) s
	        UNION ALL
	        SELECT 'written'::text, s FROM pg_catalog.unnest(l.children_written) s
	       ) a(access, subject_no)
	  LEFT JOIN childguard.child c ON c.subject_no = a.subject_no;
COMMENT ON VIEW childguard.access_log_children IS
	'One row per record and child: what the statement did to that child (read, denied, written), with the child''s id.';

CREATE VIEW childguard.access_summary AS
	SELECT (l.statement_at AT TIME ZONE 'UTC')::date AS day,
	       l.acting_role AS role_name,
	       l.purpose,
	       pg_catalog.count(*) AS statements,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'allowed') AS allowed,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'denied') AS denied,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'error') AS errors,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_read)) AS children_read,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_denied)) AS children_denied,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_written)) AS children_written,
	       pg_catalog.sum(l.rows) AS rows
	  FROM childguard.access_log l
	 GROUP BY 1, 2, 3;
COMMENT ON VIEW childguard.access_summary IS
	'Access to child data per day (UTC), acting role and purpose: statements by outcome, and children read, denied and written (summed per statement).';

REVOKE ALL ON childguard.access_log, childguard.access_log_head,
	childguard.access_log_children, childguard.access_summary FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard.verify_access_log() FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._access_log_guard() FROM PUBLIC;
-------------------------------------------------------------------------------
-- Reports over the access log (C4): what is held about a child and who
-- accessed it (Measures Art 17; Provisions Art 19/20 requests), and the
-- children and guardians a role's access touched (breach notification,
-- Provisions Art 21).  For protection officers and the extension owner.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._require_auditor(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      DETAIL = pg_catalog.format('Role "%s" is not a protection officer.', childguard._caller()),
			      HINT = 'Only a protection officer or the extension owner reads the access log.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard._require_auditor(text) FROM PUBLIC;

CREATE FUNCTION childguard.child_report(child text) RETURNS jsonb
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	t record;
	held jsonb := '[]';
	found_rows jsonb;
BEGIN
	PERFORM childguard._require_auditor('report on a child');
	IF child IS NULL THEN
		RAISE EXCEPTION 'child must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO c FROM childguard.child x WHERE x.child_id = child;
	IF c.subject_no IS NULL THEN
		RAISE EXCEPTION 'child "%" is not registered', child
			USING ERRCODE = 'ZC011',
			      HINT = 'The report is by the application''s child id, as given to register_child().';
	END IF;
	-- what each protected table holds for the child: rows and non-null
	-- values per column (counting decrypts nothing)
	FOR t IN SELECT p.table_name, p.subject_column,
	                pg_catalog.array_agg(p.column_name ORDER BY p.column_name) AS cols,
	                pg_catalog.array_agg(p.category ORDER BY p.column_name) AS cats
	           FROM childguard.protected_columns p
	          WHERE p.is_protected
	          GROUP BY p.table_name, p.subject_column
	          ORDER BY p.table_name::text LOOP
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.jsonb_build_object(''rows'', pg_catalog.count(*), ''columns'', '
			'pg_catalog.jsonb_build_array(%s)) FROM %s WHERE %I::text OPERATOR(pg_catalog.=) $1',
			(SELECT pg_catalog.string_agg(pg_catalog.format(
			            'pg_catalog.jsonb_build_object(''column'', %L, ''category'', %L, ''values'', pg_catalog.count(%I))',
			            t.cols[i], t.cats[i], t.cols[i]), ', ')
			   FROM pg_catalog.generate_subscripts(t.cols, 1) i),
			t.table_name, t.subject_column)
			INTO found_rows USING child;
		IF (found_rows->>'rows')::bigint > 0 THEN
			held := held || pg_catalog.jsonb_build_array(
			            pg_catalog.jsonb_build_object('table', t.table_name::text) || found_rows);
		END IF;
	END LOOP;
	RETURN pg_catalog.jsonb_build_object(
		'child', pg_catalog.jsonb_build_object(
			'child_id', c.child_id, 'subject_no', c.subject_no, 'birth_date', c.birth_date,
			'registered_at', c.registered_at, 'erased_at', c.erased_at,
			'in_difficulty', c.in_difficulty, 'can_express', c.can_express),
		'guardians', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'guardian_id', g.guardian_id, 'relation', g.relation, 'since', g.since)
			       ORDER BY g.guardian_id)
			  FROM childguard.child_guardian g WHERE g.subject_no = c.subject_no), '[]'),
		'consents', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'consent_id', k.consent_id, 'purpose', p.purpose, 'decision', k.decision,
			           'given_by', k.giver_kind, 'guardian_id', k.guardian_id,
			           'notice', k.notice_id, 'notice_version', k.notice_version,
			           'given_at', k.given_at, 'withdrawn_at', k.withdrawn_at,
			           'lapsed_at', k.lapsed_at)
			       ORDER BY k.consent_id)
			  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
			 WHERE k.subject_no = c.subject_no), '[]'),
		'data_held', held,
		'accesses', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'id', l.id, 'at', l.statement_at, 'session_role', l.session_role,
			           'acting_role', l.acting_role, 'client_addr', l.client_addr,
			           'application_name', l.application_name, 'command', l.command,
			           'purpose', l.purpose, 'grant_id', l.grant_id,
			           'relations', l.relations, 'columns', l.columns,
			           'access', (SELECT pg_catalog.jsonb_agg(k) FROM pg_catalog.unnest(ARRAY[
			                          CASE WHEN c.subject_no = ANY (l.children_read) THEN 'read' END,
			                          CASE WHEN c.subject_no = ANY (l.children_denied) THEN 'denied' END,
			                          CASE WHEN c.subject_no = ANY (l.children_written) THEN 'written' END]) k
			                       WHERE k IS NOT NULL),
			           'outcome', l.outcome, 'sqlstate', l.sqlstate)
			       ORDER BY l.id)
			  FROM childguard.access_log l
			 WHERE l.children_read @> ARRAY[c.subject_no]
			    OR l.children_denied @> ARRAY[c.subject_no]
			    OR l.children_written @> ARRAY[c.subject_no]), '[]'),
		'generated_at', pg_catalog.now());
END
$$;
COMMENT ON FUNCTION childguard.child_report(text) IS
	'Measures Art 17, Provisions Art 19/20: everything held about a child (registry entry, guardians, consents, the protected tables and columns holding their data, with counts; no plaintext) and every recorded access to it, as JSON.';

CREATE FUNCTION childguard.breach_impact(roles text[], from_time timestamptz, to_time timestamptz)
	RETURNS TABLE (child_id text, subject_no bigint, guardians text[], statements bigint,
	               first_access timestamptz, last_access timestamptz,
	               relations text[], columns text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_auditor('assess a breach');
	IF roles IS NULL OR from_time IS NULL OR to_time IS NULL THEN
		RAISE EXCEPTION 'roles, from_time and to_time are required' USING ERRCODE = '22004';
	END IF;
	IF to_time < from_time THEN
		RAISE EXCEPTION 'the window ends before it begins' USING ERRCODE = '22023',
			DETAIL = 'to_time is earlier than from_time.';
	END IF;
	RETURN QUERY
	WITH touched AS (
		SELECT l.id, l.statement_at, l.relations, l.columns, s AS subject_no
		  FROM childguard.access_log l
		 CROSS JOIN LATERAL pg_catalog.unnest(l.children_read || l.children_written) s
		 WHERE (l.acting_role = ANY (roles) OR l.session_role = ANY (roles))
		   AND l.statement_at >= from_time AND l.statement_at < to_time)
	SELECT c.child_id, t.subject_no,
	       coalesce((SELECT pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id)
	                   FROM childguard.child_guardian g WHERE g.subject_no = t.subject_no), '{}'),
	       pg_catalog.count(DISTINCT t.id),
	       pg_catalog.min(t.statement_at), pg_catalog.max(t.statement_at),
	       (SELECT pg_catalog.array_agg(DISTINCT r ORDER BY r)
	          FROM touched t2, pg_catalog.unnest(t2.relations) r WHERE t2.subject_no = t.subject_no),
	       (SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x)
	          FROM touched t2, pg_catalog.unnest(t2.columns) x WHERE t2.subject_no = t.subject_no)
	  FROM touched t
	  LEFT JOIN childguard.child c ON c.subject_no = t.subject_no
	 GROUP BY c.child_id, t.subject_no
	 ORDER BY c.child_id, t.subject_no;
END
$$;
COMMENT ON FUNCTION childguard.breach_impact(text[], timestamptz, timestamptz) IS
	'Provisions Art 21: the children whose data the given roles (acting or logged in) read or wrote in [from_time, to_time), with their guardians to notify, how often, when, and which relations and columns.';

REVOKE ALL ON FUNCTION childguard.child_report(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard.breach_impact(text[], timestamptz, timestamptz) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Officers read the log: appointing or dismissing an officer grants or
-- revokes the log, its views, verify_access_log() and the reports.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._officer_audit_privileges() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r name := CASE WHEN TG_OP = 'DELETE' THEN OLD.role_name ELSE NEW.role_name END;
	verb text := CASE WHEN TG_OP = 'DELETE' THEN 'REVOKE' ELSE 'GRANT' END;
	dir text := CASE WHEN TG_OP = 'DELETE' THEN 'FROM' ELSE 'TO' END;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = r) THEN
		RETURN NULL;
	END IF;
	EXECUTE pg_catalog.format('%s SELECT ON childguard.access_log, childguard.access_log_children, '
	                          'childguard.access_summary %s %I', verb, dir, r);
	EXECUTE pg_catalog.format('%s EXECUTE ON FUNCTION childguard.verify_access_log(), '
	                          'childguard.child_report(text), '
	                          'childguard.breach_impact(text[], timestamptz, timestamptz) %s %I',
	                          verb, dir, r);
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._officer_audit_privileges() FROM PUBLIC;
CREATE TRIGGER officer_audit_privileges AFTER INSERT OR DELETE ON childguard.officer
	FOR EACH ROW EXECUTE FUNCTION childguard._officer_audit_privileges();
