-- Statement texts are masked in place by PostgreSQL's scanner: every
-- constant keeps its delimiters and length, its content becomes '*'
-- (numbers: zeros).  pg_prepared_statements and pg_cursors show the
-- client's text as the server keeps it, so they show the masking.
SHOW childguard.statement_masking;
PREPARE s1 AS SELECT 'a''b' AS quoted, E'\'x\n' AS escaped, $$dollar's$$ AS dollar,
  $tag$a $$ b$tag$ AS tagged, U&'\0041' AS unicode, B'101' AS bits, X'ff' AS hex,
  'con'
  'tinued' AS continued, 1.5e3 AS num, 42 AS int, $1::text AS param /* it's */ -- don't
;
SELECT statement FROM pg_prepared_statements WHERE name = 's1';
-- the statement itself is unchanged
EXECUTE s1('p');
DEALLOCATE s1;
BEGIN;
DECLARE c CURSOR FOR SELECT '小明' AS name, 'it''s' AS t WHERE 1 = 1;
SELECT statement FROM pg_cursors WHERE name = 'c';
FETCH c;
COMMIT;
-- a statement that touches no child data and no user function is not
-- masked by the default (only its log lines are)
SELECT query, 'plain' AS t FROM pg_stat_activity WHERE pid = pg_backend_pid();
-- only a superuser can change the rule, and only in the configuration
SET childguard.statement_masking = off;
-- the scanner masking a text does not repeat the parser's notices
PREPARE s2 AS SELECT 1 AS a_column_alias_that_is_much_longer_than_sixty_three_bytes_in_all_x;
DEALLOCATE s2;
