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
