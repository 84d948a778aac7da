/*
 * tls.c - walk TLS record headers byte by byte (see tls.h).
 *
 * Only the 5-byte record header and the first one or two body bytes of the
 * first handshake and alert records are looked at; record bodies are
 * skipped by length, so a 16 KB record costs one subtraction.
 */
#include <string.h>

#include "tls.h"

void
tls_scan_init(struct tls_scan *s)
{
	memset(s, 0, sizeof(*s));
}

/* Is the header byte at index i plausible for a TLS record? */
static int
hdr_byte_ok(const uint8_t *hdr, unsigned i)
{
	switch (i) {
	case 0:
		return hdr[0] >= TLS_CT_CCS && hdr[0] <= TLS_CT_APPDATA;
	case 1:
		return hdr[1] == 3;
	case 2:
		return hdr[2] <= 4;
	case 4: {
		unsigned len = ((unsigned)hdr[3] << 8) | hdr[4];
		return len > 0 && len <= TLS_RECORD_MAX;
	}
	default:
		return 1;
	}
}

int
tls_scan_push(struct tls_scan *s, const uint8_t *p, size_t n, size_t *used)
{
	return tls_scan_push_body(s, p, n, used, NULL, NULL);
}

int
tls_scan_push_body(struct tls_scan *s, const uint8_t *p, size_t n, size_t *used,
    tls_body_fn body, void *ctx)
{
	size_t i = 0;
	int ev = 0;

	while (i < n) {
		if (s->have < 5) {
			s->hdr[s->have] = p[i];
			if (!hdr_byte_ok(s->hdr, s->have)) {
				ev |= TLS_EV_NOT_TLS;
				break;
			}
			s->have++;
			i++;
			if (s->have == 5) {
				s->left = (uint16_t)(((unsigned)s->hdr[3] << 8) | s->hdr[4]);
				if (s->records == 0)
					s->first_type = s->hdr[0];
				if (s->records < 255)
					s->records++;
				if (s->hdr[0] == TLS_CT_CCS)
					ev |= TLS_EV_CCS;
				else if (s->hdr[0] == TLS_CT_APPDATA)
					ev |= TLS_EV_APPDATA;
			}
			continue;
		}
		/* Inside a record body: peek at the bytes we care about. */
		unsigned off = (unsigned)((((unsigned)s->hdr[3] << 8) | s->hdr[4]) - s->left);
		if (s->hdr[0] == TLS_CT_HANDSHAKE && off == 0 && s->hs_type == 0) {
			s->hs_type = p[i] ? p[i] : 0xff; /* 0 (HelloRequest) must not read as "none" */
			ev |= TLS_EV_HANDSHAKE;
		} else if (s->hdr[0] == TLS_CT_ALERT && off < 2 && s->records == 1) {
			s->alert[off] = p[i];
			if (off == 1)
				ev |= TLS_EV_ALERT;
		}
		size_t take = n - i;
		if (off < 2)
			take = 1; /* step over the peeked bytes one at a time */
		if (take > s->left)
			take = s->left;
		if (body != NULL && s->hdr[0] == TLS_CT_HANDSHAKE)
			body(ctx, p + i, take);
		s->left = (uint16_t)(s->left - take);
		i += take;
		if (s->left == 0)
			s->have = 0;
	}
	if (used)
		*used = i;
	return ev;
}

const char *
tls_alert_name(uint8_t desc)
{
	switch (desc) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 90: return "user_canceled";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	default: return "unknown_alert";
	}
}
