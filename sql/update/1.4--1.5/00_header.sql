/* childguard 1.4 -> 1.5 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.5'" to load this file. \quit
