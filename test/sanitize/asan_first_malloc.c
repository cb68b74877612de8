/*-------------------------------------------------------------------------
 *
 * asan_first_malloc.c
 *	  A shim preloaded after libasan into the (uninstrumented) PostgreSQL
 *	  binaries of the sanitizer suite, so that AddressSanitizer initializes
 *	  before any library takes glibc's gettext lock.
 *
 * libasan initializes lazily, on the first malloc.  When it is only
 * preloaded, the first malloc of postgres happens in libgpg-error's
 * constructor, inside bindtextdomain(), with _nl_state_lock held for
 * writing; ASan's initialization calls dlerror(), which calls dcgettext(),
 * which waits for the same lock: the process hangs before main().  This
 * shim interposes the two libc calls that constructors make under a libc
 * lock (bindtextdomain, newlocale) and does one malloc first, outside any
 * lock, then calls the real function.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <locale.h>
#include <stdlib.h>

static void
asan_init_now(void)
{
	static int	done = 0;
	void	   *volatile p;		/* volatile: the pair must not be optimized away */

	if (!done)
	{
		done = 1;
		p = malloc(1);
		free(p);
	}
}

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static char *(*real) (const char *, const char *) = NULL;

	asan_init_now();
	if (real == NULL)
		real = (char *(*) (const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain");
	return real(domainname, dirname);
}

locale_t
newlocale(int category_mask, const char *locale, locale_t base)
{
	static locale_t (*real) (int, const char *, locale_t) = NULL;

	asan_init_now();
	if (real == NULL)
		real = (locale_t (*) (int, const char *, locale_t)) dlsym(RTLD_NEXT, "newlocale");
	return real(category_mask, locale, base);
}
