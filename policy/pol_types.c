/*
 * pol_types.c - names and parsers of the policy words (pol_types.h).
 *
 * Shared by the address rules, the domain table and the policy sources;
 * no allocation, I/O, logging or clock.
 */
#include <string.h>

#include "pol_types.h"

int
pol_expects_tls(const struct pol_match *m)
{
	if (m->source == POL_SRC_DEFAULT)
		return m->mode == POL_MODE_ENFORCE;
	return m->mode == POL_MODE_ENFORCE || m->mode == POL_MODE_TESTING;
}

/* Strength rank of a match: expecting TLS first, then the mode. */
static int
pol_rank(const struct pol_match *m)
{
	return pol_expects_tls(m) * 4 + (int)m->mode;
}

int
pol_cmp(const struct pol_match *a, const struct pol_match *b)
{
	return pol_rank(a) - pol_rank(b);
}

const char *
pol_mode_name(enum pol_mode m)
{
	switch (m) {
	case POL_MODE_NONE:    return "none";
	case POL_MODE_TESTING: return "testing";
	case POL_MODE_ENFORCE: return "enforce";
	}
	return "unknown";
}

const char *
pol_source_name(enum pol_source s)
{
	switch (s) {
	case POL_SRC_DEFAULT: return "default";
	case POL_SRC_CONFIG:  return "config";
	case POL_SRC_MTA_STS: return "mta-sts";
	case POL_SRC_EFF:     return "eff";
	case POL_SRC_PIN:     return "pin";
	case POL_SRC_DANE:    return "dane";
	}
	return "unknown";
}

int
pol_mode_parse(const char *s, enum pol_mode *out)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "enforce") == 0)
		*out = POL_MODE_ENFORCE;
	else if (strcmp(s, "testing") == 0)
		*out = POL_MODE_TESTING;
	else if (strcmp(s, "none") == 0)
		*out = POL_MODE_NONE;
	else
		return -1;
	return 0;
}

int
pol_tls_parse(const char *s, uint16_t *out)
{
	static const struct { const char *name; uint16_t v; } t[] = {
		{ "1.0", POL_TLS_1_0 }, { "1.1", POL_TLS_1_1 },
		{ "1.2", POL_TLS_1_2 }, { "1.3", POL_TLS_1_3 },
	};

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].v;
			return 0;
		}
	}
	return -1;
}
