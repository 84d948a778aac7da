/*
 * pol_pins.c - learned pins: fixed-size hash table plus an age-ordered list.
 *
 * All nodes are allocated in pol_pins_new(); a free list recycles them. A
 * chained hash keyed by (af, address) and seeded by the caller finds a pin;
 * a doubly linked list kept sorted by last_seen (oldest at the head) gives
 * eviction in O(1) and the file order. With a clock that only moves on, a
 * refreshed pin goes straight to the tail; otherwise it is walked into
 * place from the tail. No allocation after creation, no clock, no files.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol_pins.h"

/* "No node". */
#define PP_NIL UINT32_MAX
/* The file's record tag: a format change gets a new tag. */
#define PP_TAG "v1"
/* Decimal digits of the largest int64. */
#define PP_NUM_DIGITS 19

/* One pin and its links. */
struct pp_node {
	struct pol_pin pin;  /* first, so a pin pointer is a node pointer */
	uint32_t hnext;      /* next in the hash chain, or in the free list */
	uint32_t prev, next; /* age list neighbours */
};

struct pol_pins {
	struct pp_node *node;   /* cap nodes */
	uint32_t *bucket;       /* chain heads */
	size_t   cap;           /* nodes */
	size_t   n;             /* pins held */
	uint32_t mask;          /* buckets - 1 (a power of two >= cap) */
	uint32_t seed;          /* hash key */
	uint32_t head, tail;    /* oldest and newest pin */
	uint32_t free;          /* list of freed nodes (through hnext) */
	uint32_t unused;        /* nodes [unused, cap) never used: their pages stay untouched */
};

