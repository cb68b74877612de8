/* childguard 1.0 -> 1.1 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.1'" to load this file. \quit
