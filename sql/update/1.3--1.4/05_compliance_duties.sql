-- The duties the compliance report checks, one row each.  A capability that
-- enforces a duty registers it here in its own part, with a check function
-- that looks at the live database and says whether the duty holds now:
--
--   CREATE FUNCTION childguard.duty_<name>()
--     RETURNS TABLE (pass boolean, reason text, objects text[])
--
-- returning exactly one row; reason says why (in both cases), objects names
-- what is at fault (tables, roles, purposes, children), empty when it passes.
-- childguard.compliance_report (built on this table) calls each in turn.
CREATE TABLE childguard.compliance_duty (
	duty			text PRIMARY KEY CHECK (duty ~ '^[a-z][a-z0-9_]*$'),
	article			text NOT NULL,
	what_is_checked	text NOT NULL,
	check_function	regprocedure NOT NULL,
	test			text NOT NULL
);
COMMENT ON TABLE childguard.compliance_duty IS
	'The duties childguard.compliance_report checks: the article, what the database checks, the function that checks it live, and the test that breaks and repairs it.';
REVOKE ALL ON childguard.compliance_duty FROM PUBLIC;
