/*-------------------------------------------------------------------------
 *
 * categories.c
 *	  Names of the child-data categories: the Provisions' personal
 *	  information kinds plus the list of Measures Art 14 (name, address,
 *	  portrait, voice and image, school), used to classify columns and to
 *	  state each purpose's necessity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "categories.h"

/* index = id; ids are stored in data, never renumber */
static const char *const category_names[CG_CATEGORY_MAX + 1] = {
	NULL,
	"name",						/* 1: 姓名 */
	"contact",					/* 2: phone, e-mail, account */
	"address",					/* 3: 家庭住址 */
	"school",					/* 4: 就读学校 */
	"image",					/* 5: 肖像 */
	"voice",					/* 6: 声音影像 */
	"biometric",				/* 7 */
	"health",					/* 8 */
	"disability",				/* 9 */
	"family",					/* 10: family situation */
	"location",					/* 11 */
	"judicial",					/* 12 */
	"other",					/* 13 */
};

bool
cg_category_is_valid(int id)
{
	return id >= CG_CATEGORY_MIN && id <= CG_CATEGORY_MAX;
}

const char *
cg_category_name(int id)
{
	return cg_category_is_valid(id) ? category_names[id] : "?";
}

/* Category id for a name (case-insensitive), or 0. */
int
cg_category_lookup(const char *name)
{
	for (int i = CG_CATEGORY_MIN; i <= CG_CATEGORY_MAX; i++)
		if (pg_strcasecmp(name, category_names[i]) == 0)
			return i;
	return 0;
}

void
cg_report_unknown_category(const char *name)
{
	StringInfoData all;

	initStringInfo(&all);
	for (int i = CG_CATEGORY_MIN; i <= CG_CATEGORY_MAX; i++)
		appendStringInfo(&all, "%s%s", i > CG_CATEGORY_MIN ? ", " : "",
						 category_names[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown child data category \"%s\"", name),
			 errhint("Known categories are: %s.", all.data)));
}

/* The set named by a text[] of category names; unknown names are ignored. */
CgCategorySet
cg_category_set_from_array(Datum text_array)
{
	ArrayType  *arr = DatumGetArrayTypeP(text_array);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	CgCategorySet set = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		int			id;

		if (nulls[i])
			continue;
		id = cg_category_lookup(TextDatumGetCString(elems[i]));
		if (id != 0)
			set |= CG_CATEGORY_BIT(id);
	}
	return set;
}

/* "name, school" for messages. */
char *
cg_category_set_names(CgCategorySet set)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int id = CG_CATEGORY_MIN; id <= CG_CATEGORY_MAX; id++)
		if (set & CG_CATEGORY_BIT(id))
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", cg_category_name(id));
	return buf.len > 0 ? buf.data : pstrdup("none");
}
