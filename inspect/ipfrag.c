/*
 * ipfrag.c - bounded IPv4/IPv6 fragment reassembly.
 *
 * All memory is taken in ipfrag_new(): a slot array of partial datagrams, a
 * hash over their keys, a pool of fixed-size data chunks (max_bytes worth)
 * and one output buffer. A datagram borrows chunks from the pool as its
 * fragments arrive and returns them when it completes, times out or is
 * evicted; a bit per 8-byte block says which bytes are present, which is
 * exact because every fragment starts on an 8-byte boundary and only the
 * last one may end off it. Overlaps are judged as Linux (>= 4.19, after
 * CVE-2018-5391) and RFC 5722 do: a fragment that only repeats bytes
 * already held is a duplicate and ignored (the first copy stays); one that
 * partly overlaps kills the whole datagram, so the receiver never sees it
 * and neither do we.
 * The caller passes time in; nothing here logs, reads the clock or
 * allocates after creation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "ipfrag.h"

/* Data bytes per pool chunk: small enough that a typical 2-3 fragment
 * datagram wastes little, large enough that the chunk map stays short. */
#define IPFRAG_CHUNK          1024
/* Chunks needed to cover any fragment offset (data ends at <= 65535). */
#define IPFRAG_DGRAM_CHUNKS   ((IPFRAG_DATAGRAM_MAX + IPFRAG_CHUNK - 1) / IPFRAG_CHUNK)
/* Fragment offsets and non-final lengths are multiples of 8 (RFC 791). */
#define IPFRAG_BLOCK          8
#define IPFRAG_CHUNK_BLOCKS   (IPFRAG_CHUNK / IPFRAG_BLOCK)
/* Unfragmentable part kept per datagram: the IPv4 header is at most 60;
 * IPv6 base header plus hop-by-hop/routing/destination options rarely
 * passes 100, and RFC 7112 chains longer than this are evasion. */
#define IPFRAG_HDR_MAX        512
#define IPFRAG_IPV4_HDR       20
#define IPFRAG_IPV4_HDR_MAX   60
#define IPFRAG_IPV6_HDR       40
#define IPFRAG_IPV6_FRAG_HDR  8
/* End of an index chain. */
#define IPFRAG_NIL            UINT32_MAX
/* Slot indices are uint32_t with IPFRAG_NIL reserved; keep far below. */
#define IPFRAG_SLOTS_MAX      (1U << 24)
/* Smallest hash table, so tiny tables still spread keys. */
#define IPFRAG_BUCKETS_MIN    16

#define IPFRAG_IP4_MF         0x2000
#define IPFRAG_IP4_OFFMASK    0x1fff

#define IPFRAG_PROTO_HOPOPTS  0
#define IPFRAG_PROTO_ROUTING  43
#define IPFRAG_PROTO_FRAG     44
#define IPFRAG_PROTO_AH       51
#define IPFRAG_PROTO_DSTOPTS  60

/* One pool chunk: data plus the presence bitmap of its 8-byte blocks. */
struct ipfrag_chunk {
	uint8_t  data[IPFRAG_CHUNK];
	uint8_t  have[IPFRAG_CHUNK_BLOCKS / 8]; /* bit set: block present */
	uint32_t next_free;                     /* free list link */
};

/* One partial datagram. */
struct ipfrag_dgram {
	struct pkt_addr src, dst;   /* key: addresses */
	uint32_t id;                /* key: IP identification / fragment id */
	uint8_t  af;                /* key: 4 or 6; 0 while the slot is free */
	uint8_t  proto;             /* key: IPv4 protocol; 0 for IPv6 (RFC 8200
	                               4.5: only offset 0 names the protocol) */
	uint8_t  have_last;         /* the final fragment (no MF) arrived */
	uint8_t  frag_nh;           /* IPv6: next header from the offset-0 fragment */
	uint16_t hdr_len;           /* bytes in hdr; 0 until offset 0 arrived */
	uint16_t nh_pos;            /* IPv6: where in hdr the fragment header is named */
	uint64_t first_us;          /* arrival of the first fragment (timeout base) */
	uint32_t total;             /* data length, once have_last */
	uint32_t max_end;           /* highest data end seen */
	uint32_t blocks;            /* 8-byte blocks present */
	uint32_t hnext;             /* hash chain, or free slot list */
	uint32_t older, newer;      /* age list, by first fragment */
	uint32_t chunk[IPFRAG_DGRAM_CHUNKS]; /* pool chunk per 1 KB of data */
	uint8_t  hdr[IPFRAG_HDR_MAX]; /* unfragmentable part of offset 0 */
};

