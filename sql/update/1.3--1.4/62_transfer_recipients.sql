-- Transfers and processors per recipient (issue 14, item 2; Provisions
-- Art 16, 17).
--
-- A security assessment names the recipient it assessed; a grant names the
-- recipient the data goes to (a processor's grant: the processor itself,
-- by default its role's name).  Every read under a transfer purpose --
-- SELECT, cursor, function, COPY TO -- needs, for each grant the reading
-- role holds in force for it, an assessment of that purpose for that
-- grant's recipient (src/consent/decision.c, ZC531/ZC532); approving a
-- processor's grant needs one for each of its purposes.  One vendor's
-- assessment does not cover another vendor.
--
-- Assessments recorded before 1.4 named no recipient: they stay on record
-- (recipient NULL) and cover no recipient; the update warns about each
-- transfer purpose that has only such assessments, and the officer records
-- them again, naming the recipient (docs/consent.md, "Transfers").

ALTER TABLE childguard.security_assessment ADD COLUMN recipient text
	CONSTRAINT security_assessment_recipient_check
	CHECK (recipient <> '' AND pg_catalog.length(recipient) < 64);
COMMENT ON COLUMN childguard.security_assessment.recipient IS
	'Who receives the data (the processor or third party assessed); NULL: recorded before 1.4, covers no recipient.';

ALTER TABLE childguard.access_grant ADD COLUMN recipient text
	CONSTRAINT access_grant_recipient_check
	CHECK (recipient <> '' AND pg_catalog.length(recipient) < 64);
COMMENT ON COLUMN childguard.access_grant.recipient IS
	'Who receives the data read under this grant (a processor: itself); a transfer purpose''s reads need an assessment for it.';
-- a processor is the recipient of what it processes
UPDATE childguard.access_grant g SET recipient = g.grantee::text
 WHERE g.processor AND g.recipient IS NULL;

DO $upgrade$
DECLARE
	p record;
BEGIN
	FOR p IN SELECT x.purpose FROM childguard.purpose x
	          WHERE x.kind = 'transfer'
	            AND EXISTS (SELECT 1 FROM childguard.security_assessment a WHERE a.purpose_id = x.purpose_id)
	            AND NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
	                             WHERE a.purpose_id = x.purpose_id AND a.recipient IS NOT NULL)
	          ORDER BY 1 LOOP
		RAISE WARNING 'the security assessments of transfer purpose "%" name no recipient', p.purpose
			USING DETAIL = 'From childguard 1.4 each recipient is assessed on its own; reads under this purpose are refused until an assessment names the grant''s recipient.',
			      HINT = 'Record the assessment again with childguard.record_assessment(purpose, summary, assessor, recipient), and name the recipient of each grant with childguard.name_recipient().';
	END LOOP;
END
$upgrade$;

