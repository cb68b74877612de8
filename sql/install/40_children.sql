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

