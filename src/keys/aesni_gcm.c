/*-------------------------------------------------------------------------
 *
 * aesni_gcm.c
 *	  AES-256-GCM for small values without OpenSSL 3's per-call overhead,
 *	  on the CPU's AES and carry-less multiply instructions.
 *
 * Through EVP, every value pays for the provider's parameter handling
 * (OSSL_PARAM_locate and its string compares, EVP_CIPHER_CTX_ctrl for the
 * tag, the IV length asked for on every init): about 0.4 us a value here,
 * twice what AES-GCM itself costs for a short name or phone number.
 * Until 1.8 this file kept GCM's mode in libcrypto's low-level GCM128
 * interface; for the values childguard seals (tens of bytes) that still
 * cost about 1,100 instructions a value, mostly per-call set-up
 * (CRYPTO_gcm128_setiv, _aad, _finish through function pointers) and, at
 * every new key -- every child of a scan, every unwrap's data key --
 * CRYPTO_gcm128_init's table of sixteen powers of H.  Now the whole mode
 * is here: the AES-256 block cipher on AES-NI, GHASH one block at a time
 * by carry-less multiplication (PCLMULQDQ) with the hash key H only (no
 * table: keying is the AES schedule and one block), the counter blocks
 * four at a time.  Constant time, no tables.  The format is unchanged:
 * standard AES-256-GCM (NIST SP 800-38D), 96-bit nonce, 128-bit tag.  A
 * long value pays one multiplication per 16 bytes (libcrypto's aggregated
 * GHASH would be about twice as fast per byte beyond a few hundred bytes;
 * child data is short).
 *
 * Used only on x86-64 CPUs with AES-NI, PCLMULQDQ and SSSE3/SSE4.1, and
 * only after a known-answer test against EVP passed in this process (or,
 * from 1.9, in the postmaster it was forked from: cg_crypto_preload)
 * (cg_fast_gcm_available); otherwise crypto.c stays on EVP.
 *
 * Key material: the AES key schedule and H are kept in secure memory
 * (locked, not dumped, wiped at exit) and wiped when the key changes or is
 * forgotten; nothing key-derived is allocated elsewhere.  On opening, the
 * tag is checked (in constant time) BEFORE anything is decrypted: a value
 * that fails authentication never has a byte of plaintext written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "port/pg_bswap.h"

#include "aesni_gcm.h"
#include "secure_mem.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define CG_HAVE_AESNI 1
#include <smmintrin.h>
#include <tmmintrin.h>
#include <wmmintrin.h>
#endif

#define AES256_ROUNDS		14
#define SCHEDULE_BYTES		((AES256_ROUNDS + 1) * 16)
/* the schedule, then H (byte-reflected, as GHASH multiplies it) */
#define KEYED_BYTES			(SCHEDULE_BYTES + 16)

struct CgFastGcm
{
	uint8	   *schedule;		/* secure memory, 16-byte aligned: KEYED_BYTES */
	bool		keyed;
};

static int	availability = -1;	/* -1 unknown, 0 no, 1 yes */

/* the process's states (crypto.c: seal, open, unwrap), for its life */
static CgFastGcm states[3];
static int	states_used = 0;

#ifdef CG_HAVE_AESNI

#define AESNI_TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1")))

AESNI_TARGET static inline __m128i
expand_a(__m128i t1, __m128i t2)
{
	__m128i		t4;

	t2 = _mm_shuffle_epi32(t2, 0xff);
	t4 = _mm_slli_si128(t1, 4);
	t1 = _mm_xor_si128(t1, t4);
	t4 = _mm_slli_si128(t4, 4);
	t1 = _mm_xor_si128(t1, t4);
	t4 = _mm_slli_si128(t4, 4);
	t1 = _mm_xor_si128(t1, t4);
	return _mm_xor_si128(t1, t2);
}