/* Seeded hash of an address: murmur3-style mixing of the four words. */
static uint32_t
pp_hash(const struct pol_pins *p, uint8_t af, const struct pkt_addr *a)
{
	uint32_t h = p->seed ^ af;

	/* IPv4 hashes only its 4 bytes: the rest should be zero, but a
	 * caller's stray bytes there must not hide a pin. */
	for (int i = 0; i < (af == 4 ? 4 : 16); i += 4) {
		uint32_t k = (uint32_t)a->a[i] | (uint32_t)a->a[i + 1] << 8 |
		    (uint32_t)a->a[i + 2] << 16 | (uint32_t)a->a[i + 3] << 24;

		k *= 0xcc9e2d51u;
		k = (k << 15) | (k >> 17);
		k *= 0x1b873593u;
		h ^= k;
		h = (h << 13) | (h >> 19);
		h = h * 5 + 0xe6546b64u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h & p->mask;
}

struct pol_pins *
pol_pins_new(size_t cap, uint32_t seed)
{
	struct pol_pins *p;
	size_t nb = 1;

	if (cap == 0 || cap > POL_PINS_MAX)
		return NULL;
	while (nb < cap)
		nb *= 2;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->node = calloc(cap, sizeof(*p->node));
	p->bucket = malloc(nb * sizeof(*p->bucket));
	if (p->node == NULL || p->bucket == NULL) {
		pol_pins_free(p);
		return NULL;
	}
	memset(p->bucket, 0xff, nb * sizeof(*p->bucket));
	p->cap = cap;
	p->mask = (uint32_t)(nb - 1);
	p->seed = seed;
	p->head = p->tail = PP_NIL;
	p->free = PP_NIL;
	return p;
}

void
pol_pins_free(struct pol_pins *p)
{
	if (p == NULL)
		return;
	free(p->node);
	free(p->bucket);
	free(p);
}

size_t
pol_pins_count(const struct pol_pins *p)
{
	return p == NULL ? 0 : p->n;
}

size_t
pol_pins_capacity(const struct pol_pins *p)
{
	return p == NULL ? 0 : p->cap;
}

/* Is a pin seen at last expired at now? Safe for any int64 values. */
static int
pp_expired(int64_t last, int64_t now, uint32_t max_age)
{
	return last <= INT64_MAX - (int64_t)max_age && now > last + (int64_t)max_age;
}

/* Is af a family we store? */
static int
pp_af_ok(uint8_t af)
{
	return af == 4 || af == 6;
}

/* The node of (af, addr), or PP_NIL. */
static uint32_t
pp_find(const struct pol_pins *p, uint8_t af, const struct pkt_addr *a)
{
	size_t alen = af == 4 ? 4 : 16;

	for (uint32_t i = p->bucket[pp_hash(p, af, a)]; i != PP_NIL; i = p->node[i].hnext) {
		const struct pol_pin *pin = &p->node[i].pin;

		if (pin->af == af && memcmp(pin->addr.a, a->a, alen) == 0)
			return i;
	}
	return PP_NIL;
}

/* Take node i out of the age list. */
static void
pp_age_unlink(struct pol_pins *p, uint32_t i)
{
	struct pp_node *n = &p->node[i];

	if (n->prev != PP_NIL)
		p->node[n->prev].next = n->next;
	else
		p->head = n->next;
	if (n->next != PP_NIL)
		p->node[n->next].prev = n->prev;
	else
		p->tail = n->prev;
	n->prev = n->next = PP_NIL;
}

/* Put node i into the age list after every pin with last_seen <= its own. */
static void
pp_age_insert(struct pol_pins *p, uint32_t i)
{
	struct pp_node *n = &p->node[i];
	uint32_t after = p->tail;

	while (after != PP_NIL && p->node[after].pin.last_seen > n->pin.last_seen)
		after = p->node[after].prev;
	n->prev = after;
	n->next = after == PP_NIL ? p->head : p->node[after].next;
	if (n->next != PP_NIL)
		p->node[n->next].prev = i;
	else
		p->tail = i;
	if (after != PP_NIL)
		p->node[after].next = i;
	else
		p->head = i;
}

/* Remove node i from the hash, the age list and the count; free it. */
static void
pp_remove(struct pol_pins *p, uint32_t i)
{
	struct pp_node *n = &p->node[i];
	uint32_t *link = &p->bucket[pp_hash(p, n->pin.af, &n->pin.addr)];

	while (*link != i)
		link = &p->node[*link].hnext;
	*link = n->hnext;
	pp_age_unlink(p, i);
	memset(&n->pin, 0, sizeof(n->pin));
	n->hnext = p->free;
	p->free = i;
	p->n--;
}

/* Store pin as a new node; when full the oldest goes, which may be pin
 * itself (older than all held). 1 if a pin was evicted. */
static int
pp_insert(struct pol_pins *p, const struct pol_pin *pin)
{
	int evicted = 0;
	uint32_t i, b;

	if (p->free == PP_NIL && p->unused == p->cap) {
		if (pin->last_seen < p->node[p->head].pin.last_seen)
			return 1;
		pp_remove(p, p->head);
		evicted = 1;
	}
	if (p->free != PP_NIL) {
		i = p->free;
		p->free = p->node[i].hnext;
	} else {
		i = p->unused++;
	}
	p->node[i].pin = *pin;
	b = pp_hash(p, pin->af, &pin->addr);
	p->node[i].hnext = p->bucket[b];
	p->bucket[b] = i;
	pp_age_insert(p, i);
	p->n++;
	return evicted;
}

/* Merge a sighting into existing node i. */
static void
pp_refresh(struct pol_pins *p, uint32_t i, const char *mx, int64_t first, int64_t last)
{
	struct pol_pin *pin = &p->node[i].pin;

	if (mx != NULL && mx[0] != '\0')
		memcpy(pin->mx, mx, strlen(mx) + 1);
	if (first < pin->first_seen)
		pin->first_seen = first;
	if (last > pin->last_seen) {
		pin->last_seen = last;
		pp_age_unlink(p, i);
		pp_age_insert(p, i);
	}
}

/* Normalise an optional MX name into out ("" for none). 0 or -1. */
static int
pp_mx(const char *mx, char *out)
{
	out[0] = '\0';
	if (mx == NULL || mx[0] == '\0')
		return 0;
	return pol_name_norm(mx, strlen(mx), out, POL_NAME_BUF, NULL, 0) < 0 ? -1 : 0;
}

int
pol_pins_see(struct pol_pins *p, uint8_t af, const struct pkt_addr *addr,
    const char *mx, int64_t now)
{
	struct pol_pin pin;
	uint32_t i;

	if (p == NULL || addr == NULL || !pp_af_ok(af))
		return -1;
	memset(&pin, 0, sizeof(pin));
	if (pp_mx(mx, pin.mx) == -1)
		return -1;
	i = pp_find(p, af, addr);
	if (i != PP_NIL) {
		pp_refresh(p, i, pin.mx, now, now);
		return POL_PINS_REFRESH;
	}
	pin.af = af;
	memcpy(pin.addr.a, addr->a, af == 4 ? 4 : 16);
	pin.first_seen = pin.last_seen = now;
	return pp_insert(p, &pin) ? POL_PINS_EVICTED : POL_PINS_NEW;
}

int
pol_pins_lookup(const struct pol_pins *p, uint8_t af, const struct pkt_addr *addr,
    int64_t now, uint32_t max_age, struct pol_pin *out)
{
	uint32_t i;

	if (p == NULL || addr == NULL || !pp_af_ok(af))
		return 0;
	i = pp_find(p, af, addr);
	if (i == PP_NIL || pp_expired(p->node[i].pin.last_seen, now, max_age))
		return 0;
	if (out != NULL)
		*out = p->node[i].pin;
	return 1;
}

const struct pol_pin *
pol_pins_next(const struct pol_pins *p, const struct pol_pin *prev)
{
	uint32_t i;

	if (p == NULL)
		return NULL;
	if (prev == NULL)
		i = p->head;
	else
		i = ((const struct pp_node *)(const void *)prev)->next;
	return i == PP_NIL ? NULL : &p->node[i].pin;
}

int
pol_pins_forget_addr(struct pol_pins *p, uint8_t af, const struct pkt_addr *addr)
{
	uint32_t i;

	if (p == NULL || addr == NULL || !pp_af_ok(af))
		return 0;
	i = pp_find(p, af, addr);
	if (i == PP_NIL)
		return 0;
	pp_remove(p, i);
	return 1;
}

size_t
pol_pins_forget_mx(struct pol_pins *p, const char *mx)
{
	char pat[POL_NAME_BUF];
	size_t n = 0;
	uint32_t i, next;

	if (p == NULL || mx == NULL ||
	    pol_mx_pattern_norm(mx, strlen(mx), pat, sizeof(pat), NULL, NULL, 0) < 0)
		return 0;
	for (i = p->head; i != PP_NIL; i = next) {
		next = p->node[i].next;
		if (p->node[i].pin.mx[0] != '\0' && pol_mx_match_norm(pat, p->node[i].pin.mx)) {
			pp_remove(p, i);
			n++;
		}
	}
	return n;
}

size_t
pol_pins_expire(struct pol_pins *p, int64_t now, uint32_t max_age)
{
	size_t n = 0;

	/* The list is sorted by last_seen: the expired ones are at the head. */
	while (p != NULL && p->head != PP_NIL &&
	    pp_expired(p->node[p->head].pin.last_seen, now, max_age)) {
		pp_remove(p, p->head);
		n++;
	}
	return n;
}

size_t
pol_pins_write(const struct pol_pins *p, char *buf, size_t len)
{
	static const char head[] = "# starttls-guard pins: " PP_TAG
	    " <addr> <mx name or -> <first_seen> <last_seen>\n";
	char line[POL_PINS_LINE_MAX], addr[INET6_ADDRSTRLEN];
	size_t need = sizeof(head) - 1;
	int fits;

	fits = len > need;
	if (fits)
		memcpy(buf, head, need);
	for (uint32_t i = p ? p->head : PP_NIL; i != PP_NIL; i = p->node[i].next) {
		const struct pol_pin *pin = &p->node[i].pin;
		int n;

		if (inet_ntop(pin->af == 4 ? AF_INET : AF_INET6, pin->addr.a, addr, sizeof(addr)) == NULL)
			continue;   /* cannot happen: af is checked on the way in */
		n = snprintf(line, sizeof(line), PP_TAG " %s %s %lld %lld\n", addr,
		    pin->mx[0] ? pin->mx : "-", (long long)pin->first_seen,
		    (long long)pin->last_seen);
		if (n < 0 || (size_t)n >= sizeof(line))
			continue;   /* cannot happen: the line bound covers every field */
		fits = fits && len > need + (size_t)n;
		if (fits)
			memcpy(buf + need, line, (size_t)n);
		need += (size_t)n;
	}
	if (fits)
		buf[need] = '\0';
	else if (len > 0)
		buf[0] = '\0';
	return need;
}

/* Parse a non-negative decimal epoch time. 0 or -1. */
static int
pp_num(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0 || n > PP_NUM_DIGITS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parse one record line (no line end) into pin. 0, or -1 with why. */
static int
pp_line(const char *s, size_t n, struct pol_pin *pin, const char **why)
{
	const char *f[6];
	size_t fl[6], nf = 0, i = 0;
	char tmp[POL_PINS_LINE_MAX];

	while (i < n && nf < 6) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			break;
		f[nf] = s + i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		fl[nf] = (size_t)(s + i - f[nf]);
		nf++;
	}
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (nf != 5 || i != n) {
		*why = "want \"" PP_TAG " <addr> <mx or -> <first_seen> <last_seen>\"";
		return -1;
	}
	if (fl[0] != strlen(PP_TAG) || memcmp(f[0], PP_TAG, fl[0]) != 0) {
		*why = "unknown record tag (want " PP_TAG ")";
		return -1;
	}
	memset(pin, 0, sizeof(*pin));
	if (fl[1] >= INET6_ADDRSTRLEN) {
		*why = "bad address";
		return -1;
	}
	memcpy(tmp, f[1], fl[1]);
	tmp[fl[1]] = '\0';
	if (inet_pton(AF_INET, tmp, pin->addr.a) == 1)
		pin->af = 4;
	else if (inet_pton(AF_INET6, tmp, pin->addr.a) == 1)
		pin->af = 6;
	else {
		*why = "bad address";
		return -1;
	}
	if (!(fl[2] == 1 && f[2][0] == '-') &&
	    pol_name_norm(f[2], fl[2], pin->mx, sizeof(pin->mx), NULL, 0) < 0) {
		*why = "bad MX name";
		return -1;
	}
	if (pp_num(f[3], fl[3], &pin->first_seen) == -1 ||
	    pp_num(f[4], fl[4], &pin->last_seen) == -1) {
		*why = "bad time (want epoch seconds)";
		return -1;
	}
	if (pin->first_seen > pin->last_seen) {
		*why = "first_seen is after last_seen";
		return -1;
	}
	return 0;
}

/* Walk the records of buf; with add set, store them. 0, or -1 with err. */
static int
pp_parse_pass(struct pol_pins *p, const char *s, size_t len, int add,
    struct pol_warnings *w, char *err, size_t errlen)
{
	const char *end = s + len;
	unsigned line = 0;
	size_t evicted = 0;

	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *next = eol != NULL ? eol + 1 : end;
		const char *why = NULL;
		struct pol_pin pin;
		size_t n;
		uint32_t i;

		line++;
		if (eol == NULL)
			eol = end;
		if (eol > s && eol[-1] == '\r')
			eol--;
		n = (size_t)(eol - s);
		if (n == 0 || s[0] == '#') {
			s = next;
			continue;
		}
		if (n >= POL_PINS_LINE_MAX)
			why = "line too long";
		else if (memchr(s, '\0', n) != NULL)
			why = "NUL byte";
		if (why != NULL || pp_line(s, n, &pin, &why) == -1) {
			snprintf(err, errlen, "line %u: %s", line, why);
			return -1;
		}
		s = next;
		if (!add)
			continue;
		i = pp_find(p, pin.af, &pin.addr);
		if (i != PP_NIL) {
			pol_warn(w, "pins: line %u: address pinned again; merged", line);
			pp_refresh(p, i, pin.mx, pin.first_seen, pin.last_seen);
		} else {
			evicted += (size_t)pp_insert(p, &pin);
		}
	}
	if (evicted > 0)
		pol_warn(w, "pins: %zu pins over the capacity of %zu: the oldest were dropped",
		    evicted, p->cap);
	return 0;
}

int
pol_pins_parse(struct pol_pins *p, const void *buf, size_t len,
    struct pol_warnings *w, char *err, size_t errlen)
{
	if (pp_parse_pass(p, buf, len, 0, NULL, err, errlen) == -1)
		return -1;
	return pp_parse_pass(p, buf, len, 1, w, err, errlen);
}
