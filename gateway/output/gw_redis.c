/*
 * gw_redis.c - blocking, time-limited Redis connections (see gw_redis.h).
 *
 * hiredis does the protocol; this file adds URLs, AUTH, one error text per
 * failure, and walks replies so callers never see a redisReply. A reply of
 * an unexpected shape is an error, never a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "gw_redis.h"

/* Keys asked for per SCAN step (and values per MGET). */
#define GW_REDIS_SCAN_COUNT 512

struct gw_redis {
	redisContext *ctx;
};

/* Where a URL points. */
struct target {
	char host[GW_REDIS_URL_MAX];  /* "" for a unix socket */
	int  port;
	char path[GW_REDIS_URL_MAX];  /* unix socket path */
};

static int
parse_url(const char *url, struct target *t, char *err, size_t errlen)
{
	const char *p = url, *colon;
	char *end;
	long port = 6379;

	memset(t, 0, sizeof(*t));
	if (strncmp(p, "rediss://", 9) == 0) {
		snprintf(err, errlen, "\"%s\": TLS (rediss://) needs hiredis 1.0 or later; "
		    "this build's hiredis has none: use a local TLS tunnel (stunnel) and point "
		    "the URL at it", url);
		return -1;
	}
	if (strncmp(p, "unix:", 5) == 0)
		p += 5;
	else if (strncmp(p, "tcp://", 6) == 0)
		p += 6;
	else if (strncmp(p, "redis://", 8) == 0)
		p += 8;
	if (*p == '/') {
		if (strlen(p) >= sizeof t->path)
			goto bad;
		snprintf(t->path, sizeof t->path, "%s", p);
		return 0;
	}
	if (*p == '[') {
		const char *rb = strchr(p, ']');
		if (rb == NULL || (size_t)(rb - p - 1) >= sizeof t->host || rb == p + 1)
			goto bad;
		memcpy(t->host, p + 1, (size_t)(rb - p - 1));
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			goto bad;
	} else {
		colon = strrchr(p, ':');
		size_t hl = colon ? (size_t)(colon - p) : strlen(p);
		if (hl == 0 || hl >= sizeof t->host || memchr(p, '/', hl) != NULL)
			goto bad;
		memcpy(t->host, p, hl);
	}
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535)
			goto bad;
	}
	t->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "\"%s\": not a Redis address (tcp://host:port, host:port, "
	    "[v6]:port, unix:/path)", url);
	return -1;
}

int
gw_redis_url_check(const char *url, char *err, size_t errlen)
{
	struct target t;

	return parse_url(url, &t, err, errlen);
}

/* The connection's error text, or a default. */
static void
ctx_err(const redisContext *x, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, x != NULL && x->errstr[0] ? x->errstr : "connection lost");
}

struct gw_redis *
gw_redis_connect(const struct gw_redis_conf *c, char *err, size_t errlen, int *auth_refused)
{
	struct timeval tv = { (time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000 };
	struct gw_redis *r;
	struct target t;
	redisContext *x;

	if (auth_refused != NULL)
		*auth_refused = 0;
	if (parse_url(c->url, &t, err, errlen) == -1)
		return NULL;
	x = t.path[0] ? redisConnectUnixWithTimeout(t.path, tv) :
	    redisConnectWithTimeout(t.host, t.port, tv);
	if (x == NULL || x->err) {
		ctx_err(x, "connect", err, errlen);
		if (x != NULL)
			redisFree(x);
		return NULL;
	}
	if (redisSetTimeout(x, tv) != REDIS_OK) {
		ctx_err(x, "timeout", err, errlen);
		redisFree(x);
		return NULL;
	}
	/* AUTH, or PING to learn that the server wants a password */
	{
		const char *argv[3];
		size_t lens[3];
		int argc = 0;
		redisReply *rep;

		if (c->password[0] != '\0') {
			argv[argc++] = "AUTH";
			if (c->user[0] != '\0')
				argv[argc++] = c->user;
			argv[argc++] = c->password;
		} else
			argv[argc++] = "PING";
		for (int i = 0; i < argc; i++)
			lens[i] = strlen(argv[i]);
		rep = redisCommandArgv(x, argc, argv, lens);
		if (rep == NULL) {
			ctx_err(x, argc > 1 ? "AUTH" : "PING", err, errlen);
			redisFree(x);
			return NULL;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			/* never echo the password; the server's text does not carry it */
			snprintf(err, errlen, "%s refused: %.*s", argc > 1 ? "authentication" : "PING",
			    (int)(rep->len > 120 ? 120 : rep->len), rep->str);
			if (auth_refused != NULL && (argc > 1 || strncmp(rep->str, "NOAUTH", 6) == 0))
				*auth_refused = 1;
			freeReplyObject(rep);
			redisFree(x);
			return NULL;
		}
		freeReplyObject(rep);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		redisFree(x);
		return NULL;
	}
	r->ctx = x;
	return r;
}

void
gw_redis_close(struct gw_redis *r)
{
	if (r == NULL)
		return;
	redisFree(r->ctx);
	free(r);
}

int
gw_redis_fd(const struct gw_redis *r)
{
	return r->ctx->fd;
}

int
gw_redis_append(struct gw_redis *r, int argc, const char **argv, const size_t *lens)
{
	return redisAppendCommandArgv(r->ctx, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

int
gw_redis_collect(struct gw_redis *r, unsigned n, unsigned *errors, char *err, size_t errlen)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < n; i++) {
		redisReply *rep = NULL;

		if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK || rep == NULL) {
			ctx_err(r->ctx, "reply", err, errlen);
			if (rep != NULL)
				freeReplyObject(rep);
			return -1;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			if (bad++ == 0)
				snprintf(err, errlen, "%.*s", (int)(rep->len > 160 ? 160 : rep->len), rep->str);
		}
		freeReplyObject(rep);
	}
	if (errors != NULL)
		*errors = bad;
	return bad ? 1 : 0;
}