AESNI_TARGET static inline __m128i
expand_b(__m128i t1, __m128i t3)
{
	__m128i		t2,
				t4;

	t4 = _mm_aeskeygenassist_si128(t1, 0x0);
	t2 = _mm_shuffle_epi32(t4, 0xaa);
	t4 = _mm_slli_si128(t3, 4);
	t3 = _mm_xor_si128(t3, t4);
	t4 = _mm_slli_si128(t4, 4);
	t3 = _mm_xor_si128(t3, t4);
	t4 = _mm_slli_si128(t4, 4);
	t3 = _mm_xor_si128(t3, t4);
	return _mm_xor_si128(t3, t2);
}

/* The AES-256 encryption key schedule (FIPS-197), on AES-NI. */
AESNI_TARGET static void
aes256_expand(const uint8 *key, uint8 *schedule)
{
	__m128i    *ks = (__m128i *) schedule;
	__m128i		t1 = _mm_loadu_si128((const __m128i *) key);
	__m128i		t3 = _mm_loadu_si128((const __m128i *) (key + 16));

	ks[0] = t1;
	ks[1] = t3;
#define CG_EXPAND_STEP(i, rcon) \
	do { \
		t1 = expand_a(t1, _mm_aeskeygenassist_si128(t3, rcon)); \
		ks[i] = t1; \
		if ((i) + 1 <= AES256_ROUNDS) \
		{ \
			t3 = expand_b(t1, t3); \
			ks[(i) + 1] = t3; \
		} \
	} while (0)
	CG_EXPAND_STEP(2, 0x01);
	CG_EXPAND_STEP(4, 0x02);
	CG_EXPAND_STEP(6, 0x04);
	CG_EXPAND_STEP(8, 0x08);
	CG_EXPAND_STEP(10, 0x10);
	CG_EXPAND_STEP(12, 0x20);
	t1 = expand_a(t1, _mm_aeskeygenassist_si128(t3, 0x40));
	ks[14] = t1;
#undef CG_EXPAND_STEP
	/* no key-derived value stays in a register or on the stack we can reach */
	t1 = t3 = _mm_setzero_si128();
	(void) t1;
	(void) t3;
}

AESNI_TARGET static inline __m128i
aes256_encrypt_block(__m128i b, const __m128i *ks)
{
	b = _mm_xor_si128(b, ks[0]);
	for (int r = 1; r < AES256_ROUNDS; r++)
		b = _mm_aesenc_si128(b, ks[r]);
	return _mm_aesenclast_si128(b, ks[AES256_ROUNDS]);
}

/* GHASH works on blocks with their bytes reversed (GCM's bit order). */
AESNI_TARGET static inline __m128i
bswap128(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7,
											8, 9, 10, 11, 12, 13, 14, 15));
}

/*
 * a * b in GF(2^128) with GCM's polynomial, both byte-reflected: the
 * 256-bit carry-less product (four PCLMULQDQ, Karatsuba not needed at one
 * block), shifted left by one bit (the reflected representation), then
 * reduced modulo x^128 + x^7 + x^2 + x + 1 (Intel's "Carry-Less
 * Multiplication and Its Usage for Computing the GCM Mode", algorithms
 * 2-5).
 */
AESNI_TARGET static inline __m128i
gf128_mul(__m128i a, __m128i b)
{
	__m128i		lo = _mm_clmulepi64_si128(a, b, 0x00);
	__m128i		mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10),
									_mm_clmulepi64_si128(a, b, 0x01));
	__m128i		hi = _mm_clmulepi64_si128(a, b, 0x11);
	__m128i		t7,
				t8,
				t9,
				t2;

	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	/* shift the 256-bit product left by one bit */
	t7 = _mm_srli_epi32(lo, 31);
	t8 = _mm_srli_epi32(hi, 31);
	lo = _mm_slli_epi32(lo, 1);
	hi = _mm_slli_epi32(hi, 1);
	t9 = _mm_srli_si128(t7, 12);
	t8 = _mm_slli_si128(t8, 4);
	t7 = _mm_slli_si128(t7, 4);
	lo = _mm_or_si128(lo, t7);
	hi = _mm_or_si128(hi, t8);
	hi = _mm_or_si128(hi, t9);
	/* reduce: first phase */
	t7 = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)),
					   _mm_slli_epi32(lo, 25));
	t8 = _mm_srli_si128(t7, 4);
	lo = _mm_xor_si128(lo, _mm_slli_si128(t7, 12));
	/* second phase */
	t2 = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)),
					   _mm_srli_epi32(lo, 7));
	t2 = _mm_xor_si128(t2, t8);
	lo = _mm_xor_si128(lo, t2);
	return _mm_xor_si128(hi, lo);
}

