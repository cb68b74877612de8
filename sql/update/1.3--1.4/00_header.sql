/* childguard 1.3 -> 1.4 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.4'" to load this file. \quit
