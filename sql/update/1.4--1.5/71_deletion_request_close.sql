-- Part 71 (hygiene): closing a deletion request as done needs the child's
-- erasure recorded (ZC560); it may still be refused with its reason.
-- Replaces close_request() (from 1.4).

CREATE OR REPLACE FUNCTION childguard.close_request(request_id bigint, status text, outcome text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	PERFORM childguard._require_officer('close a request');
	IF status IS NULL OR status NOT IN ('done', 'refused') THEN
		RAISE EXCEPTION 'a request closes as done or refused' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('Status %s is not a closing status.', coalesce(pg_catalog.quote_literal(status), 'NULL'));
	END IF;
	r := childguard._request_for_update(request_id);
	IF r.status NOT IN ('open', 'in_progress') THEN
		RAISE EXCEPTION 'request % is already closed', request_id USING ERRCODE = 'ZC502',
			DETAIL = pg_catalog.format('It was closed as %s.', r.status);
	END IF;
	IF status = 'refused' AND coalesce(outcome, '') = '' THEN
		RAISE EXCEPTION 'refusing request % needs a reason', request_id USING ERRCODE = 'ZC503',
			DETAIL = 'The child or guardian is owed the reason a request is refused.',
			HINT = 'Give the reason as outcome.';
	END IF;
	-- Art 20: a deletion request is done only once the child's erasure is
	-- recorded (erase_child(): erased_at set, the erasure ledger's line)
	IF status = 'done' AND r.kind = 'deletion'
	   AND (SELECT c.erased_at IS NULL FROM childguard.child c WHERE c.subject_no = r.subject_no) THEN
		RAISE EXCEPTION 'cannot close deletion request % as done: the child''s data is not erased', request_id
			USING ERRCODE = 'ZC560',
			      DETAIL = 'Art 20: a deletion request is done when the child''s personal information has been erased; no erasure of this child is recorded.',
			      HINT = pg_catalog.format('Erase it with childguard.erase_child(child, ''request'', ''%s''), then close the request; or close it as refused, with the reason.', request_id);
	END IF;
	UPDATE childguard.request x
	   SET status = close_request.status, outcome = close_request.outcome,
	       closed_at = pg_catalog.now(),
	       handled_by = coalesce(x.handled_by, childguard._caller_oid()::regrole)
	 WHERE x.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION childguard.close_request(bigint, text, text) IS
	'An officer closes a request as done or refused (a refusal needs its reason); a deletion request is done only once the child is erased (erase_child(), else ZC560); closing an objection lifts its restriction on the child''s data.';