/* Run one command and return its reply, or NULL with err. */
static redisReply *
command(struct gw_redis *r, int argc, const char **argv, const size_t *lens, char *err, size_t errlen)
{
	redisReply *rep = redisCommandArgv(r->ctx, argc, argv, lens);

	if (rep == NULL)
		ctx_err(r->ctx, argv[0], err, errlen);
	else if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s: %.*s", argv[0], (int)(rep->len > 160 ? 160 : rep->len), rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

int
gw_redis_scan_values(struct gw_redis *r, const char *pattern, gw_redis_kv_cb cb, void *arg,
    uint64_t *skipped, char *err, size_t errlen)
{
	char cursor[32] = "0", count[16];

	snprintf(count, sizeof count, "%d", GW_REDIS_SCAN_COUNT);
	do {
		const char *sargv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT", count };
		size_t slens[6];
		redisReply *rep, *keys, *vals;

		for (int i = 0; i < 6; i++)
			slens[i] = strlen(sargv[i]);
		if ((rep = command(r, 6, sargv, slens, err, errlen)) == NULL)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof cursor ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			snprintf(err, errlen, "SCAN: unexpected reply");
			freeReplyObject(rep);
			return -1;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = '\0';
		keys = rep->element[1];
		if (keys->elements > 0) {
			size_t n = keys->elements + 1, i;
			const char **margv = calloc(n, sizeof(*margv));
			size_t *mlens = calloc(n, sizeof(*mlens));
			int stop = 0;

			if (margv == NULL || mlens == NULL) {
				free(margv);
				free(mlens);
				freeReplyObject(rep);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			margv[0] = "MGET";
			mlens[0] = 4;
			for (i = 0; i < keys->elements; i++) {
				if (keys->element[i]->type != REDIS_REPLY_STRING) {
					margv[i + 1] = "";
					mlens[i + 1] = 0;
					continue;
				}
				margv[i + 1] = keys->element[i]->str;
				mlens[i + 1] = keys->element[i]->len;
			}
			vals = command(r, (int)n, margv, mlens, err, errlen);
			if (vals == NULL || vals->type != REDIS_REPLY_ARRAY ||
			    vals->elements != keys->elements) {
				if (vals != NULL) {
					snprintf(err, errlen, "MGET: unexpected reply");
					freeReplyObject(vals);
				}
				free(margv);
				free(mlens);
				freeReplyObject(rep);
				return -1;
			}
			for (i = 0; i < vals->elements && !stop; i++) {
				const redisReply *v = vals->element[i];
				if (v->type != REDIS_REPLY_STRING || mlens[i + 1] == 0) {
					if (skipped != NULL)
						(*skipped)++;
					continue;
				}
				stop = cb(margv[i + 1], mlens[i + 1], v->str, v->len, arg);
			}
			free(margv);
			free(mlens);
			freeReplyObject(vals);
			if (stop) {
				freeReplyObject(rep);
				return 0;
			}
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

int
gw_redis_subscribe(struct gw_redis *r, const char *channel, char *err, size_t errlen)
{
	const char *argv[2] = { "SUBSCRIBE", channel };
	size_t lens[2] = { 9, strlen(channel) };
	redisReply *rep = command(r, 2, argv, lens, err, errlen);
	int ok;

	if (rep == NULL)
		return -1;
	ok = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(rep->element[0]->str, "subscribe") == 0;
	freeReplyObject(rep);
	if (!ok) {
		snprintf(err, errlen, "SUBSCRIBE: unexpected reply");
		return -1;
	}
	return 0;
}

int
gw_redis_read_messages(struct gw_redis *r, gw_redis_msg_cb cb, void *arg, char *err, size_t errlen)
{
	int n = 0;

	if (redisBufferRead(r->ctx) != REDIS_OK) {
		ctx_err(r->ctx, "subscription", err, errlen);
		return -1;
	}
	for (;;) {
		redisReply *rep = NULL;

		if (redisGetReplyFromReader(r->ctx, (void **)&rep) != REDIS_OK) {
			ctx_err(r->ctx, "subscription", err, errlen);
			return -1;
		}
		if (rep == NULL)
			break;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
		    rep->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(rep->element[0]->str, "message") == 0 &&
		    rep->element[2]->type == REDIS_REPLY_STRING) {
			cb(rep->element[2]->str, rep->element[2]->len, arg);
			n++;
		}
		freeReplyObject(rep);
	}
	return n;
}