/* GHASH state x absorbing len bytes (the last block zero-padded). */
AESNI_TARGET static inline __m128i
ghash_absorb(__m128i x, __m128i h, const uint8 *p, size_t len)
{
	for (; len >= 16; len -= 16, p += 16)
		x = gf128_mul(_mm_xor_si128(x, bswap128(_mm_loadu_si128((const __m128i *) p))), h);
	if (len > 0)
	{
		/* aad and ciphertext only: nothing secret passes through last */
		uint8		last[16] = {0};

		for (size_t i = 0; i < len; i++)
			last[i] = p[i];
		x = gf128_mul(_mm_xor_si128(x, bswap128(_mm_loadu_si128((const __m128i *) last))), h);
	}
	return x;
}

/*
 * The tag before its encryption: GHASH_H(aad || pad || c || pad ||
 * [len(aad)]64 || [len(c)]64), as a byte-ordered block.
 */
AESNI_TARGET static inline __m128i
ghash_tag(__m128i h, const uint8 *aad, size_t aadlen, const uint8 *c, size_t len)
{
	__m128i		x = _mm_setzero_si128();
	__m128i		lens = _mm_set_epi64x((long long) ((uint64) aadlen * 8),
									  (long long) ((uint64) len * 8));

	x = ghash_absorb(x, h, aad, aadlen);
	x = ghash_absorb(x, h, c, len);
	/* the length block, already in GHASH's (reflected) order */
	x = gf128_mul(_mm_xor_si128(x, lens), h);
	return bswap128(x);
}

/* The counter block for counter value ctr: ivec's first 12 bytes, ctr big-endian. */
AESNI_TARGET static inline __m128i
counter_block(__m128i base, uint32 ctr)
{
	return _mm_insert_epi32(base, (int) pg_bswap32(ctr), 3);
}

/*
 * Counter mode over blocks full blocks from the counter block ivec, its
 * low 32 bits a big-endian counter (GCM's inc32; ivec itself is not
 * changed).  Four blocks at a time in registers, so long values keep the
 * AES unit busy.
 */
AESNI_TARGET static void
aesni_ctr32(const unsigned char *in, unsigned char *out, size_t blocks,
			const void *key, const unsigned char ivec[16])
{
	const __m128i *ks = (const __m128i *) key;
	__m128i		base = _mm_loadu_si128((const __m128i *) ivec);
	uint32		ctr = pg_bswap32((uint32) _mm_extract_epi32(base, 3));

	for (; blocks >= 4; blocks -= 4, ctr += 4, in += 64, out += 64)
	{
		__m128i		c0 = _mm_xor_si128(counter_block(base, ctr), ks[0]);
		__m128i		c1 = _mm_xor_si128(counter_block(base, ctr + 1), ks[0]);
		__m128i		c2 = _mm_xor_si128(counter_block(base, ctr + 2), ks[0]);
		__m128i		c3 = _mm_xor_si128(counter_block(base, ctr + 3), ks[0]);

		for (int r = 1; r < AES256_ROUNDS; r++)
		{
			c0 = _mm_aesenc_si128(c0, ks[r]);
			c1 = _mm_aesenc_si128(c1, ks[r]);
			c2 = _mm_aesenc_si128(c2, ks[r]);
			c3 = _mm_aesenc_si128(c3, ks[r]);
		}
		c0 = _mm_aesenclast_si128(c0, ks[AES256_ROUNDS]);
		c1 = _mm_aesenclast_si128(c1, ks[AES256_ROUNDS]);
		c2 = _mm_aesenclast_si128(c2, ks[AES256_ROUNDS]);
		c3 = _mm_aesenclast_si128(c3, ks[AES256_ROUNDS]);
		_mm_storeu_si128((__m128i *) out,
						 _mm_xor_si128(c0, _mm_loadu_si128((const __m128i *) in)));
		_mm_storeu_si128((__m128i *) (out + 16),
						 _mm_xor_si128(c1, _mm_loadu_si128((const __m128i *) (in + 16))));
		_mm_storeu_si128((__m128i *) (out + 32),
						 _mm_xor_si128(c2, _mm_loadu_si128((const __m128i *) (in + 32))));
		_mm_storeu_si128((__m128i *) (out + 48),
						 _mm_xor_si128(c3, _mm_loadu_si128((const __m128i *) (in + 48))));
	}
	for (; blocks > 0; blocks--, ctr++, in += 16, out += 16)
	{
		__m128i		c0 = aes256_encrypt_block(counter_block(base, ctr), ks);

		_mm_storeu_si128((__m128i *) out,
						 _mm_xor_si128(c0, _mm_loadu_si128((const __m128i *) in)));
	}
}

