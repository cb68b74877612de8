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

CREATE FUNCTION childguard.register_child(child_id text, birth_date date)
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
	IF birth_date IS NULL OR birth_date > CURRENT_DATE THEN
		RAISE EXCEPTION 'invalid birth date for child "%"', child_id
			USING ERRCODE = '22023',
			      DETAIL = 'A birth date is required and cannot be in the future.';
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.child c WHERE c.child_id = register_child.child_id) THEN
		RAISE EXCEPTION 'child "%" is already registered', child_id
			USING ERRCODE = '23505';
	END IF;
	INSERT INTO childguard.child (child_id, birth_date)
	VALUES (register_child.child_id, register_child.birth_date)
	RETURNING subject_no INTO s;
	INSERT INTO childguard.data_key (subject_no, key_version, wrapped_key, master_key_id)
	SELECT s, 1, k.wrapped_key, k.master_key_id
	  FROM childguard._new_data_key(s, 1) k;
	RETURN s;
END
$$;
REVOKE ALL ON FUNCTION childguard.register_child(text, date) FROM PUBLIC;
COMMENT ON FUNCTION childguard.register_child(text, date) IS
	'Register a child (data subject) under the application''s id and create the child''s data key. Returns the subject number.';

-------------------------------------------------------------------------------
-- Protecting tables
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.seal_row() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_seal_row';
COMMENT ON FUNCTION childguard.seal_row() IS
	'Row trigger installed by protect(): seals typed-in child data for the row''s child and the column''s category.';

CREATE FUNCTION childguard.protect(tbl regclass, subject_column name,
								   categories jsonb DEFAULT '{}')
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
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
END
$$;
COMMENT ON FUNCTION childguard.protect(regclass, name, jsonb) IS
	'Protect a table: classify its child_data columns by category and install the trigger that seals each value for the row''s child (named by subject_column). Run as the table''s owner.';

CREATE FUNCTION childguard.unprotect(tbl regclass) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_seal ON %s', tbl);
END
$$;
COMMENT ON FUNCTION childguard.unprotect(regclass) IS
	'Remove the seal trigger.  Stored values stay encrypted; the table then refuses new child data until protected again.';

CREATE VIEW childguard.protected_columns AS
	SELECT c.oid::regclass AS table_name,
	       a.attname AS column_name,
	       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
	       pg_catalog.substring(pg_catalog.format_type(a.atttypid, a.atttypmod),
	                            '\((.*)\)$') AS category,
	       t.tgargs IS NOT NULL AS is_protected,
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
