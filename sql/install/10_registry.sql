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

