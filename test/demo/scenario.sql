-- childguard demo: a children's tutoring app.  Everything below is plain SQL
-- an application, its protection officers and its DBA would run; the
-- database does the protecting.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = warning;

\echo '== 1. Install; two protection officers (two-person rule) and the app''s role =='
CREATE EXTENSION childguard CASCADE;
CREATE ROLE dpo;  CREATE ROLE dpo2;  CREATE ROLE tutor_app;  CREATE ROLE consent_desk;
SELECT childguard.appoint_officer('dpo');
SELECT childguard.appoint_officer('dpo2');
SELECT childguard.enroll_application('tutor_app');
-- the consent desk records guardians' decisions; it reads no child data
SELECT childguard.enroll_consent_recorder('consent_desk');
GRANT CREATE ON SCHEMA public TO tutor_app;

\echo '== 2. The officer defines the purpose and publishes the notice (Art 10: seven items) =='
SET ROLE dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
SELECT childguard.publish_notice('privacy', '{tutoring}',
       purpose_method_scope    => 'name and school, to run tutoring classes',
       storage_location_period => 'Beijing; 2 years; then deleted',
       security_measures       => 'AES-256-GCM per child, access approved and logged',
       refusal_consequences    => 'the child cannot join online classes',
       complaint_channels      => 'privacy@tutor.example, 010-12345678',
       correction_deletion     => 'in the app, or by writing to the officer',
       other_matters           => 'none');
\echo '-- a notice missing an item cannot be published:'
SELECT childguard.publish_notice('draft', '{tutoring}', 'x', 'x', 'x', 'x', 'x', 'x', '');
RESET ROLE;

\echo '== 3. The app registers children and guardians; the consent desk records consent =='
SET ROLE tutor_app;
SELECT childguard.register_child('42', birth_date => '2015-05-01') AS subject_no;
SELECT childguard.register_child('43', birth_date => '2018-09-10') AS subject_no;
SELECT childguard.register_guardian('mum-42', child => '42', relation => 'mother');
SELECT childguard.register_guardian('dad-43', child => '43', relation => 'father');
SET ROLE consent_desk;
\echo '-- a child under 14 cannot consent alone:'
SELECT childguard.record_consent(child => '42', purpose => 'tutoring', notice => 'privacy', given_by => '42');
SELECT childguard.record_consent(child => '42', purpose => 'tutoring', notice => 'privacy', given_by => 'mum-42');
SELECT childguard.record_consent(child => '43', purpose => 'tutoring', notice => 'privacy', given_by => 'dad-43');
SET ROLE tutor_app;

\echo '== 4. Staff access: requested by the app, approved by an officer (never the requester) =='
SELECT childguard.request_access('tutor_app', purposes => '{tutoring}',
                                 valid_until => now() + interval '1 year') AS grant_id \gset
RESET ROLE;
SET ROLE dpo;
SELECT childguard.approve_access(:grant_id);
RESET ROLE;

\echo '== 5. The app''s table; protect() classifies columns, seals values, adds row security =='
SET ROLE tutor_app;
CREATE TABLE students (id bigint PRIMARY KEY,
                       name   childguard.child_data,
                       school childguard.child_data,
                       grade  int);
SELECT childguard.protect('students', subject_column => 'id',
                          categories => '{"name": "name", "school": "school"}');
SELECT table_name, column_name, category, is_protected FROM childguard.protected_columns;

\echo '== 6. With its purpose declared, the app writes and reads plaintext: unchanged SQL =='
SET childguard.purpose = 'tutoring';
INSERT INTO students VALUES (42, '小明', '第一小学', 3), (43, '李华', '实验小学', 1);
SELECT id, name, school, grade FROM students ORDER BY id;
SELECT id FROM students WHERE name = '小明';

\echo '== 7. What is stored: ciphertext bound to the child and category =='
RESET ROLE;
RESET childguard.purpose;
SELECT id, left(name::text, 40) || '…' AS stored_name FROM students ORDER BY id;
SELECT id, e.category, e.subject_no, e.ciphertext_bytes FROM students, childguard.envelope_info(name) e ORDER BY id;

