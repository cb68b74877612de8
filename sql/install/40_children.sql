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

