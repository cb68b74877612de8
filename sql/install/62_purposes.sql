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
