-- Part 10: the decision context fixed per statement; padded envelopes
-- (issue 8, items 1, 3 and 8).  Only comments change: the behaviour is in
-- the module (decision.c, function_settings.c, envelope.c).
COMMENT ON FUNCTION childguard.set_purpose(text, boolean) IS
	'Declare the purpose of this session (or, with is_local, of this transaction); the same as SET childguard.purpose. It takes effect from the next statement: a statement decides under the purpose in force when it started. An unknown purpose, or one the role has no grant for, is an error.';
COMMENT ON FUNCTION childguard.envelope_info(childguard.child_data) IS
	'The public header of a value: format, category, subject number, key version, pending flag, and its size bucket (ciphertext_bytes: the padded size, never the exact length); decrypts nothing.';