CREATE FUNCTION childguard.record_assessment(purpose text, summary text, assessor text,
											 recipient text)
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
	IF coalesce(recipient, '') = '' OR pg_catalog.length(recipient) > 63 THEN
		RAISE EXCEPTION 'a security assessment must name its recipient'
			USING ERRCODE = 'ZC532',
			      DETAIL = 'Art 16, 17: the assessment is of the party that receives the data (1 to 63 characters); it covers no other.',
			      HINT = 'Pass recipient => the processor or third party assessed.';
	END IF;
	INSERT INTO childguard.security_assessment (purpose_id, summary, assessor, recorded_by, recipient)
	VALUES (childguard._purpose_of(purpose), summary, assessor, childguard._caller(),
	        record_assessment.recipient)
	RETURNING assessment_id INTO a;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION childguard.record_assessment(text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.record_assessment(text, text, text, text) IS
	'Art 16/17: record the security assessment of a purpose for one recipient (a processor or third party); reads under a transfer purpose, and the approval of a processor''s grant, need one for the grant''s recipient.';

-- The 1.0 form named no recipient: refused, with the way forward.
CREATE OR REPLACE FUNCTION childguard.record_assessment(purpose text, summary text, assessor text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_officer('record a security assessment');
	RAISE EXCEPTION 'a security assessment must name its recipient'
		USING ERRCODE = 'ZC532',
		      DETAIL = 'Art 16, 17: from childguard 1.4 an assessment is of one recipient and covers no other.',
		      HINT = 'Call childguard.record_assessment(purpose, summary, assessor, recipient).';
END
$$;
COMMENT ON FUNCTION childguard.record_assessment(text, text, text) IS
	'Refused from 1.4 (ZC532): an assessment names its recipient; use record_assessment(purpose, summary, assessor, recipient).';

CREATE FUNCTION childguard.name_recipient(grant_id bigint, recipient text) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g childguard.access_grant;
BEGIN
	SELECT * INTO g FROM childguard.access_grant x WHERE x.grant_id = name_recipient.grant_id FOR UPDATE;
	IF g.grant_id IS NULL THEN
		RAISE EXCEPTION 'access grant % does not exist', grant_id USING ERRCODE = '22023';
	END IF;
	IF NOT (childguard._caller_is_officer()
	        OR g.requester_role::oid = childguard._caller_oid()) THEN
		RAISE EXCEPTION 'permission denied to name the recipient of access grant %', grant_id
			USING ERRCODE = '42501',
			      HINT = 'The requester of the grant or a protection officer names it.';
	END IF;
	IF g.approved_at IS NOT NULL OR g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'the recipient of access grant % cannot change after its approval', grant_id
			USING ERRCODE = 'ZC532',
			      DETAIL = 'The officer approved the grant for the recipient it named.',
			      HINT = 'Request a new grant for the other recipient.';
	END IF;
	IF coalesce(recipient, '') = '' OR pg_catalog.length(recipient) > 63 THEN
		RAISE EXCEPTION 'a recipient must be named' USING ERRCODE = 'ZC532',
			DETAIL = 'A recipient is 1 to 63 characters.';
	END IF;
	IF g.processor AND recipient <> g.grantee::text THEN
		RAISE EXCEPTION 'the recipient of a processor''s grant is the processor' USING ERRCODE = 'ZC532',
			DETAIL = pg_catalog.format('Grant %s is for processor "%s"; its work cannot be passed to "%s" (Art 16).', grant_id, g.grantee, recipient);
	END IF;
	UPDATE childguard.access_grant x SET recipient = name_recipient.recipient
	 WHERE x.grant_id = name_recipient.grant_id;
END
$$;
REVOKE ALL ON FUNCTION childguard.name_recipient(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.name_recipient(bigint, text) IS
	'Art 16/17: name who receives the data read under a grant, before its approval (the requester or an officer); reads under a transfer purpose need an assessment for that recipient.';

-- A processor's grant names the processor; approval needs an assessment
-- of each of its purposes for its recipient, and a grant's recipient is
-- fixed once approved.
CREATE FUNCTION childguard._grant_recipient_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p text;
BEGIN
	IF NEW.processor AND NEW.recipient IS NULL THEN
		NEW.recipient := NEW.grantee::text;
	END IF;
	IF TG_OP = 'UPDATE' AND OLD.approved_at IS NOT NULL
	   AND NEW.recipient IS DISTINCT FROM OLD.recipient THEN
		RAISE EXCEPTION 'the recipient of access grant % cannot change after its approval', NEW.grant_id
			USING ERRCODE = 'ZC532';
	END IF;
	IF NEW.processor AND NEW.approved_at IS NOT NULL
	   AND (TG_OP = 'INSERT' OR OLD.approved_at IS NULL) THEN
		FOREACH p IN ARRAY NEW.purposes LOOP
			IF NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
			                JOIN childguard.purpose x USING (purpose_id)
			               WHERE x.purpose = p AND a.recipient = NEW.recipient) THEN
				RAISE EXCEPTION 'processing for purpose "%" has no security assessment for recipient "%"', p, NEW.recipient
					USING ERRCODE = 'ZC531',
					      DETAIL = 'Art 16: each processor is assessed on its own; another processor''s assessment does not cover it.',
					      HINT = 'Record it with childguard.record_assessment(purpose, summary, assessor, recipient).';
			END IF;
		END LOOP;
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION childguard._grant_recipient_check() FROM PUBLIC;
COMMENT ON FUNCTION childguard._grant_recipient_check() IS
	'Trigger on childguard.access_grant: a processor''s grant names the processor; its approval needs an assessment per purpose for that recipient; an approved grant''s recipient is fixed.';
CREATE TRIGGER access_grant_recipient BEFORE INSERT OR UPDATE ON childguard.access_grant
	FOR EACH ROW EXECUTE FUNCTION childguard._grant_recipient_check();
ALTER TABLE childguard.access_grant ENABLE ALWAYS TRIGGER access_grant_recipient;

CREATE OR REPLACE VIEW childguard.purposes AS
	SELECT p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty,
	       p.description, p.defined_at, p.defined_by,
	       EXISTS (SELECT 1 FROM childguard.security_assessment a
	                WHERE a.purpose_id = p.purpose_id) AS assessed,
	       ARRAY(SELECT DISTINCT a.recipient FROM childguard.security_assessment a
	              WHERE a.purpose_id = p.purpose_id AND a.recipient IS NOT NULL
	              ORDER BY 1) AS assessed_recipients
	  FROM childguard.purpose p;

-------------------------------------------------------------------------------
-- A processor's grant ended: its deletion duty (Art 16: the processor
-- returns or deletes what it processed when the entrustment ends).
-------------------------------------------------------------------------------

CREATE TABLE childguard.processor_deletion (
	grant_id		bigint PRIMARY KEY REFERENCES childguard.access_grant (grant_id),
	done_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	done_by			name NOT NULL,
	note			text NOT NULL DEFAULT ''
);
COMMENT ON TABLE childguard.processor_deletion IS
	'Art 16: the deletion duty of an ended processor grant, recorded as done (by the retention worker through the erasure engine, reason processor_ended, or by an officer).';
REVOKE ALL ON childguard.processor_deletion FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.processor_deletion', '');

CREATE VIEW childguard.processor_deletion_due AS
	SELECT g.grant_id, g.recipient, g.grantee_role AS grantee,
	       CASE WHEN g.revoked_at IS NOT NULL AND g.revoked_at < g.valid_until
	            THEN g.revoked_at ELSE g.valid_until END AS ended_at,
	       g.purposes,
	       coalesce(g.categories, ARRAY(SELECT DISTINCT c FROM childguard.purpose p,
	                                    pg_catalog.unnest(p.categories) c
	                                   WHERE p.purpose = ANY (g.purposes) ORDER BY 1)) AS categories,
	       ARRAY(SELECT DISTINCT t.table_name FROM childguard.protected_columns t
	              WHERE t.is_protected
	                AND t.category = ANY (coalesce(g.categories, ARRAY(
	                        SELECT c FROM childguard.purpose p, pg_catalog.unnest(p.categories) c
	                         WHERE p.purpose = ANY (g.purposes))))
	              ORDER BY 1) AS tables,
	       ARRAY(SELECT DISTINCT s FROM childguard.access_log l,
	                    pg_catalog.unnest(l.children_read || l.children_written) s
	              WHERE l.grant_id = g.grant_id ORDER BY 1) AS children
	  FROM childguard.access_grant g
	 WHERE g.processor AND g.approved_at IS NOT NULL
	   AND (g.revoked_at IS NOT NULL OR g.valid_until <= pg_catalog.now())
	   AND NOT EXISTS (SELECT 1 FROM childguard.processor_deletion d WHERE d.grant_id = g.grant_id);
REVOKE ALL ON childguard.processor_deletion_due FROM PUBLIC;
COMMENT ON VIEW childguard.processor_deletion_due IS
	'Art 16: processor grants that have ended (revoked or expired) whose deletion is not yet recorded: the recipient, when it ended, the purposes and categories, the protected tables holding those categories, and the children (subject numbers) read or written under the grant. The retention worker erases through the erasure engine (reason processor_ended) and records it with record_processor_deletion().';

CREATE FUNCTION childguard.record_processor_deletion(grant_id bigint, note text DEFAULT '')
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to record a processor''s deletion'
			USING ERRCODE = '42501',
			      HINT = 'The retention worker (extension owner) or a protection officer records it.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM childguard.processor_deletion_due d
	                WHERE d.grant_id = record_processor_deletion.grant_id) THEN
		RAISE EXCEPTION 'access grant % has no deletion due', grant_id
			USING ERRCODE = '22023',
			      DETAIL = 'Only an approved processor grant that has ended, and whose deletion is not yet recorded, has one.';
	END IF;
	INSERT INTO childguard.processor_deletion (grant_id, done_by, note)
	VALUES (record_processor_deletion.grant_id, childguard._caller(), coalesce(note, ''));
