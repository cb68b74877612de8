/*-------------------------------------------------------------------------
 *
 * make_seeds.c
 *	  Writes the seed corpora of the fuzz targets: valid envelopes sealed
 *	  with the real sealing code (src/format/envelope.c) under the harness's fake
 *	  data key, their text forms, and edge cases around them.
 *
 *	  make_seeds DIR   writes the files under DIR/envelope/ and DIR/text_input/
 *
 * test/fuzz/run.sh --seeds regenerates test/fuzz/corpus/ with it; run it
 * again after a change to the envelope format, and commit the result
 * (the nonces are random, so every run gives new bytes).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>

#include "envelope.h"
#include "fuzz_pg.h"

static const char *outdir;

static void
write_file(const char *target, const char *name, const void *data, size_t len)
{
	char		path[1024];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

/* A text_input seed: the control byte, then the text. */
static void
write_text_seed(const char *name, uint8 control, const char *text, size_t len)
{
	uint8	   *buf = palloc(len + 1);

	buf[0] = control;
	memcpy(buf + 1, text, len);
	write_file("text_input", name, buf, len + 1);
}

/* Control bytes (see fuzz_text_input.c). */
#define ALLOW		0x05		/* purpose, allow */
#define DENY		0x06		/* purpose, deny, error */
#define DENY_MASK	0x0e		/* purpose, deny, mask */
#define NO_PURPOSE	0x01
#define BINARY		0x20
#define GUARD		0x10
#define DESTROYED	0x40
#define ENVELOPE_ONLY	0x80

typedef struct Seed
{
	const char *name;
	uint8		category;
	uint8		flags;
	uint32		key_version;
	uint64		subject;
	const char *plain;
	size_t		len;
} Seed;

static char big[1500];

static const Seed seeds[] = {
	{"name-short", 1, 0, CG_FUZZ_KEY_VERSION, 1, "小明", 6},
	{"image-empty", 5, 0, CG_FUZZ_KEY_VERSION, 42, "", 0},
	{"other-one", 13, 0, CG_FUZZ_KEY_VERSION, UINT64CONST(0x7fffffffffffffff), "x", 1},
	{"contact-16", 2, 0, CG_FUZZ_KEY_VERSION, 7, "0123456789abcdef", 16},
	{"health-long", 8, 0, CG_FUZZ_KEY_VERSION, 9, big, sizeof(big)},
	{"name-keyv2", 1, 0, 2, 1, "Ольга", 10},
	{"name-keymax", 1, 0, PG_UINT32_MAX, 3, "abc", 3},
	{"pending", 0, CG_ENV_PENDING, 0, 12345, "typed in", 8},
};

/* Edge cases made from one valid envelope of the current version. */
static void
write_edge_seeds(const uint8 *raw, size_t rawlen)
{
	uint8	   *bad = palloc(rawlen);

	write_file("envelope", "edge-truncated-tag.bin", raw, rawlen - 1);
	write_file("envelope", "edge-header-only.bin", raw, CG_ENV_HEADER_LEN);
	memcpy(bad, raw, rawlen);
	bad[0] = 0xff;
	write_file("envelope", "edge-unknown-version.bin", bad, rawlen);
	memcpy(bad, raw, rawlen);
	bad[3] = 1;
	write_file("envelope", "edge-reserved-set.bin", bad, rawlen);
	memcpy(bad, raw, rawlen);
	bad[1] = 0;
	write_file("envelope", "edge-category-zero.bin", bad, rawlen);
	memcpy(bad, raw, rawlen);
	bad[1] = 14;
	write_file("envelope", "edge-category-14.bin", bad, rawlen);
	memcpy(bad, raw, rawlen);
	bad[rawlen - 1] ^= 1;
	write_file("envelope", "edge-bad-tag.bin", bad, rawlen);
	memcpy(bad, raw, rawlen);
	bad[8] ^= 1;
	write_file("envelope", "edge-other-subject.bin", bad, rawlen);
}

