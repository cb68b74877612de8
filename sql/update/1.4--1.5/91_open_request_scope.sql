-- redteam (round 19): open_request() by an application only about the
-- children it serves.  Up to 1.4 any enrolled application, one holding no
-- grant included, recorded requests about any child under the child's own
-- id as requester: an objection about every child denied every
-- application's reads until an officer closed each one (and deletion
-- requests, in the child's name, went to the officers).  Now the same rule
-- as close_account() (part 90): an approved grant in force for a purpose
-- the child has consented to; officers and superusers as before.
-- (Replaces the function of sql/update/1.3--1.4: only this check is new.)
CREATE OR REPLACE FUNCTION childguard.open_request(child text, kind text, received_at timestamptz,
										requested_by text, detail text DEFAULT '')
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	who text;
	due interval;
	id bigint;
BEGIN
	IF child IS NULL OR kind IS NULL OR received_at IS NULL OR requested_by IS NULL THEN
		RAISE EXCEPTION 'child, kind, received_at and requested_by are required' USING ERRCODE = '22004';
	END IF;
	IF kind NOT IN ('query', 'correction', 'deletion', 'objection') THEN
		RAISE EXCEPTION 'unknown request kind "%"', kind USING ERRCODE = '22023',
			HINT = 'A request is a query, correction, deletion or objection.';
	END IF;
	IF received_at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a request cannot be received in the future' USING ERRCODE = '22023',
			DETAIL = 'received_at is after the current time.';
	END IF;
	s := childguard._subject_of(child);
	IF requested_by = child THEN
		who := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	               WHERE g.subject_no = s AND g.guardian_id = open_request.requested_by) THEN
		who := 'guardian';
	ELSE
		RAISE EXCEPTION '"%" may not make a request about child "%"', requested_by, child
			USING ERRCODE = 'ZC501',
			      DETAIL = 'Provisions Art 19/20 and Measures Art 17 give these rights to the child and the child''s guardians only; the requester is neither the child''s id nor a registered guardian of the child.',
			      HINT = 'Give the child''s id or a guardian id registered with register_guardian().';
	END IF;
	-- an application records requests about the children it serves only
	IF NOT childguard._caller_is_officer()
	   AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = childguard._caller_oid())
	   AND NOT EXISTS (
	        SELECT 1 FROM childguard.consent c
	          JOIN childguard.purpose p ON p.purpose_id = c.purpose_id
	          JOIN childguard.access_grant g ON p.purpose = ANY (g.purposes)
	         WHERE c.subject_no = s AND c.decision = 'granted'
	           AND g.approved_at IS NOT NULL AND g.revoked_at IS NULL
	           AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
	           AND g.grantee_role IS NOT NULL
	           AND pg_catalog.pg_has_role(childguard._caller_oid(), g.grantee_role::oid, 'MEMBER')) THEN
		RAISE EXCEPTION 'permission denied to record a request about child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'An application records requests about the children it serves: it needs an approved grant in force for a purpose the child has consented to.',
			      HINT = 'Ask a protection officer to record the request.';
	END IF;
	due := childguard._deadline_period('request_' || kind);
	INSERT INTO childguard.request (subject_no, kind, received_at, requested_by, requester_kind,
	                                detail, due_at, opened_by)
	VALUES (s, kind, received_at, requested_by, who, coalesce(detail, ''), received_at + due,
	        childguard._caller_oid()::regrole)
	RETURNING request.request_id INTO id;
	RETURN id;
END
$$;
