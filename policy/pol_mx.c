/*
 * pol_mx.c - domain name normalisation and RFC 8461 MX pattern matching.
 *
 * Everything here works on caller or stack buffers of POL_NAME_BUF bytes:
 * no allocation, no logging, no I/O. Names are compared only after
 * normalisation, so "MX.Example.NET." and "mx.example.net" are one name.
 * A wildcard covers exactly one label (RFC 8461 4.1, RFC 6125 6.4.3): it
 * never matches the bare suffix nor two labels.
 */
#include <stdio.h>
#include <string.h>

#include "pol_mx.h"

/* Longest suffix a wildcard pattern may carry: "x." + suffix <= 253. */
#define POL_MX_SUFFIX_MAX (POL_NAME_MAX - 2)

/* Is c allowed in a label? LDH, plus '_' which real DNS names carry. */
static int
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

/* Format an error message when the caller gave a buffer. */
static void
mx_err(char *err, size_t errlen, const char *msg, const char *in, size_t len)
{
	/* Cut what we quote: the input is untrusted and may be long. */
	int shown = len > 64 ? 64 : (int)len;

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s in \"%.*s%s\"", msg, shown, in,
		    len > 64 ? "..." : "");
}

int
pol_name_norm(const char *in, size_t len, char *out, size_t outlen,
    char *err, size_t errlen)
{
	size_t i, label = 0;

	if (in == NULL) {
		mx_err(err, errlen, "missing name", "", 0);
		return -1;
	}
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0) {
		mx_err(err, errlen, "empty name", in, len);
		return -1;
	}
	if (len > POL_NAME_MAX) {
		mx_err(err, errlen, "name longer than 253 characters", in, len);
		return -1;
	}
	if (outlen <= len) {
		mx_err(err, errlen, "name does not fit the buffer", in, len);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0) {
				mx_err(err, errlen, "empty label", in, len);
				return -1;
			}
			label = 0;
		} else if (!name_char_ok(c)) {
			mx_err(err, errlen, c >= 0x80 ?
			    "non-ASCII character (use the A-label form xn--...)" :
			    "character not allowed in a host name", in, len);
			return -1;
		} else if (++label > POL_LABEL_MAX) {
			mx_err(err, errlen, "label longer than 63 characters", in, len);
			return -1;
		}
		out[i] = (char)c;
	}
	if (label == 0) {
		/* Only possible as "x.." (a dot stripped, one left): empty label. */
		mx_err(err, errlen, "empty label", in, len);
		return -1;
	}
	out[len] = '\0';
	return (int)len;
}

int
pol_mx_pattern_norm(const char *in, size_t len, char *out, size_t outlen,
    int *wildcard, char *err, size_t errlen)
{
	size_t skip = 0;
	int n;

	if (wildcard != NULL)
		*wildcard = 0;
	if (in == NULL) {
		mx_err(err, errlen, "missing MX pattern", "", 0);
		return -1;
	}
	if (len >= 2 && in[0] == '*' && in[1] == '.')
		skip = 2;
	else if (len >= 1 && in[0] == '.')
		skip = 1;   /* EFF list form: ".example.net" == "*.example.net" */
	if (memchr(in + skip, '*', len - skip) != NULL) {
		mx_err(err, errlen, "'*' allowed only as the whole leftmost label", in, len);
		return -1;
	}
	if (skip == 0)
		return pol_name_norm(in, len, out, outlen, err, errlen);
	if (outlen < 3) {
		mx_err(err, errlen, "pattern does not fit the buffer", in, len);
		return -1;
	}
	if (len - skip > POL_MX_SUFFIX_MAX + (size_t)(in[len - 1] == '.')) {
		mx_err(err, errlen, "wildcard suffix longer than 251 characters", in, len);
		return -1;
	}
	n = pol_name_norm(in + skip, len - skip, out + 2, outlen - 2, err, errlen);
	if (n < 0)
		return -1;
	out[0] = '*';
	out[1] = '.';
	if (wildcard != NULL)
		*wildcard = 1;
	return n + 2;
}

int
pol_mx_match_norm(const char *pattern, const char *host)
{
	const char *parent;

	if (pattern[0] != '*')
		return strcmp(pattern, host) == 0;
	/* "*.suffix": host must be exactly one label in front of suffix. */
	parent = pol_name_parent(host);
	return parent != NULL && strcmp(pattern + 2, parent) == 0;
}

int
pol_mx_match(const char *pattern, const char *host)
{
	char p[POL_NAME_BUF], h[POL_NAME_BUF];

	if (pattern == NULL || host == NULL)
		return 0;
	if (pol_mx_pattern_norm(pattern, strlen(pattern), p, sizeof(p), NULL, NULL, 0) < 0)
		return 0;
	if (pol_name_norm(host, strlen(host), h, sizeof(h), NULL, 0) < 0)
		return 0;
	return pol_mx_match_norm(p, h);
}

const char *
pol_name_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot == NULL || dot[1] == '\0' ? NULL : dot + 1;
}
