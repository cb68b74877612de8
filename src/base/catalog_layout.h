/*-------------------------------------------------------------------------
 *
 * catalog_layout.h
 *	  The registry columns the C reads by number, and the check of them
 *	  against the installed tables (catalog_layout.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CATALOG_LAYOUT_H
#define CHILDGUARD_CATALOG_LAYOUT_H

#include "postgres.h"

#include "utils/relcache.h"

/*
 * Column numbers read by the C, the same in every SQL version from 1.0
 * (later versions only add columns); checked against the installed tables
 * by catalog_layout.c before any numbered read.
 */
#define Anum_cg_child_subject_no	1
#define Anum_cg_child_child_id		2
#define Anum_cg_child_birth_date	3
#define Anum_cg_child_key_version	4
#define Anum_cg_child_erased_at		6
#define Anum_cg_child_in_difficulty	7
#define Anum_cg_child_can_express	8

#define Anum_cg_purpose_purpose_id	1
#define Anum_cg_purpose_purpose		2
#define Anum_cg_purpose_kind		3
#define Anum_cg_purpose_categories	4
#define Anum_cg_purpose_retention	5
#define Anum_cg_purpose_forbidden_in_difficulty 6

#define Anum_cg_assessment_purpose_id	2

#define Anum_cg_consent_consent_id		1
#define Anum_cg_consent_subject_no		2
#define Anum_cg_consent_purpose_id		3
#define Anum_cg_consent_decision		4
#define Anum_cg_consent_giver_kind		5
#define Anum_cg_consent_informed_guardian_id 7
#define Anum_cg_consent_given_at		10
#define Anum_cg_consent_withdrawn_at	12
#define Anum_cg_consent_lapsed_at		13

#define Anum_cg_grant_grant_id		1
#define Anum_cg_grant_grantee		2
#define Anum_cg_grant_purposes		3
#define Anum_cg_grant_categories	4
#define Anum_cg_grant_max_children	5
#define Anum_cg_grant_valid_from	6
#define Anum_cg_grant_valid_until	7
#define Anum_cg_grant_processor		8
#define Anum_cg_grant_approved_at	14
#define Anum_cg_grant_revoked_at	16

#define Anum_cg_request_subject_no		2

#define Anum_cg_data_key_subject_no		1
#define Anum_cg_data_key_key_version	2
#define Anum_cg_data_key_wrapped_key	3
#define Anum_cg_data_key_master_key_id	4

/* 1.4: retention clocks restarted by the sweep (consent.c) */
#define Anum_cg_restart_subject_no	1
#define Anum_cg_restart_purpose_id	2
#define Anum_cg_restart_restarted_at 3

extern void cg_catalog_check_layout(Relation rel);

#endif							/* CHILDGUARD_CATALOG_LAYOUT_H */
