-- redteam (round 19): close_account() is an application's only for the
-- children it serves.  Up to 1.4 any enrolled application -- one holding no
-- grant at all -- could close any child's account: every consent of the
-- child withdrawn at once (by that role, in the consent log) and its data
-- erased by the next retention sweep, for children of other applications
-- too.  Now an application must hold an approved grant in force (its own,
-- or one of a role it is a member of) for a purpose under which the child
-- has been given consent; officers (and superusers) as before.  (Replaces the function of
-- sql/update/1.3--1.4: only the permission check changes.)
CREATE OR REPLACE FUNCTION childguard.close_account(child text, reason text DEFAULT '')
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	at timestamptz;
BEGIN
	IF child IS NULL OR child = '' THEN
		RAISE EXCEPTION 'a child must be named' USING ERRCODE = '22023';
	END IF;
	IF NOT (childguard._caller_is_officer() OR EXISTS (
	            SELECT 1 FROM childguard.enrollment e
	             WHERE e.duty = 'application'
	               AND pg_catalog.pg_has_role(childguard._caller_oid(), e.role::oid, 'MEMBER'))) THEN
		RAISE EXCEPTION 'permission denied to close the account of child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'Accounts are closed by an enrolled application or a protection officer.';
	END IF;
	s := childguard._subject_of(child);
	-- an application closes only the accounts of the children it serves
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
		RAISE EXCEPTION 'permission denied to close the account of child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'An application closes the accounts of the children it serves: it needs an approved grant in force for a purpose the child has consented to.',
			      HINT = 'Ask a protection officer to close the account.';
	END IF;
	INSERT INTO childguard.account_closure (subject_no, closed_by, closed_by_role, reason)
	VALUES (s, childguard._caller(), childguard._caller_oid(), coalesce(reason, ''))
	ON CONFLICT (subject_no) DO NOTHING
	RETURNING closed_at INTO at;
	IF at IS NOT NULL THEN
		-- reads stop now, not at the sweep: the consents in force end with
		-- the account (withdrawn by the caller, in the consent log)
		UPDATE childguard.consent c
		   SET withdrawn_at = at, withdrawn_by = childguard._caller_oid()
		 WHERE c.subject_no = s AND c.decision = 'granted'
		   AND c.withdrawn_at IS NULL AND c.lapsed_at IS NULL;
	END IF;
	IF at IS NULL THEN
		RAISE EXCEPTION 'the account of child "%" is already closed', child
			USING ERRCODE = 'ZC301',
			      DETAIL = pg_catalog.format('It was closed at %s.',
			               (SELECT a.closed_at FROM childguard.account_closure a WHERE a.subject_no = s)),
			      HINT = 'The retention sweep erases its data; see childguard.retention_due.';
	END IF;
	RETURN at;
END
$$;
