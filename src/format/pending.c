/*-------------------------------------------------------------------------
 *
 * pending.c
 *	  Text input cannot know which child or column a value is for, so the
 *	  input function encrypts it at once under a key that exists only in
 *	  this process's secure memory (the session key); the seal trigger of
 *	  a protected table then re-encrypts it for its child and category.
 *	  Whatever route a pending value takes instead (a temporary file of a
 *	  sort, a column default, a table that escaped the write guard), the
 *	  bytes are ciphertext, and once the session ends nobody can open them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "childguard_errcodes.h"
#include "pending.h"
#include "secure_mem.h"

typedef struct SessionKey
{
	int			pid;			/* the process this key belongs to */
	uint64		id;				/* random, written into pending envelopes */
	uint8		key[CG_KEY_LEN];
} SessionKey;

static SessionKey *session_key = NULL;

/* This process's session key, made on first use (never inherited). */
static SessionKey *
get_session_key(void)
{
	if (session_key == NULL)
		session_key = cg_secure_alloc(sizeof(SessionKey));
	if (session_key->pid != MyProcPid)
	{
		cg_secure_mem_ensure_locked();
		cg_random_bytes(session_key->key, CG_KEY_LEN);
		cg_random_bytes(&session_key->id, sizeof(session_key->id));
		session_key->pid = MyProcPid;
	}
	return session_key;
}

/* Encrypt freshly entered plaintext under the session key. */
struct varlena *
cg_pending_seal(const char *plain, size_t len)
{
	SessionKey *sk = get_session_key();

	return cg_envelope_seal(sk->key, 0, CG_ENV_PENDING, 0, sk->id, plain, len);
}

/* Decrypt a pending value; only the session that entered it can. */
char *
cg_pending_open(const CgEnvelope *env, size_t *len)
{
	SessionKey *sk = get_session_key();

	if (env->subject != sk->id)
		ereport(ERROR,
				(errcode(ERRCODE_CG_FOREIGN_PENDING_VALUE),
				 errmsg("child data value was entered in another session and never sealed"),
				 errdetail("A value typed in is sealed for a child only when it is written to a protected table; this one was not, and its session has ended."),
				 errhint("Write child data only into tables protected with childguard.protect().")));
	return cg_envelope_open(env, sk->key, len);
}