\echo '== 8. The guardian withdraws consent: the very next read is denied =='
\echo '-- the app, which reads, may not enter consent decisions:'
SET ROLE tutor_app;
SELECT childguard.record_consent(child => '42', purpose => 'tutoring', notice => 'privacy', given_by => 'mum-42');
SET ROLE consent_desk;
SELECT childguard.withdraw_consent(child => '42', purpose => 'tutoring', given_by => 'mum-42');
SET ROLE tutor_app;
SET childguard.purpose = 'tutoring';
\echo '-- the app no longer sees child 42 at all (row-level security, forced on the owner):'
SELECT id, name, school FROM students ORDER BY id;
\echo '-- and cannot collect more of its data:'
UPDATE students SET name = '小明明' WHERE id = 42;
INSERT INTO students VALUES (42, '小明明', NULL, 3) ON CONFLICT (id) DO UPDATE SET name = excluded.name;
RESET ROLE;

\echo '== 9. What the database refuses, whoever asks =='
\echo '-- a superuser (bypasses row security) with a purpose but no approved grant:'
SET childguard.purpose = 'tutoring';
\echo '-- data the purpose does not need (Art 11):'
SET ROLE tutor_app;
SET childguard.purpose = 'tutoring';
ALTER TABLE students ADD COLUMN health childguard.child_data(health);
UPDATE students SET health = '哮喘' WHERE id = 43;
\echo '-- a bulk export with COPY outside an assessed transfer purpose (Art 17):'
COPY students TO STDOUT;
\echo '-- copying child data into a table that is not protected:'
CREATE TABLE export AS SELECT * FROM students;
\echo '-- a stored value altered by one byte is detected, never returned as garbage:'
CREATE TEMP TABLE t AS SELECT childguard.envelope(name) AS e FROM students WHERE id = 43;
SELECT ('cg1:' || translate(encode(set_byte(decode(substr(e, 5), 'base64'), 40,
        get_byte(decode(substr(e, 5), 'base64'), 40) # 1), 'base64'), E'\n', ''))::childguard.child_data::text
  FROM t;
\echo '-- the table owner attaches code that would see plaintext (a trigger): refused, even for a superuser:'
CREATE FUNCTION leak() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', NEW.name::text; RETURN NEW; END $$;
CREATE TRIGGER leak AFTER INSERT ON students FOR EACH ROW EXECUTE FUNCTION leak();
\echo '-- a function may not switch the purpose inside a statement:'
CREATE FUNCTION other_purpose() RETURNS int LANGUAGE sql SET childguard.purpose = 'marketing' AS 'SELECT 1';
RESET ROLE;

\echo '== 10. For the inspector: the consent history and the grants =='
SELECT child_id, purpose, decision, given_by, notice_version, given_at::date, state FROM childguard.consents ORDER BY consent_id;
SELECT grant_id, grantee, purposes, requested_by, approved_by, status FROM childguard.access_grants;
SELECT * FROM childguard.master_key_status;

\echo '== 11. The audit trail: one record per statement that touched child data, denied ones too =='
SELECT childguard.audit_wait();
SET ROLE dpo;
SELECT id, acting_role, command, purpose, outcome, sqlstate,
       children_read, children_denied, children_written
  FROM childguard.access_log ORDER BY id;
SELECT * FROM childguard.verify_access_log();
RESET ROLE;
\echo '-- nobody can edit or delete a record, not even a superuser:'
UPDATE childguard.access_log SET outcome = 'allowed';
DELETE FROM childguard.access_log;
\echo '-- what is held about child 42 and who accessed it (Art 19/20, D-Art 17):'
SET ROLE dpo;
SELECT key FROM jsonb_each(childguard.child_report('42')) ORDER BY key;
\echo '-- whom to notify if tutor_app''s access was breached (Art 21):'
SELECT child_id, guardians, statements
  FROM childguard.breach_impact('{tutor_app}', now() - interval '1 hour', now() + interval '1 hour');
RESET ROLE;
