-- Readers of the sealed registry in other parts of 1.4 (part 60 seals
-- childguard.child's birth dates and circumstances): the retention age hook
-- (part 21) reads birth dates, so it reads them opened, through
-- childguard._child_open, like every other function that needs them.
CREATE OR REPLACE FUNCTION childguard._fire_age_hooks(max_children integer DEFAULT 10000) RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	since date;
	c record;
	n integer := 0;
	more boolean := false;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to fire age hooks'
			USING ERRCODE = '42501', HINT = 'The retention worker calls this.';
	END IF;
	INSERT INTO childguard.age_hook_state VALUES (true, CURRENT_DATE - 1) ON CONFLICT DO NOTHING;
	SELECT s.last_run_on INTO since FROM childguard.age_hook_state s FOR UPDATE;
	FOR c IN SELECT x.subject_no, x.child_id FROM childguard._child_open x
	          WHERE x.erased_at IS NULL
	            AND (x.birth_date + '14 years'::interval)::date > since
	            AND (x.birth_date + '14 years'::interval)::date <= CURRENT_DATE
	            AND NOT EXISTS (SELECT 1 FROM childguard.age_hook_fired f WHERE f.subject_no = x.subject_no)
	          ORDER BY x.subject_no LIMIT max_children + 1 LOOP
		IF n = max_children THEN
			more := true;
			EXIT;
		END IF;
		INSERT INTO childguard.age_hook_fired (subject_no) VALUES (c.subject_no);
		PERFORM childguard._call_expiry_hooks(NULL, c.child_id, 'turned_14', 'age14');
		n := n + 1;
	END LOOP;
	IF NOT more THEN
		-- everyone up to today is done: the next run starts after today
		UPDATE childguard.age_hook_state SET last_run_on = CURRENT_DATE - 1;
	END IF;
	RETURN n;
END
$$;
