/* childguard 1.8 -> 1.9 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.9'" to load this file. \quit