/*
 * Counter mode over len bytes from the counter block j (the first counter
 * used: J0 + 1); the tail's keystream XORed through a wiped buffer.
 */
AESNI_TARGET static void
ctr_crypt(const __m128i *ks, __m128i j, const uint8 *in, uint8 *out, size_t len)
{
	uint8		ivec[16];
	size_t		blocks = len / 16;
	size_t		tail = len % 16;

	_mm_storeu_si128((__m128i *) ivec, j);
	if (blocks > 0)
		aesni_ctr32(in, out, blocks, ks, ivec);
	if (tail > 0)
	{
		uint32		ctr = pg_bswap32((uint32) _mm_extract_epi32(j, 3)) + (uint32) blocks;
		uint8		buf[16] pg_attribute_aligned(16);

		_mm_storeu_si128((__m128i *) buf,
						 aes256_encrypt_block(counter_block(j, ctr), ks));
		for (size_t i = 0; i < tail; i++)
			out[blocks * 16 + i] = in[blocks * 16 + i] ^ buf[i];
		/* the keystream block wiped: one store the compiler must keep */
		*(volatile __m128i *) buf = _mm_setzero_si128();
	}
}

/* J0 for a 96-bit nonce: nonce || 00000001 */
AESNI_TARGET static inline __m128i
j0_of(const uint8 *nonce)
{
	uint8		b[16];

	memcpy(b, nonce, CG_FAST_GCM_NONCE_LEN);
	b[12] = b[13] = b[14] = 0;
	b[15] = 1;
	return _mm_loadu_si128((const __m128i *) b);
}

/* Seal under the keyed schedule ks and hash key h. */
AESNI_TARGET static void
gcm_seal(const __m128i *ks, __m128i h, const uint8 *nonce,
		 const uint8 *aad, size_t aadlen, const uint8 *plain, size_t len,
		 uint8 *cipher_out, uint8 *tag_out)
{
	__m128i		j0 = j0_of(nonce);
	__m128i		s;

	if (len > 0)
		ctr_crypt(ks, counter_block(j0, 2), plain, cipher_out, len);
	s = ghash_tag(h, aad, aadlen, cipher_out, len);
	_mm_storeu_si128((__m128i *) tag_out,
					 _mm_xor_si128(s, aes256_encrypt_block(j0, ks)));
}

/* Open: the tag first, then (only if it verifies) the decryption. */
AESNI_TARGET static bool
gcm_open(const __m128i *ks, __m128i h, const uint8 *nonce,
		 const uint8 *aad, size_t aadlen, const uint8 *cipher, size_t len,
		 const uint8 *tag, uint8 *plain_out)
{
	__m128i		j0 = j0_of(nonce);
	uint8		expect[16] pg_attribute_aligned(16);
	bool		authentic;

	_mm_storeu_si128((__m128i *) expect,
					 _mm_xor_si128(ghash_tag(h, aad, aadlen, cipher, len),
								   aes256_encrypt_block(j0, ks)));
	authentic = CRYPTO_memcmp(expect, tag, CG_FAST_GCM_TAG_LEN) == 0;
	/* the right tag for this input is not left behind on the stack */
	*(volatile __m128i *) expect = _mm_setzero_si128();
	if (authentic && len > 0)
		ctr_crypt(ks, counter_block(j0, 2), cipher, plain_out, len);
	return authentic;
}