END
$$;
REVOKE ALL ON FUNCTION childguard.record_processor_deletion(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.record_processor_deletion(bigint, text) IS
	'Art 16: record that an ended processor grant''s data has been deleted (the retention worker, or an officer); it leaves processor_deletion_due.';

-- Compliance duty (Provisions Art 16, 17): every grant in force that lets
-- data leave -- a processor's, or any grant covering a transfer purpose --
-- names its recipient, and that recipient is assessed for each such
-- purpose; ended processor grants have their deletion recorded.
CREATE FUNCTION childguard.duty_transfer_assessed_per_recipient()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	faults text[];
BEGIN
	SELECT ARRAY(
		SELECT DISTINCT pg_catalog.format('grant %s purpose %s recipient %s', g.grant_id, p.purpose,
		                                  coalesce(g.recipient, '(none)'))
		  FROM childguard.access_grant g
		  JOIN childguard.purpose p ON p.purpose = ANY (g.purposes)
		 WHERE g.approved_at IS NOT NULL AND g.revoked_at IS NULL
		   AND g.valid_until > pg_catalog.now()
		   AND (p.kind = 'transfer' OR g.processor)
		   AND (g.recipient IS NULL OR NOT EXISTS (
		            SELECT 1 FROM childguard.security_assessment a
		             WHERE a.purpose_id = p.purpose_id AND a.recipient = g.recipient))
		 ORDER BY 1) INTO faults;
	IF pg_catalog.cardinality(faults) > 0 THEN
		RETURN QUERY SELECT false,
			pg_catalog.format('%s grant purposes in force let data leave without a security assessment of their recipient (Art 16, 17)',
			                  pg_catalog.cardinality(faults)), faults;
		RETURN;
	END IF;
	RETURN QUERY SELECT true,
		'every grant in force for a transfer purpose or a processor names its recipient, and the recipient is assessed for each of its purposes'::text,
		'{}'::text[];
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_transfer_assessed_per_recipient() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_transfer_assessed_per_recipient() IS
	'Compliance duty transfer_assessed_per_recipient (Provisions Art 16, 17): each grant in force for a transfer purpose or a processor names a recipient assessed for that purpose.';
INSERT INTO childguard.compliance_duty VALUES
	('transfer_assessed_per_recipient', 'Provisions Art 16, 17',
	 'every approved grant in force for a transfer purpose, and every processor''s grant, names its recipient, and a security assessment of that purpose for that recipient is on record (reads under a transfer purpose are refused otherwise)',
	 'childguard.duty_transfer_assessed_per_recipient()'::regprocedure, 'sql/transfers.sql');
