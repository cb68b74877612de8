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