/* H = AES_K(0^128), byte-reflected, into dst. */
AESNI_TARGET static void
hash_key(const uint8 *schedule, uint8 *dst)
{
	_mm_storeu_si128((__m128i *) dst,
					 bswap128(aes256_encrypt_block(_mm_setzero_si128(),
												   (const __m128i *) schedule)));
}

/* The CPU has AES-NI, PCLMULQDQ and SSSE3/SSE4.1 (asked once). */
static bool
cpu_has_aesni(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
		__builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
}

#endif							/* CG_HAVE_AESNI */

CgFastGcm *
cg_fast_gcm_new(void)
{
	CgFastGcm  *g;

	if (states_used == lengthof(states))
		elog(ERROR, "too many AES-NI GCM states");
	g = &states[states_used++];
	memset(g, 0, sizeof(CgFastGcm));
	/* 16-byte aligned whatever the arena's alignment */
	g->schedule = (uint8 *) TYPEALIGN(16, cg_secure_alloc(KEYED_BYTES + 16));
	return g;
}

void
cg_fast_gcm_free(CgFastGcm *g)
{
	if (g == NULL)
		return;
	cg_fast_gcm_forget(g);
}

/* Wipe the key schedule and H; the next use must set a key. */
void
cg_fast_gcm_forget(CgFastGcm *g)
{
	explicit_bzero(g->schedule, KEYED_BYTES);
	g->keyed = false;
}

/* Key g with a 256-bit key (the schedule and H, once per key). */
void
cg_fast_gcm_set_key(CgFastGcm *g, const uint8 *key)
{
#ifdef CG_HAVE_AESNI
	g->keyed = false;
	aes256_expand(key, g->schedule);
	hash_key(g->schedule, g->schedule + SCHEDULE_BYTES);
	g->keyed = true;
#else
	elog(ERROR, "AES-NI GCM is not available in this build");
#endif
}

/* Encrypt; false on an internal failure (the caller reports it). */
bool
cg_fast_gcm_seal(CgFastGcm *g, const uint8 *nonce,
				 const uint8 *aad, size_t aadlen,
				 const uint8 *plain, size_t len,
				 uint8 *cipher_out, uint8 *tag_out)
{
#ifdef CG_HAVE_AESNI
	if (!g->keyed)
		return false;
	gcm_seal((const __m128i *) g->schedule,
			 _mm_loadu_si128((const __m128i *) (g->schedule + SCHEDULE_BYTES)),
			 nonce, aad, aadlen, plain, len, cipher_out, tag_out);
	return true;
#else
	return false;
#endif
}

/*
 * Decrypt and authenticate; false on an internal failure.  *authentic
 * says whether the tag verified; if not, plain_out is wiped.
 */
bool
cg_fast_gcm_open(CgFastGcm *g, const uint8 *nonce,
				 const uint8 *aad, size_t aadlen,
				 const uint8 *cipher, size_t len,
				 const uint8 *tag, uint8 *plain_out, bool *authentic)
{
#ifdef CG_HAVE_AESNI
	*authentic = false;
	if (!g->keyed)
		return false;
	*authentic = gcm_open((const __m128i *) g->schedule,
						  _mm_loadu_si128((const __m128i *) (g->schedule + SCHEDULE_BYTES)),
						  nonce, aad, aadlen, cipher, len, tag, plain_out);
	if (!*authentic && len > 0)
		explicit_bzero(plain_out, len);
	return true;
#else
	return false;
#endif
}

#ifdef CG_HAVE_AESNI
/*
 * Known-answer test against EVP: seal and open test messages of several
 * lengths (empty, partial block, several blocks and a tail) under a fixed
 * key both ways, compare ciphertexts and tags, and check that a changed
 * byte of ciphertext, tag or associated data is refused.
 */
