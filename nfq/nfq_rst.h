/*
 * nfq_rst.h - forge the two TCP resets that end a blocked session.
 *
 * Private to nfq/. The caller opens the raw sockets once (before dropping
 * privileges: CAP_NET_RAW is checked at socket creation) and hands in the
 * decoded packet it dropped; nothing here allocates or logs.
 */
#ifndef NFQ_NFQ_RST_H
#define NFQ_NFQ_RST_H

#include <stddef.h>
#include <stdint.h>

#include "../inspect/pkt.h"

/* Raw sockets for forged segments; a member is -1 when that family failed. */
struct nfq_rst {
	int fd4;   /* AF_INET, IPPROTO_RAW (IP_HDRINCL implied) */
	int fd6;   /* AF_INET6, IPPROTO_RAW (header included) */
};

/* Open both sockets. 0 when at least one family works, else -1 + errno. */
int nfq_rst_open(struct nfq_rst *r);
void nfq_rst_close(struct nfq_rst *r);

/*
 * Build the reset for one direction into buf (at least NFQ_RST_MAXLEN
 * bytes). to_sender: the reset goes back to p's sender, forged from p's
 * receiver (seq = p->ack, ack = p->seq + payload); else it goes on to the
 * receiver, forged from p's sender (seq = p->seq, ack = p->ack). Returns
 * the datagram length, 0 when p is not a TCP segment. Exposed for tests.
 */
#define NFQ_RST_MAXLEN 60
size_t nfq_rst_build(uint8_t *buf, const struct pkt *p, int to_sender);

/* Send both resets. Returns how many were sent (0..2); errno from the
 * last failure. */
int nfq_rst_send(const struct nfq_rst *r, const struct pkt *p);

#endif