/* Every seed value sealed in the format version being written now. */
static void
write_version_seeds(bool with_edges)
{
	for (int i = 0; i < lengthof(seeds); i++)
	{
		const Seed *s = &seeds[i];
		struct varlena *v = cg_envelope_seal(cg_fuzz_data_key, s->category,
											 s->flags, s->key_version,
											 s->subject, s->plain, s->len);
		const uint8 *raw = (const uint8 *) VARDATA_ANY(v);
		size_t		rawlen = VARSIZE_ANY_EXHDR(v);
		char	   *text = cg_envelope_to_text(v);
		char		name[128];

		snprintf(name, sizeof(name), "v%d-%s.bin", raw[0], s->name);
		write_file("envelope", name, raw, rawlen);
		snprintf(name, sizeof(name), "v%d-%s.txt", raw[0], s->name);
		write_file("envelope", name, text, strlen(text));

		snprintf(name, sizeof(name), "v%d-%s-allow", raw[0], s->name);
		write_text_seed(name, ALLOW, text, strlen(text));
		snprintf(name, sizeof(name), "v%d-%s-binary-allow", raw[0], s->name);
		write_text_seed(name, ALLOW | BINARY, text, strlen(text));
		if (i < 2)
		{
			snprintf(name, sizeof(name), "v%d-%s-deny", raw[0], s->name);
			write_text_seed(name, DENY, text, strlen(text));
			snprintf(name, sizeof(name), "v%d-%s-deny-mask", raw[0], s->name);
			write_text_seed(name, DENY_MASK, text, strlen(text));
			snprintf(name, sizeof(name), "v%d-%s-no-purpose", raw[0], s->name);
			write_text_seed(name, NO_PURPOSE, text, strlen(text));
			snprintf(name, sizeof(name), "v%d-%s-envelope-only", raw[0], s->name);
			write_text_seed(name, ALLOW | ENVELOPE_ONLY, text, strlen(text));
		}
		if (s->key_version != CG_FUZZ_KEY_VERSION)
		{
			snprintf(name, sizeof(name), "v%d-%s-destroyed", raw[0], s->name);
			write_text_seed(name, ALLOW | DESTROYED, text, strlen(text));
		}
		if (i == 0 && with_edges)
			write_edge_seeds(raw, rawlen);
	}
}

int
main(int argc, char **argv)
{
	int		   *version_guc;

	if (argc != 2)
	{
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	memset(big, 'z', sizeof(big));

	/*
	 * Every format version this build can write, through its setting
	 * (childguard.envelope_format_version) where there is one.
	 */
	cg_envelope_define_gucs();
	version_guc = cg_fuzz_int_guc("childguard.envelope_format_version");
	if (version_guc != NULL)
	{
		for (int version = 1; version < CG_ENV_VERSION; version++)
		{
			*version_guc = version;
			write_version_seeds(false);
		}
		*version_guc = CG_ENV_VERSION;
	}
	write_version_seeds(true);

#ifdef CG_ENV_VERSION_2
	/* decrypted version 2 content, for fuzz_envelope's padding check */
	{
		uint8		c[64];

		memset(c, 0, sizeof(c));
		write_file("envelope", "content-v2-empty", c, 16);
		c[3] = 5;
		memcpy(c + 4, "hello", 5);
		write_file("envelope", "content-v2-hello", c, 16);
		c[15] = 1;
		write_file("envelope", "content-v2-dirty-padding", c, 16);
		c[15] = 0;
		c[3] = 13;
		write_file("envelope", "content-v2-length-too-big", c, 16);
		c[3] = 12;
		write_file("envelope", "content-v2-exact-fit", c, 16);
		c[3] = 5;
		write_file("envelope", "content-v2-wrong-bucket", c, 64);
	}
#endif

	/* text edge cases, both targets */
	{
		static const struct
		{
			const char *name;
			const char *text;
		}			texts[] = {
			{"text-prefix-only", "cg1:"},
			{"text-one-quad", "cg1:AAAA"},
			{"text-padding-only", "cg1:===="},
			{"text-bad-length", "cg1:AAAAA"},
			{"text-bad-char", "cg1:AA!A"},
			{"text-inner-padding", "cg1:AA==AAAA"},
			{"text-upper-prefix", "CG1:AAAA"},
			{"text-no-colon", "cg1AAAA"},
		};

		for (int i = 0; i < lengthof(texts); i++)
		{
			write_file("envelope", texts[i].name, texts[i].text, strlen(texts[i].text));
			write_text_seed(texts[i].name, ALLOW, texts[i].text, strlen(texts[i].text));
		}
	}

	/* plaintext typed in */
	write_text_seed("plain-empty", ALLOW, "", 0);
	write_text_seed("plain-ascii", ALLOW, "Li Ming", 7);
	write_text_seed("plain-utf8", ALLOW, "小明 🎈", 11);
	write_text_seed("plain-no-purpose", NO_PURPOSE, "Li Ming", 7);
	write_text_seed("plain-binary", ALLOW | BINARY, "Li Ming", 7);
	write_text_seed("plain-guard-refuses", ALLOW | GUARD, "Li Ming", 7);
	write_text_seed("plain-long", ALLOW, big, 300);
	write_text_seed("plain-prefix-like", ALLOW, "cg1", 3);
	write_text_seed("plain-bad-utf8", ALLOW | BINARY, "\xff\xfe", 2);
	write_text_seed("envelope-binary-nul", ALLOW | BINARY, "cg1:AA\0A", 8);
	write_text_seed("plain-envelope-only", ALLOW | ENVELOPE_ONLY, "Li Ming", 7);
	cg_fuzz_reset();
	return 0;
}