static bool
self_test(void)
{
	static const uint8 key[32] = {
		0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94,
		0x67, 0x30, 0x83, 0x08, 0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
		0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08};
	static const uint8 nonce[12] = {
		0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
	/*
	 * (plaintext, associated data) lengths: empty, partial, whole and
	 * several blocks of each, a data key's unwrap (32, 18) among them; kept
	 * short, as every backend runs it once
	 */
	static const size_t lengths[] = {0, 1, 15, 16, 17, 32, 33, 60, 64, 100, 300, 32};
	static const size_t aad_lengths[] = {20, 0, 1, 16, 13, 18, 20, 0, 17, 20, 5, 18};
	uint8		aad[20];
	uint8		plain[300];
	uint8		c1[300],
				c2[300],
				back[300];
	uint8		t1[16],
				t2[16];
	CgFastGcm	g;
	uint8		sched[KEYED_BYTES + 16];
	EVP_CIPHER_CTX *e;
	bool		ok = true;

	for (int i = 0; i < (int) sizeof(plain); i++)
		plain[i] = (uint8) (i * 37 + 11);
	for (int i = 0; i < (int) sizeof(aad); i++)
		aad[i] = (uint8) (i * 13 + 5);
	memset(&g, 0, sizeof(g));
	g.schedule = (uint8 *) TYPEALIGN(16, sched);
	e = EVP_CIPHER_CTX_new();
	if (e == NULL)
		return false;
	cg_fast_gcm_set_key(&g, key);
	StaticAssertStmt(lengthof(lengths) == lengthof(aad_lengths), "one aad length per length");
	for (int k = 0; ok && k < (int) lengthof(lengths); k++)
	{
		size_t		len = lengths[k];
		size_t		alen = aad_lengths[k];
		int			outl;
		bool		authentic;

		ok = EVP_EncryptInit_ex(e, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
			(alen == 0 || EVP_EncryptUpdate(e, NULL, &outl, aad, (int) alen) == 1) &&
			(len == 0 || EVP_EncryptUpdate(e, c1, &outl, plain, (int) len) == 1) &&
			EVP_EncryptFinal_ex(e, c1 + len, &outl) == 1 &&
			EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, t1) == 1;
		ok = ok && cg_fast_gcm_seal(&g, nonce, aad, alen, plain, len, c2, t2);
		ok = ok && memcmp(c1, c2, len) == 0 && memcmp(t1, t2, 16) == 0;
		ok = ok && cg_fast_gcm_open(&g, nonce, aad, alen, c1, len, t1, back,
									&authentic) &&
			authentic && memcmp(back, plain, len) == 0;
		/* tampering anywhere is refused */
		t1[3] ^= 1;
		ok = ok && cg_fast_gcm_open(&g, nonce, aad, alen, c1, len, t1, back,
									&authentic) && !authentic;
		t1[3] ^= 1;
		if (alen > 0)
		{
			aad[alen - 1] ^= 0x80;
			ok = ok && cg_fast_gcm_open(&g, nonce, aad, alen, c1, len, t1, back,
										&authentic) && !authentic;
			aad[alen - 1] ^= 0x80;
		}
		if (len > 0)
		{
			c1[len - 1] ^= 4;
			ok = ok && cg_fast_gcm_open(&g, nonce, aad, alen, c1, len, t1, back,
										&authentic) && !authentic;
		}
	}
	EVP_CIPHER_CTX_free(e);
	cg_fast_gcm_free(&g);
	explicit_bzero(sched, sizeof(sched));
	return ok;
}
#endif

/*
 * Whether the fast path may be used in this process: an x86-64 CPU with
 * AES-NI and a passed known-answer test (run once).
 */
bool
cg_fast_gcm_available(void)
{
	if (availability >= 0)
		return availability == 1;
	availability = 0;
#ifdef CG_HAVE_AESNI
	if (cpu_has_aesni())
	{
		if (self_test())
			availability = 1;
		else
			ereport(WARNING,
					(errmsg("childguard: the AES-NI AES-256-GCM path failed its known-answer test"),
					 errdetail("Child data is sealed and opened through OpenSSL's EVP interface in this process.")));
	}
#endif
	return availability == 1;
}