struct ipfrag {
	struct ipfrag_dgram *slots;  /* max_datagrams slots */
	uint32_t  nslots;
	uint32_t  free_slot;         /* free slot list head */
	uint32_t  oldest, newest;    /* age list ends */
	uint32_t *buckets;           /* hash heads */
	uint32_t  hmask;             /* bucket count - 1 */
	uint32_t  seed;              /* hash seed, unknown to senders */
	struct ipfrag_chunk *chunks; /* the byte budget */
	uint32_t  nchunks;
	uint32_t  free_chunk;        /* free chunk list head */
	uint32_t  chunks_free;       /* length of that list */
	uint8_t  *out;               /* completed datagram, valid until next push */
	struct ipfrag_stats st;      /* counters */
};

/* Read a big-endian 16-bit value. */
static uint16_t
ipfrag_be16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

/* Store a big-endian 16-bit value. */
static void
ipfrag_put16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Bytes of an address of family af that count. */
static size_t
ipfrag_alen(uint8_t af)
{
	return af == 4 ? 4 : sizeof(((struct pkt_addr *)0)->a);
}

/* FNV-1a over the key, seeded. */
static uint32_t
ipfrag_hash(const struct ipfrag *t, uint8_t af, const struct pkt_addr *src,
    const struct pkt_addr *dst, uint32_t id, uint8_t proto)
{
	uint32_t h = 2166136261u ^ t->seed;
	size_t alen = ipfrag_alen(af);
	uint8_t tail[6] = { af, proto, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
		(uint8_t)(id >> 8), (uint8_t)id };

	for (size_t i = 0; i < alen; i++)
		h = (h ^ src->a[i]) * 16777619u;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ dst->a[i]) * 16777619u;
	for (size_t i = 0; i < sizeof(tail); i++)
		h = (h ^ tail[i]) * 16777619u;
	return h & t->hmask;
}

