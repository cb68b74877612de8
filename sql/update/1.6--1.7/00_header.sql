/* childguard 1.6 -> 1.7 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.7'" to load this file. \quit