struct ipfrag *
ipfrag_new(size_t max_datagrams, size_t max_bytes)
{
	struct ipfrag *t;
	size_t nb, nc;

	nc = max_bytes / IPFRAG_CHUNK;
	if (max_datagrams == 0 || max_datagrams > IPFRAG_SLOTS_MAX || nc == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (nc > IPFRAG_SLOTS_MAX)
		nc = IPFRAG_SLOTS_MAX;
	for (nb = IPFRAG_BUCKETS_MIN; nb < max_datagrams; nb <<= 1)
		;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->slots = calloc(max_datagrams, sizeof(*t->slots));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	t->chunks = malloc(nc * sizeof(*t->chunks));
	t->out = malloc(IPFRAG_HDR_MAX + IPFRAG_DATAGRAM_MAX);
	if (t->slots == NULL || t->buckets == NULL || t->chunks == NULL ||
	    t->out == NULL) {
		ipfrag_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->nslots = (uint32_t)max_datagrams;
	t->hmask = (uint32_t)(nb - 1);
	/* No clock here: the heap address varies per run under ASLR, which
	 * keeps remote senders from precomputing colliding keys. */
	t->seed = (uint32_t)((uintptr_t)t ^ ((uintptr_t)t->chunks >> 12));
	for (size_t i = 0; i < nb; i++)
		t->buckets[i] = IPFRAG_NIL;
	for (uint32_t i = 0; i < t->nslots; i++)
		t->slots[i].hnext = i + 1 < t->nslots ? i + 1 : IPFRAG_NIL;
	t->free_slot = 0;
	t->nchunks = (uint32_t)nc;
	for (uint32_t i = 0; i < t->nchunks; i++)
		t->chunks[i].next_free = i + 1 < t->nchunks ? i + 1 : IPFRAG_NIL;
	t->free_chunk = 0;
	t->chunks_free = t->nchunks;
	t->oldest = t->newest = IPFRAG_NIL;
	return t;
}

void
ipfrag_free(struct ipfrag *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->buckets);
	free(t->chunks);
	free(t->out);
	free(t);
}

void
ipfrag_get_stats(const struct ipfrag *t, struct ipfrag_stats *st)
{
	*st = t->st;
}

/* Find the partial datagram with this key, or IPFRAG_NIL. */
static uint32_t
ipfrag_find(const struct ipfrag *t, uint32_t bucket, uint8_t af,
    const struct pkt_addr *src, const struct pkt_addr *dst, uint32_t id,
    uint8_t proto)
{
	for (uint32_t i = t->buckets[bucket]; i != IPFRAG_NIL;
	    i = t->slots[i].hnext) {
		const struct ipfrag_dgram *d = &t->slots[i];

		if (d->af == af && d->id == id && d->proto == proto &&
		    pkt_addr_cmp(af, &d->src, src) == 0 &&
		    pkt_addr_cmp(af, &d->dst, dst) == 0)
			return i;
	}
	return IPFRAG_NIL;
}

/* Return a datagram's chunks, unlink it everywhere and free its slot. */
static void
ipfrag_drop(struct ipfrag *t, uint32_t i)
{
	struct ipfrag_dgram *d = &t->slots[i];
	uint32_t *pp;

	for (size_t c = 0; c < IPFRAG_DGRAM_CHUNKS; c++) {
		if (d->chunk[c] == IPFRAG_NIL)
			continue;
		t->chunks[d->chunk[c]].next_free = t->free_chunk;
		t->free_chunk = d->chunk[c];
		t->chunks_free++;
	}
	pp = &t->buckets[ipfrag_hash(t, d->af, &d->src, &d->dst, d->id,
	    d->proto)];
	while (*pp != i)
		pp = &t->slots[*pp].hnext;
	*pp = d->hnext;
	if (d->older != IPFRAG_NIL)
		t->slots[d->older].newer = d->newer;
	else
		t->oldest = d->newer;
	if (d->newer != IPFRAG_NIL)
		t->slots[d->newer].older = d->older;
	else
		t->newest = d->older;
	d->af = 0;
	d->hnext = t->free_slot;
	t->free_slot = i;
}

/* Drop partial datagrams whose first fragment is older than the timeout. */
static void
ipfrag_expire(struct ipfrag *t, uint64_t now_us)
{
	while (t->oldest != IPFRAG_NIL) {
		const struct ipfrag_dgram *d = &t->slots[t->oldest];

		/* A clock that went backwards expires nothing. */
		if (now_us < d->first_us ||
		    now_us - d->first_us <= IPFRAG_TIMEOUT_US)
			break;
		ipfrag_drop(t, t->oldest);
		t->st.timed_out++;
	}
}

/* Take a free slot (evicting the oldest datagram if none) for this key. */
static uint32_t
ipfrag_alloc(struct ipfrag *t, uint32_t bucket, const struct pkt *p,
    uint8_t proto, uint64_t now_us)
{
	struct ipfrag_dgram *d;
	uint32_t i;

	if (t->free_slot == IPFRAG_NIL) {
		ipfrag_drop(t, t->oldest);
		t->st.evicted++;
	}
	i = t->free_slot;
	d = &t->slots[i];
	t->free_slot = d->hnext;
	memset(d->src.a, 0, sizeof(d->src.a));
	memset(d->dst.a, 0, sizeof(d->dst.a));
	memcpy(d->src.a, p->src.a, ipfrag_alen(p->af));
	memcpy(d->dst.a, p->dst.a, ipfrag_alen(p->af));
	d->af = p->af;
	d->id = p->frag_id;
	d->proto = proto;
	d->have_last = 0;
	d->hdr_len = 0;
	d->first_us = now_us;
	d->total = d->max_end = d->blocks = 0;
	for (size_t c = 0; c < IPFRAG_DGRAM_CHUNKS; c++)
		d->chunk[c] = IPFRAG_NIL;
	d->hnext = t->buckets[bucket];
	t->buckets[bucket] = i;
	d->newer = IPFRAG_NIL;
	d->older = t->newest;
	if (t->newest != IPFRAG_NIL)
		t->slots[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
	return i;
}

/* Find where the IPv6 unfragmentable part names the fragment header;
 * 0 when the part is not a well-formed chain ending at hl. */
static size_t
ipfrag_v6_nh_pos(const uint8_t *h, size_t hl)
{
	size_t pos = 6, off = IPFRAG_IPV6_HDR, len;

	while (off < hl) {
		switch (h[pos]) {
		case IPFRAG_PROTO_HOPOPTS:
		case IPFRAG_PROTO_ROUTING:
		case IPFRAG_PROTO_DSTOPTS:
		case IPFRAG_PROTO_AH:
			break;
		default:
			return 0;
		}
		if (off + 2 > hl)
			return 0;
		if (h[pos] == IPFRAG_PROTO_AH)
			len = ((size_t)h[off + 1] + 2) * 4;
		else
			len = ((size_t)h[off + 1] + 1) * 8;
		pos = off;
		off += len;
	}
	if (off != hl || h[pos] != IPFRAG_PROTO_FRAG)
		return 0;
	return pos;
}

/* Keep the offset-0 fragment's unfragmentable part; -1 if unusable. */
static int
ipfrag_keep_header(struct ipfrag_dgram *d, const struct pkt *p)
{
	size_t pos = 0;

	if (d->hdr_len != 0)
		return 0;       /* first wins, like the data */
	if (p->af == 6 &&
	    (pos = ipfrag_v6_nh_pos(p->l3, p->frag_hdr_len)) == 0)
		return -1;
	memcpy(d->hdr, p->l3, p->frag_hdr_len);
	d->hdr_len = (uint16_t)p->frag_hdr_len;
	d->nh_pos = (uint16_t)pos;
	d->frag_nh = p->frag_proto;
	return 0;
}

/* Make sure chunks cover data [off, end), evicting older datagrams (never
 * d itself) for room; -1 when the budget cannot hold this datagram. */
static int
ipfrag_reserve(struct ipfrag *t, uint32_t i, uint32_t off, uint32_t end)
{
	struct ipfrag_dgram *d = &t->slots[i];
	uint32_t need = 0, c;

	for (c = off / IPFRAG_CHUNK; c <= (end - 1) / IPFRAG_CHUNK; c++)
		if (d->chunk[c] == IPFRAG_NIL)
			need++;
	while (t->chunks_free < need) {
		uint32_t victim = t->oldest;

		if (victim == i)
			victim = d->newer;
		if (victim == IPFRAG_NIL)
			return -1;
		ipfrag_drop(t, victim);
		t->st.evicted++;
	}
	for (c = off / IPFRAG_CHUNK; c <= (end - 1) / IPFRAG_CHUNK; c++) {
		struct ipfrag_chunk *ch;

		if (d->chunk[c] != IPFRAG_NIL)
			continue;
		d->chunk[c] = t->free_chunk;
		ch = &t->chunks[t->free_chunk];
		t->free_chunk = ch->next_free;
		t->chunks_free--;
		memset(ch->have, 0, sizeof(ch->have));
	}
	return 0;
}

/* Copy data into absent blocks; compare it with present ones. Sets *ovl
 * when any block was already present and *diff when its bytes differed;
 * returns 1 when every block was present (a duplicate). */
static int
ipfrag_store(struct ipfrag *t, struct ipfrag_dgram *d, const uint8_t *data,
    uint32_t off, uint32_t end, int *ovl, int *diff)
{
	int all = 1;

	for (uint32_t b = off; b < end; b += IPFRAG_BLOCK) {
		struct ipfrag_chunk *ch = &t->chunks[d->chunk[b / IPFRAG_CHUNK]];
		uint32_t pos = b % IPFRAG_CHUNK, blk = pos / IPFRAG_BLOCK;
		uint32_t n = end - b < IPFRAG_BLOCK ? end - b : IPFRAG_BLOCK;
		uint8_t bit = (uint8_t)(1u << (blk & 7));

		if (ch->have[blk >> 3] & bit) {
			*ovl = 1;
			if (memcmp(ch->data + pos, data + (b - off), n) != 0)
				*diff = 1;
			continue;
		}
		all = 0;
		memcpy(ch->data + pos, data + (b - off), n);
		ch->have[blk >> 3] |= bit;
		d->blocks++;
	}
	return all;
}

/* Internet checksum of an IPv4 header with its checksum field zeroed. */
static uint16_t
ipfrag_cksum(const uint8_t *h, size_t hl)
{
	return csum_fold(csum_add(0, h, hl));
}

/* Write the whole datagram into t->out; returns its length, 0 if too big. */
static size_t
ipfrag_build(struct ipfrag *t, const struct ipfrag_dgram *d)
{
	uint8_t *o = t->out;
	size_t hl = d->hdr_len, len = hl + d->total;

	if (d->af == 4 ? len > IPFRAG_DATAGRAM_MAX :
	    len - IPFRAG_IPV6_HDR > IPFRAG_DATAGRAM_MAX)
		return 0;
	memcpy(o, d->hdr, hl);
	for (uint32_t c = 0; c * IPFRAG_CHUNK < d->total; c++) {
		uint32_t n = d->total - c * IPFRAG_CHUNK;

		if (n > IPFRAG_CHUNK)
			n = IPFRAG_CHUNK;
		memcpy(o + hl + c * IPFRAG_CHUNK, t->chunks[d->chunk[c]].data, n);
	}
	if (d->af == 4) {
		ipfrag_put16(o + 2, (uint32_t)len);
		/* Keep DF and the reserved bit; clear MF and the offset. */
		ipfrag_put16(o + 6, ipfrag_be16(o + 6) &
		    ~(IPFRAG_IP4_MF | IPFRAG_IP4_OFFMASK));
		o[10] = o[11] = 0;
		ipfrag_put16(o + 10, ipfrag_cksum(o, hl));
	} else {
		ipfrag_put16(o + 4, (uint32_t)(len - IPFRAG_IPV6_HDR));
		o[d->nh_pos] = d->frag_nh;
	}
	return len;
}

/* Check a fragment's own fields; 0 if it may be queued. */
static int
ipfrag_check(const struct pkt *p)
{
	size_t hl = p->frag_hdr_len, extra;
	uint64_t end = (uint64_t)p->frag_off + p->frag_len;

	if (p->l3 == NULL || p->frag_data == NULL)
		return -1;
	if (p->af == 4) {
		if (hl < IPFRAG_IPV4_HDR || hl > IPFRAG_IPV4_HDR_MAX)
			return -1;
		if (p->frag_data != p->l3 + hl)
			return -1;
		extra = hl;
	} else if (p->af == 6) {
		if (hl < IPFRAG_IPV6_HDR || hl > IPFRAG_HDR_MAX)
			return -1;
		if (p->frag_data != p->l3 + hl + IPFRAG_IPV6_FRAG_HDR)
			return -1;
		extra = hl - IPFRAG_IPV6_HDR;
	} else {
		return -1;
	}
	if ((size_t)(p->frag_data - p->l3) + p->frag_len > p->l3_len)
		return -1;
	/* An empty fragment adds nothing; Linux discards it too. */
	if (p->frag_len == 0)
		return -1;
	if (p->frag_off % IPFRAG_BLOCK != 0)
		return -1;
	/* Only the last fragment may end off an 8-byte boundary. */
	if (p->frag_more && p->frag_len % IPFRAG_BLOCK != 0)
		return -1;
	/* Offset 0 without MF is a whole datagram, not a fragment. */
	if (p->frag_off == 0 && !p->frag_more)
		return -1;
	/* Past 65535 once rebuilt: the ping of death. */
	if (end + extra > IPFRAG_DATAGRAM_MAX)
		return -1;
	return 0;
}

int
ipfrag_push(struct ipfrag *t, const struct pkt *p, uint64_t now_us,
    const uint8_t **out, size_t *outlen, int *conflict)
{
	struct ipfrag_dgram *d;
	uint32_t bucket, i, off, end;
	uint8_t proto;
	int ovl = 0, diff = 0, dup;
	size_t len;

	if (conflict != NULL)
		*conflict = 0;
	if (t == NULL || p == NULL || out == NULL || outlen == NULL)
		return -1;
	t->st.fragments++;
	ipfrag_expire(t, now_us);
	if (ipfrag_check(p) != 0) {
		t->st.invalid++;
		return -1;
	}
	off = p->frag_off;
	end = off + p->frag_len;
	proto = p->af == 4 ? p->frag_proto : 0;
	bucket = ipfrag_hash(t, p->af, &p->src, &p->dst, p->frag_id, proto);
	i = ipfrag_find(t, bucket, p->af, &p->src, &p->dst, p->frag_id, proto);
	if (i == IPFRAG_NIL)
		i = ipfrag_alloc(t, bucket, p, proto, now_us);
	d = &t->slots[i];

	/* Disagreement about where the datagram ends: the receiver cannot
	 * know which to believe, so (like Linux) nobody gets it. */
	if (!p->frag_more) {
		if ((d->have_last && d->total != end) || d->max_end > end)
			goto invalid;
	} else if (d->have_last && end > d->total) {
		goto invalid;
	}
	if (off == 0 && ipfrag_keep_header(d, p) != 0)
		goto invalid;
	if (ipfrag_reserve(t, i, off, end) != 0) {
		ipfrag_drop(t, i);
		t->st.evicted++;
		return -1;
	}
	dup = ipfrag_store(t, d, p->frag_data, off, end, &ovl, &diff);
	if (ovl) {
		t->st.overlaps++;
		if (diff) {
			t->st.conflicts++;
			if (conflict != NULL)
				*conflict = 1;
		}
		if (dup)
			return 0;   /* a duplicate: the first copy stays */
		goto invalid;   /* a partial overlap: the datagram is dropped */
	}
	if (!p->frag_more) {
		d->have_last = 1;
		d->total = end;
	}
	if (end > d->max_end)
		d->max_end = end;
	if (!d->have_last ||
	    d->blocks != (d->total + IPFRAG_BLOCK - 1) / IPFRAG_BLOCK)
		return 0;
	len = ipfrag_build(t, d);
	ipfrag_drop(t, i);
	if (len == 0) {
		t->st.invalid++;
		return -1;
	}
	t->st.reassembled++;
	*out = t->out;
	*outlen = len;
	return 1;

invalid:
	ipfrag_drop(t, i);
	t->st.invalid++;
	return -1;
}
