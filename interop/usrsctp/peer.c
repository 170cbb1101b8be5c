/*
 * peer.c - usrsctp echo/discard interop peer for Braid.
 *
 * Implements the contract in docs/peer-contract.md on top of usrsctp
 * (AF_CONN mode, SCTP over our own UDP socket, one SCTP packet per
 * datagram, SCTP ports 5000/5000).
 *
 * Build: gcc -O2 -Wall -Wextra -o peer interop/usrsctp/peer.c -lusrsctp -lpthread
 *
 * Single-threaded: usrsctp_init_nothreads(), a poll() loop on the UDP
 * socket, usrsctp_conninput() for received datagrams and
 * usrsctp_handle_timers() for the SCTP timers. The SCTP socket is
 * non-blocking; the output callback sendto()s each packet to the peer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <usrsctp.h>

#define SCTP_PORT 5000
#define MAX_ERROR_LINES 10
#define CONNECT_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 30000
#define SCTP_BUF_BYTES (1024 * 1024) /* 1 MiB measured faster on loopback than 4 MiB */
#define UDP_BUF_BYTES (8 * 1024 * 1024)
#define DEFAULT_OSTREAMS 1024
#define MAX_STREAMS 65536

/* ------------------------------------------------------------------ */
/* options                                                              */

enum mode { MODE_ECHO, MODE_DISCARD };

struct opts {
	int server;
	const char *bind;
	const char *connect;
	enum mode mode;
	long long count; /* -1: not given */
	long streams;    /* client */
	long long size;  /* client */
	int unordered;
	long mtu;
	long long abort_after; /* -1: off */
};

static struct opts O;

/* ------------------------------------------------------------------ */
/* global state                                                         */

static int udp_fd = -1;
static struct sockaddr_storage peer_ss;
static socklen_t peer_len;
static int have_peer;
static int conn_ctx; /* address of this is the AF_CONN "address" */
static size_t max_out_len; /* largest datagram we sent */
static uint64_t out_packets, in_packets;
static long corrupt_every; /* test: corrupt CRC of every Nth outgoing packet */
static int verify_crc;     /* test: verify CRC32c of all packets independently */
static uint64_t crc_bad_out, crc_bad_in;

static struct socket *lsock; /* server listening socket */
static struct socket *sock;  /* association socket */

static int established;
static int ended;
static int graceful;
static int aborted_by_us;
static int shutdown_sent;
static int dry_seen;
static double t_established, t_end, t_last_data;
static uint16_t streams_out, streams_in;

static uint64_t messages; /* received (server) or sent (client) */
static uint64_t bytes;
static uint64_t errors;
static int error_lines;

/* receiver state */
static uint32_t *next_seq;   /* per stream: next expected seq (ordered) / arrivals */
static uint8_t **seen;       /* per stream: bitmap of seen seqs (unordered) */
static uint32_t *seen_cap;   /* per stream: bitmap capacity in bits */
static long long rx_size = -1; /* expected message size (server learns it) */
static uint64_t rx_messages;  /* messages received (client: echoes) */
static int max_stream_seen = -1;

static uint8_t *pattern; /* pattern[j] = j % 251 */
static uint8_t *msgbuf;
static size_t msgcap, msglen;
static struct sctp_rcvinfo msginfo;
static int msg_have_info;
static int echo_pending; /* server: msgbuf holds a message still to be echoed */

/* client send state */
static uint8_t *sendbuf;
static uint64_t next_k;
static int64_t built_k = -1;

/* ------------------------------------------------------------------ */
/* utilities                                                            */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "peer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void emit_error_line(const char *msg)
{
	fputs("{\"event\":\"error\",\"msg\":", stdout);
	json_str(stdout, msg);
	fputs("}\n", stdout);
	fflush(stdout);
}

/* A failed check: counted always, printed at most MAX_ERROR_LINES times. */
static void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void check_fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	errors++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (error_lines < MAX_ERROR_LINES) {
		error_lines++;
		emit_error_line(buf);
	} else {
		diag("check failed: %s", buf);
	}
}

/* A fatal (non-check) error line; not counted in "errors". */
static void fatal_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fatal_line(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	emit_error_line(buf);
	diag("%s", buf);
}

static void fmt_addr(const struct sockaddr *sa, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
		snprintf(out, n, "%s:%u", host, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
		snprintf(out, n, "[%s]:%u", host, ntohs(s->sin6_port));
	} else {
		snprintf(out, n, "?");
	}
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return 0;
}

/* Parse "ADDR:PORT" or "[V6]:PORT". Returns 0 on success. */
static int parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
	char host[256];
	const char *port;
	size_t hl;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':')
			return -1;
		hl = (size_t)(e - s - 1);
		if (hl >= sizeof host)
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		port = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || strchr(s, ':') != c)
			return -1;
		hl = (size_t)(c - s);
		if (hl == 0 || hl >= sizeof host)
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		port = c + 1;
	}
	if (!*port)
		return -1;
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	if (atol(port) > 65535)
		return -1;
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return -1;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ------------------------------------------------------------------ */
/* independent CRC32c (only used for the PEER_VERIFY_CRC self-check)      */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

static int crc_ok(const uint8_t *p, size_t n)
{
	if (n < 12)
		return 0;
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (i >= 8 && i < 12) ? 0 : p[i];
		c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
	}
	c = ~c;
	/* The checksum is stored little-endian-of-the-CRC ("network order" of the reflected CRC). */
	uint32_t stored = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
			  (uint32_t)p[11] << 24;
	return c == stored;
}

/* ------------------------------------------------------------------ */
/* usrsctp glue                                                         */

/* Outgoing packets are queued here and sent in batches with sendmmsg() (see flush_out()). */
#define OUT_ARENA (2 * 1024 * 1024)
#define OUT_MAX 256
static uint8_t *out_arena;
static size_t out_used;
static struct iovec out_iov[OUT_MAX];
static struct mmsghdr out_msg[OUT_MAX];
static int out_n;

static void flush_out(void)
{
	int i = 0;
	while (i < out_n) {
		int r = sendmmsg(udp_fd, out_msg + i, (unsigned)(out_n - i), 0);
		if (r > 0) {
			i += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			struct pollfd p = {.fd = udp_fd, .events = POLLOUT};
			poll(&p, 1, 1);
			continue;
		}
		/* ECONNREFUSED etc.: drop this packet (SCTP retransmits) and go on */
		i++;
	}
	out_n = 0;
	out_used = 0;
}

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
	(void)addr;
	(void)tos;
	(void)set_df;
	if (!have_peer)
		return 0;
	out_packets++;
	if (len > max_out_len)
		max_out_len = len;
	if (verify_crc && !crc_ok(buf, len))
		crc_bad_out++;
	if (out_n == OUT_MAX || out_used + len > OUT_ARENA)
		flush_out();
	uint8_t *dst = out_arena + out_used;
	memcpy(dst, buf, len);
	if (corrupt_every > 0 && out_packets % (uint64_t)corrupt_every == 0 && len >= 12)
		dst[8] ^= 0x5a;
	out_used += len;
	out_iov[out_n].iov_base = dst;
	out_iov[out_n].iov_len = len;
	memset(&out_msg[out_n], 0, sizeof out_msg[out_n]);
	out_msg[out_n].msg_hdr.msg_name = &peer_ss;
	out_msg[out_n].msg_hdr.msg_namelen = peer_len;
	out_msg[out_n].msg_hdr.msg_iov = &out_iov[out_n];
	out_msg[out_n].msg_hdr.msg_iovlen = 1;
	out_n++;
	return 0;
}

static void debug_printf(const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
}

static void setopt_or_warn(struct socket *s, int level, int name, const void *v, socklen_t l,
			   const char *what)
{
	if (usrsctp_setsockopt(s, level, name, v, l) < 0)
		diag("setsockopt %s: %s", what, strerror(errno));
}

static void set_pmtu(struct socket *s, sctp_assoc_t id)
{
	struct sctp_paddrparams pp;
	memset(&pp, 0, sizeof pp);
	pp.spp_assoc_id = id;
	/* all paths; for an existing association the family must be AF_CONN (sconn_addr NULL) */
	((struct sockaddr_conn *)&pp.spp_address)->sconn_family = AF_CONN;
	pp.spp_flags = SPP_PMTUD_DISABLE;
	/* usrsctp's AF_CONN path MTU excludes the 12-byte SCTP common header (measured with
	 * usrsctp 0.9.5: spp_pathmtu P gives datagrams of up to P + 12 bytes). */
	pp.spp_pathmtu = (uint32_t)O.mtu - 12;
	setopt_or_warn(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp, "SCTP_PEER_ADDR_PARAMS");
}

/* Options set on the client socket / server listening socket (inherited on accept). */
static void configure_socket(struct socket *s, int listening)
{
	if (usrsctp_set_non_blocking(s, 1) < 0)
		diag("set_non_blocking: %s", strerror(errno));

	struct linger lg = {.l_onoff = 0, .l_linger = 0};
	setopt_or_warn(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg, "SO_LINGER");

	int buf = SCTP_BUF_BYTES;
	if (O.size > 0 && (long long)buf < 2 * O.size)
		buf = (int)(2 * O.size);
	setopt_or_warn(s, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf, "SO_SNDBUF");
	setopt_or_warn(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf, "SO_RCVBUF");

	int one = 1, zero = 0;
	setopt_or_warn(s, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof one, "SCTP_NODELAY");
	setopt_or_warn(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &one, sizeof one, "SCTP_RECVRCVINFO");
	/* Partial deliveries of one message are never interleaved with another message. */
	setopt_or_warn(s, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &zero, sizeof zero,
		       "SCTP_FRAGMENT_INTERLEAVE");

	struct sctp_initmsg im;
	memset(&im, 0, sizeof im);
	long os = O.server ? 65535 : (O.streams > DEFAULT_OSTREAMS ? O.streams : DEFAULT_OSTREAMS);
	im.sinit_num_ostreams = (uint16_t)os;
	im.sinit_max_instreams = 65535;
	setopt_or_warn(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im, "SCTP_INITMSG");

	uint16_t ev[] = {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT, SCTP_SENDER_DRY_EVENT,
			 SCTP_REMOTE_ERROR, SCTP_PARTIAL_DELIVERY_EVENT};
	for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
		struct sctp_event e;
		memset(&e, 0, sizeof e);
		e.se_assoc_id = SCTP_FUTURE_ASSOC;
		e.se_type = ev[i];
		e.se_on = 1;
		setopt_or_warn(s, IPPROTO_SCTP, SCTP_EVENT, &e, sizeof e, "SCTP_EVENT");
	}
	set_pmtu(s, SCTP_FUTURE_ASSOC);
	(void)listening;
}

/* ------------------------------------------------------------------ */
/* UDP pump: receive datagrams, feed usrsctp, run timers               */

static uint64_t last_tick_ms;
static uint64_t last_rx_ms;

static void run_timers(void)
{
	uint64_t t = now_ms();
	if (t > last_tick_ms) {
		usrsctp_handle_timers((uint32_t)(t - last_tick_ms));
		last_tick_ms = t;
	}
}

#define IN_BATCH 64
static void pump(int timeout_ms)
{
	static uint8_t *in_bufs;
	static struct iovec iov[IN_BATCH];
	static struct mmsghdr msgs[IN_BATCH];
	static struct sockaddr_storage froms[IN_BATCH];
	if (!in_bufs) {
		in_bufs = malloc((size_t)IN_BATCH * 65536);
		if (!in_bufs) {
			diag("out of memory");
			exit(1);
		}
	}
	flush_out();
	struct pollfd p = {.fd = udp_fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r > 0 && (p.revents & (POLLIN | POLLERR))) {
		for (int round = 0; round < 8; round++) {
			for (int i = 0; i < IN_BATCH; i++) {
				iov[i].iov_base = in_bufs + (size_t)i * 65536;
				iov[i].iov_len = 65536;
				memset(&msgs[i], 0, sizeof msgs[i]);
				msgs[i].msg_hdr.msg_name = &froms[i];
				msgs[i].msg_hdr.msg_namelen = sizeof froms[i];
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			int n = recvmmsg(udp_fd, msgs, IN_BATCH, MSG_DONTWAIT, NULL);
			if (n < 0) {
				if (errno == EINTR || errno == ECONNREFUSED)
					continue; /* ICMP errors etc. */
				break;
			}
			if (n == 0)
				break;
			for (int i = 0; i < n; i++) {
				struct sockaddr_storage *from = &froms[i];
				size_t len = msgs[i].msg_len;
				const uint8_t *dgram = iov[i].iov_base;
				if (!have_peer) {
					memcpy(&peer_ss, from, msgs[i].msg_hdr.msg_namelen);
					peer_len = msgs[i].msg_hdr.msg_namelen;
					have_peer = 1;
				} else if (!same_addr(&peer_ss, from)) {
					static int warned;
					if (!warned++)
						diag("ignoring datagrams from a second source");
					continue;
				}
				in_packets++;
				if (verify_crc && !crc_ok(dgram, len))
					crc_bad_in++;
				usrsctp_conninput(&conn_ctx, dgram, len, 0);
			}
			last_rx_ms = now_ms();
			if (n < IN_BATCH)
				break;
		}
	}
	run_timers();
}

/* ------------------------------------------------------------------ */
/* payload                                                              */

static uint32_t ppid_for(uint32_t stream, uint32_t seq)
{
	return ((stream + seq) % 2 == 0) ? 53 : 51;
}

static size_t pattern_len;

/* pattern[j] = j % 251, long enough for messages of n bytes */
static void ensure_pattern(size_t n)
{
	size_t need = 251 + n + 8;
	if (need <= pattern_len)
		return;
	uint8_t *p = realloc(pattern, need);
	if (!p) {
		diag("out of memory");
		exit(1);
	}
	for (size_t j = pattern_len; j < need; j++)
		p[j] = (uint8_t)(j % 251);
	pattern = p;
	pattern_len = need;
}

static const uint8_t *pattern_at(uint32_t seq, size_t i)
{
	return pattern + ((uint64_t)seq * 31u % 251u) + i;
}

static void build_payload(uint8_t *b, size_t size, uint32_t stream, uint32_t seq, int unordered)
{
	if (size < 8) {
		memcpy(b, pattern_at(seq, 0), size);
		return;
	}
	b[0] = (uint8_t)(stream >> 8);
	b[1] = (uint8_t)stream;
	b[2] = (uint8_t)(seq >> 24);
	b[3] = (uint8_t)(seq >> 16);
	b[4] = (uint8_t)(seq >> 8);
	b[5] = (uint8_t)seq;
	b[6] = 0;
	b[7] = unordered ? 1 : 0;
	memcpy(b + 8, pattern_at(seq, 8), size - 8);
}

static int seen_test_and_set(uint32_t stream, uint32_t seq)
{
	if (seq >= seen_cap[stream]) {
		uint32_t nc = seen_cap[stream] ? seen_cap[stream] : 1024;
		while (nc <= seq && nc < 0x80000000u)
			nc *= 2;
		if (nc <= seq)
			nc = 0xFFFFFFFFu;
		uint8_t *n = realloc(seen[stream], (size_t)nc / 8 + 1);
		if (!n) {
			diag("out of memory");
			exit(1);
		}
		memset(n + seen_cap[stream] / 8, 0, (size_t)nc / 8 + 1 - seen_cap[stream] / 8);
		seen[stream] = n;
		seen_cap[stream] = nc;
	}
	int was = (seen[stream][seq / 8] >> (seq % 8)) & 1;
	seen[stream][seq / 8] |= (uint8_t)(1u << (seq % 8));
	return was;
}

static int seen_test(uint32_t stream, uint32_t seq)
{
	if (seq >= seen_cap[stream] || !seen[stream])
		return 0;
	return (seen[stream][seq / 8] >> (seq % 8)) & 1;
}

/* Check one received message. */
static void check_message(const uint8_t *p, size_t len, const struct sctp_rcvinfo *ri)
{
	uint32_t sid = ri->rcv_sid;
	int unord = (ri->rcv_flags & SCTP_UNORDERED) != 0;
	uint32_t ppid = ntohl(ri->rcv_ppid);
	uint32_t seq;

	if ((int)sid > max_stream_seen)
		max_stream_seen = (int)sid;
	if (rx_size < 0) {
		rx_size = (long long)len;
		ensure_pattern(len);
	}
	if ((long long)len != rx_size) {
		check_fail("stream %u: message length %zu, expected %lld", sid, len, rx_size);
		return;
	}
	if (len < 8) {
		seq = next_seq[sid];
		next_seq[sid]++;
		if (unord)
			check_fail("stream %u: message of %zu bytes (no header) delivered unordered", sid,
				   len);
		if (ppid != ppid_for(sid, seq))
			check_fail("stream %u seq %u: ppid %u, expected %u", sid, seq, ppid,
				   ppid_for(sid, seq));
		if (memcmp(p, pattern_at(seq, 0), len) != 0)
			check_fail("stream %u seq %u: payload mismatch", sid, seq);
		return;
	}
	uint32_t hsid = (uint32_t)p[0] << 8 | p[1];
	seq = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
	uint16_t flags = (uint16_t)(p[6] << 8 | p[7]);
	if (hsid != sid)
		check_fail("stream %u: header stream id %u", sid, hsid);
	if (((flags & 1) != 0) != unord)
		check_fail("stream %u seq %u: unordered flag %d but delivered %s", sid, seq, flags & 1,
			   unord ? "unordered" : "ordered");
	if (ppid != ppid_for(sid, seq))
		check_fail("stream %u seq %u: ppid %u, expected %u", sid, seq, ppid, ppid_for(sid, seq));
	if (memcmp(p + 8, pattern_at(seq, 8), len - 8) != 0) {
		size_t i = 8;
		while (i < len && p[i] == *pattern_at(seq, i))
			i++;
		check_fail("stream %u seq %u: payload byte %zu is %u, expected %u", sid, seq, i, p[i],
			   *pattern_at(seq, i));
	}
	if (!O.server && O.count >= 0) {
		uint64_t S = (uint64_t)O.streams, N = (uint64_t)O.count;
		uint64_t exp_on_stream = N / S + ((uint64_t)sid < N % S ? 1 : 0);
		if (sid >= S || seq >= exp_on_stream)
			check_fail("stream %u: unexpected seq %u", sid, seq);
	}
	if (unord) {
		if (seen_test_and_set(sid, seq))
			check_fail("stream %u: seq %u arrived twice", sid, seq);
	} else {
		if (seq != next_seq[sid])
			check_fail("stream %u: expected seq %u, got %u", sid, next_seq[sid], seq);
		next_seq[sid] = seq + 1;
	}
}

/* End-of-association completeness checks. */
static void final_checks(void)
{
	if (O.server) {
		if (O.count >= 0 && rx_messages != (uint64_t)O.count)
			check_fail("expected %lld messages, got %" PRIu64, O.count, rx_messages);
		if (O.count > 0 && rx_size >= 8 && max_stream_seen >= 0) {
			/* Every message k < N on stream k mod S', seq k div S', with S' inferred. */
			uint64_t S = (uint64_t)max_stream_seen + 1, N = (uint64_t)O.count;
			uint64_t missing = 0;
			for (uint64_t s = 0; s < S; s++) {
				uint64_t exp = N / S + (s < N % S ? 1 : 0);
				if (seen[s]) {
					for (uint64_t q = 0; q < exp; q++)
						if (!seen_test((uint32_t)s, (uint32_t)q))
							missing++;
				} else if (next_seq[s] < exp) {
					/* ordered stream (or nothing arrived) */
					missing += exp - next_seq[s];
				}
			}
			if (missing && rx_messages == N)
				check_fail("%" PRIu64 " messages missing", missing);
		}
	} else if (O.mode == MODE_ECHO) {
		uint64_t N = (uint64_t)O.count, S = (uint64_t)O.streams;
		if (rx_messages != N)
			check_fail("expected %" PRIu64 " echoes, got %" PRIu64, N, rx_messages);
		else if (O.unordered && O.size >= 8) {
			uint64_t missing = 0;
			for (uint64_t s = 0; s < S && s < MAX_STREAMS; s++) {
				uint64_t exp = N / S + (s < N % S ? 1 : 0);
				for (uint64_t q = 0; q < exp; q++)
					if (!seen_test((uint32_t)s, (uint32_t)q))
						missing++;
			}
			if (missing)
				check_fail("%" PRIu64 " echoes missing", missing);
		}
	}
}

/* ------------------------------------------------------------------ */
/* association events                                                   */

static void print_established(const char *via)
{
	char a[128];
	if (established)
		return;
	established = 1;
	t_established = now_s();
	fmt_addr((struct sockaddr *)&peer_ss, a, sizeof a);
	printf("{\"event\":\"established\",\"peer\":\"%s\",\"streams_out\":%u,\"streams_in\":%u}\n", a,
	       streams_out, streams_in);
	fflush(stdout);
	diag("established (%s)", via);
}

static void end_assoc(int is_graceful, const char *why)
{
	if (ended)
		return;
	ended = 1;
	graceful = is_graceful;
	t_end = now_s();
	diag("association ended: %s", why);
}

static void handle_notification(const uint8_t *buf, size_t len)
{
	const union sctp_notification *n = (const void *)buf;
	if (len < sizeof(n->sn_header))
		return;
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE: {
		const struct sctp_assoc_change *ac = &n->sn_assoc_change;
		switch (ac->sac_state) {
		case SCTP_COMM_UP:
		case SCTP_RESTART:
			streams_out = ac->sac_outbound_streams;
			streams_in = ac->sac_inbound_streams;
			print_established("COMM_UP");
			break;
		case SCTP_SHUTDOWN_COMP:
			end_assoc(1, "SHUTDOWN_COMP");
			break;
		case SCTP_COMM_LOST:
			end_assoc(0, "COMM_LOST (abort or timeout)");
			break;
		case SCTP_CANT_STR_ASSOC:
			end_assoc(0, "CANT_STR_ASSOC");
			break;
		default:
			break;
		}
		break;
	}
	case SCTP_SHUTDOWN_EVENT:
		diag("peer sent SHUTDOWN");
		break;
	case SCTP_SENDER_DRY_EVENT:
		dry_seen = 1;
		break;
	case SCTP_REMOTE_ERROR:
		diag("remote error notification");
		break;
	case SCTP_PARTIAL_DELIVERY_EVENT:
		diag("partial delivery aborted");
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* receive / send                                                       */

/* Closes the association with an ABORT (SO_LINGER 0), sends it, and ends with `why`. */
static void abort_with(const char *why)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	usrsctp_setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	usrsctp_close(sock); /* sends ABORT */
	sock = NULL;
	flush_out();
	end_assoc(0, why);
}

static void abort_assoc(void)
{
	aborted_by_us = 1;
	abort_with("aborted by us (--abort-after)");
}

static int try_echo(void); /* server */

static void message_complete(void)
{
	rx_messages++;
	t_last_data = now_s();
	if (O.server) {
		messages++;
		bytes += msglen;
	}
	check_message(msgbuf, msglen, &msginfo);
	if (O.server && O.mode == MODE_ECHO) {
		echo_pending = 1;
		try_echo();
	}
	if (O.server && O.abort_after >= 0 && messages >= (uint64_t)O.abort_after) {
		abort_assoc();
		return;
	}
	if (!echo_pending) {
		msglen = 0;
		msg_have_info = 0;
	}
}

/* Read everything available. */
static void drain_recv(void)
{
	while (sock && !ended && !echo_pending) {
		if (msgcap - msglen < 65536) {
			size_t nc = msgcap ? msgcap * 2 : 1 << 20;
			uint8_t *n = realloc(msgbuf, nc);
			if (!n) {
				diag("out of memory");
				exit(1);
			}
			msgbuf = n;
			msgcap = nc;
		}
		struct sctp_rcvinfo ri;
		socklen_t ril = sizeof ri;
		unsigned int it = 0;
		int flags = 0;
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		memset(&ri, 0, sizeof ri);
		ssize_t r = usrsctp_recvv(sock, msgbuf + msglen, msgcap - msglen, (struct sockaddr *)&from,
					  &fl, &ri, &ril, &it, &flags);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			end_assoc(0, errno == ECONNRESET ? "recv: connection reset" : strerror(errno));
			return;
		}
		if (r == 0) {
			/* EOF: the association is gone. COMM_LOST/SHUTDOWN_COMP decide gracefulness. */
			end_assoc(0, "recv: EOF without SHUTDOWN_COMP");
			return;
		}
		if (flags & MSG_NOTIFICATION) {
			handle_notification(msgbuf + msglen, (size_t)r);
			continue;
		}
		if (!msg_have_info) {
			if (it == SCTP_RECVV_RCVINFO)
				msginfo = ri;
			else
				memset(&msginfo, 0, sizeof msginfo);
			msg_have_info = 1;
		}
		msglen += (size_t)r;
		if (flags & MSG_EOR)
			message_complete();
	}
}

static int try_echo(void)
{
	if (!echo_pending || !sock)
		return 1;
	static size_t sndbuf_size = SCTP_BUF_BYTES;
	if (msglen * 2 > sndbuf_size) {
		/* usrsctp refuses (EMSGSIZE) a message larger than the send buffer */
		int b = (int)(msglen * 2);
		if (usrsctp_setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &b, sizeof b) == 0)
			sndbuf_size = (size_t)b;
	}
	struct sctp_sndinfo si;
	memset(&si, 0, sizeof si);
	si.snd_sid = msginfo.rcv_sid;
	si.snd_ppid = msginfo.rcv_ppid; /* already network order */
	si.snd_flags = (msginfo.rcv_flags & SCTP_UNORDERED) ? SCTP_UNORDERED : 0;
	ssize_t r = usrsctp_sendv(sock, msgbuf, msglen, NULL, 0, &si, sizeof si, SCTP_SENDV_SNDINFO, 0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		diag("echo sendv: %s", strerror(errno));
		/* association is going away; drop the echo */
	} else if ((size_t)r != msglen) {
		diag("echo sendv: short send %zd of %zu", r, msglen);
	}
	echo_pending = 0;
	msglen = 0;
	msg_have_info = 0;
	return 1;
}

/* Client: send as many messages as flow control allows. */
static void client_send(void)
{
	uint64_t N = (uint64_t)O.count, S = (uint64_t)O.streams;
	for (;;) {
		if (sock && !ended && O.abort_after >= 0 && next_k >= (uint64_t)O.abort_after) {
			abort_assoc();
			return;
		}
		if (!sock || ended || next_k >= N)
			return;
		uint32_t stream = (uint32_t)(next_k % S);
		uint32_t seq = (uint32_t)(next_k / S);
		if (built_k != (int64_t)next_k) {
			build_payload(sendbuf, (size_t)O.size, stream, seq, O.unordered);
			built_k = (int64_t)next_k;
		}
		struct sctp_sndinfo si;
		memset(&si, 0, sizeof si);
		si.snd_sid = (uint16_t)stream;
		si.snd_ppid = htonl(ppid_for(stream, seq));
		si.snd_flags = O.unordered ? SCTP_UNORDERED : 0;
		/* The last message asks for an immediate SACK (I bit, RFC 7053), so the discard-mode
		 * "all acknowledged" point is not delayed by the peer's delayed-SACK timer. */
		if (next_k + 1 == N)
			si.snd_flags |= SCTP_SACK_IMMEDIATELY;
		ssize_t r = usrsctp_sendv(sock, sendbuf, (size_t)O.size, NULL, 0, &si, sizeof si,
					  SCTP_SENDV_SNDINFO, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			fatal_line("send message %" PRIu64 ": %s", next_k, strerror(errno));
			end_assoc(0, "send failed");
			return;
		}
		if ((long long)r != O.size) {
			fatal_line("send message %" PRIu64 ": short send %zd", next_k, r);
			end_assoc(0, "short send");
			return;
		}
		next_k++;
		messages++;
		bytes += (uint64_t)O.size;
	}
}

/* ------------------------------------------------------------------ */
/* setup                                                                */

static void setup_udp(const struct sockaddr_storage *bind_ss, socklen_t bind_len)
{
	udp_fd = socket(bind_ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (udp_fd < 0) {
		fatal_line("udp socket: %s", strerror(errno));
		exit(1);
	}
	int b = UDP_BUF_BYTES;
	if (setsockopt(udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &b, sizeof b) < 0)
		setsockopt(udp_fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
	if (setsockopt(udp_fd, SOL_SOCKET, SO_SNDBUFFORCE, &b, sizeof b) < 0)
		setsockopt(udp_fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
	if (bind_ss->ss_family == AF_INET6) {
		int off = 0;
		setsockopt(udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
	}
	if (bind(udp_fd, (const struct sockaddr *)bind_ss, bind_len) < 0) {
		char a[128];
		fmt_addr((const struct sockaddr *)bind_ss, a, sizeof a);
		fatal_line("bind %s: %s", a, strerror(errno));
		exit(1);
	}
}

static void setup_usrsctp(void)
{
	usrsctp_init_nothreads(0, conn_output, getenv("PEER_USRSCTP_DEBUG") ? debug_printf : NULL);
	usrsctp_disable_crc32c_offload(); /* real CRC32c in both directions (the default) */
	usrsctp_sysctl_set_sctp_no_csum_on_loopback(0);
	usrsctp_sysctl_set_sctp_sendspace(SCTP_BUF_BYTES);
	usrsctp_sysctl_set_sctp_recvspace(SCTP_BUF_BYTES);
	usrsctp_sysctl_set_sctp_max_chunks_on_queue(1u << 16);
	usrsctp_sysctl_set_sctp_ecn_enable(0);
	usrsctp_sysctl_set_sctp_auto_asconf(0);
	usrsctp_sysctl_set_sctp_asconf_enable(0);
	usrsctp_sysctl_set_sctp_blackhole(2);
	last_tick_ms = now_ms();
	out_arena = malloc(OUT_ARENA);
	if (!out_arena) {
		diag("out of memory");
		exit(1);
	}
	usrsctp_register_address(&conn_ctx);
}

static struct socket *new_sctp_socket(void)
{
	struct socket *s = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!s) {
		fatal_line("usrsctp_socket: %s", strerror(errno));
		exit(1);
	}
	configure_socket(s, O.server);
	struct sockaddr_conn sc;
	memset(&sc, 0, sizeof sc);
	sc.sconn_family = AF_CONN;
	sc.sconn_port = htons(SCTP_PORT);
	sc.sconn_addr = &conn_ctx;
	if (usrsctp_bind(s, (struct sockaddr *)&sc, sizeof sc) < 0) {
		fatal_line("usrsctp_bind: %s", strerror(errno));
		exit(1);
	}
	return s;
}

static void fill_status(void)
{
	struct sctp_status st;
	socklen_t l = sizeof st;
	memset(&st, 0, sizeof st);
	if (usrsctp_getsockopt(sock, IPPROTO_SCTP, SCTP_STATUS, &st, &l) == 0) {
		streams_out = st.sstat_outstrms;
		streams_in = st.sstat_instrms;
	}
}

/* ------------------------------------------------------------------ */
/* finish                                                               */

static int finish(void)
{
	if (!t_end)
		t_end = now_s();
	double seconds = established ? t_end - t_established : 0.0;
	double data_s = 0.0;
	if (established && t_last_data > 0)
		data_s = t_last_data - t_established;
	if (data_s < 0)
		data_s = 0;
	final_checks();
	double mbps = data_s > 0 ? (double)bytes / data_s / 1e6 : 0.0;
	printf("{\"event\":\"done\",\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"seconds\":%.6f,\"mbytes_per_s\":%.3f,\"data_seconds\":%.6f,\"errors\":%" PRIu64
	       ",\"graceful\":%s}\n",
	       messages, bytes, seconds, mbps, data_s, errors, graceful ? "true" : "false");
	fflush(stdout);

	struct sctpstat st;
	memset(&st, 0, sizeof st);
	usrsctp_get_stat(&st);
	diag("stats: udp out %" PRIu64 " in %" PRIu64 ", largest datagram %zu (mtu %ld), "
	     "sw-crc sent %u, bad checksum %u, retransmitted DATA %u (fast %u), T3 timeouts %u",
	     out_packets, in_packets, max_out_len, O.mtu, st.sctps_sendswcrc, st.sctps_badsum,
	     st.sctps_sendretransdata, st.sctps_sendfastretrans, st.sctps_timodata);
	if (verify_crc)
		diag("independent crc32c check: bad out %" PRIu64 ", bad in %" PRIu64, crc_bad_out,
		     crc_bad_in);

	if (sock) {
		usrsctp_close(sock);
		sock = NULL;
	}
	flush_out();
	int ok = graceful && errors == 0;
	if (O.server && O.count >= 0 && rx_messages != (uint64_t)O.count)
		ok = 0;
	if (aborted_by_us)
		ok = 0;
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* roles                                                                */

static int run_server(void)
{
	struct sockaddr_storage bss;
	socklen_t bl;
	if (parse_addr(O.bind, &bss, &bl) < 0) {
		fprintf(stderr, "peer: bad --bind address '%s'\n", O.bind);
		return 2;
	}
	setup_udp(&bss, bl);
	struct sockaddr_storage la;
	socklen_t lal = sizeof la;
	getsockname(udp_fd, (struct sockaddr *)&la, &lal);
	char a[128];
	fmt_addr((struct sockaddr *)&la, a, sizeof a);
	printf("{\"event\":\"listening\",\"addr\":\"%s\"}\n", a);
	fflush(stdout);

	setup_usrsctp();
	lsock = new_sctp_socket();
	if (usrsctp_listen(lsock, 1) < 0) {
		fatal_line("usrsctp_listen: %s", strerror(errno));
		return 1;
	}

	while (!ended) {
		pump(10);
		if (!sock) {
			struct socket *s = usrsctp_accept(lsock, NULL, NULL);
			if (s) {
				sock = s;
				usrsctp_set_non_blocking(sock, 1);
				usrsctp_close(lsock);
				lsock = NULL;
				set_pmtu(sock, 0);
				fill_status();
				last_rx_ms = now_ms();
				/* COMM_UP may also be queued on the new socket; print once. */
				print_established("accept");
			}
		}
		if (sock) {
			if (echo_pending && try_echo()) {
				if (O.abort_after >= 0 && messages >= (uint64_t)O.abort_after && !ended)
					abort_assoc();
			}
			drain_recv();
			if (!ended && now_ms() - last_rx_ms > IDLE_TIMEOUT_MS) {
				fatal_line("idle for %d s, giving up", IDLE_TIMEOUT_MS / 1000);
				abort_with("idle timeout");
			}
		}
	}
	return finish();
}

static int run_client(void)
{
	struct sockaddr_storage css, bss;
	socklen_t cl, bl;
	if (parse_addr(O.connect, &css, &cl) < 0) {
		fprintf(stderr, "peer: bad --connect address '%s'\n", O.connect);
		return 2;
	}
	const char *b = O.bind ? O.bind : (css.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0");
	if (parse_addr(b, &bss, &bl) < 0) {
		fprintf(stderr, "peer: bad --bind address '%s'\n", b);
		return 2;
	}
	setup_udp(&bss, bl);
	if (bss.ss_family == AF_INET6 && css.ss_family == AF_INET) {
		/* map the IPv4 destination for an IPv6 socket */
		struct sockaddr_in *v4 = (struct sockaddr_in *)&css;
		struct sockaddr_in6 v6;
		memset(&v6, 0, sizeof v6);
		v6.sin6_family = AF_INET6;
		v6.sin6_port = v4->sin_port;
		v6.sin6_addr.s6_addr[10] = 0xff;
		v6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6.sin6_addr.s6_addr[12], &v4->sin_addr, 4);
		memcpy(&css, &v6, sizeof v6);
		cl = sizeof v6;
	}
	memcpy(&peer_ss, &css, cl);
	peer_len = cl;
	have_peer = 1;

	setup_usrsctp();
	sendbuf = malloc((size_t)O.size);
	if (!sendbuf) {
		diag("out of memory");
		return 1;
	}
	sock = new_sctp_socket();
	struct sockaddr_conn sc;
	memset(&sc, 0, sizeof sc);
	sc.sconn_family = AF_CONN;
	sc.sconn_port = htons(SCTP_PORT);
	sc.sconn_addr = &conn_ctx;
	if (usrsctp_connect(sock, (struct sockaddr *)&sc, sizeof sc) < 0 && errno != EINPROGRESS) {
		fatal_line("usrsctp_connect: %s", strerror(errno));
		return 1;
	}
	uint64_t t0 = now_ms();
	int pmtu_set = 0;
	while (!ended) {
		pump(10);
		drain_recv();
		if (ended)
			break;
		if (!established) {
			if (now_ms() - t0 > CONNECT_TIMEOUT_MS) {
				fatal_line("could not connect to %s within %d s", O.connect,
					   CONNECT_TIMEOUT_MS / 1000);
				if (sock)
					usrsctp_close(sock);
				return 1;
			}
			continue;
		}
		if (!pmtu_set) {
			set_pmtu(sock, 0);
			pmtu_set = 1;
			last_rx_ms = now_ms();
		}
		if (now_ms() - last_rx_ms > IDLE_TIMEOUT_MS) {
			/* not in the contract: keeps a test harness from hanging on a stuck peer */
			fatal_line("idle for %d s, giving up", IDLE_TIMEOUT_MS / 1000);
			abort_with("idle timeout");
			break;
		}
		client_send();
		drain_recv();
		if (ended || !sock)
			break;
		if (next_k >= (uint64_t)O.count && !shutdown_sent) {
			int data_done;
			if (O.mode == MODE_ECHO) {
				data_done = rx_messages >= (uint64_t)O.count;
				if (data_done)
					t_last_data = now_s();
			} else {
				/* SENDER_DRY after the last send: everything is acknowledged. The last message
				 * was queued in this loop turn and no SACK has been processed since, so a dry
				 * event seen from now on is for it. With --count 0 nothing is outstanding. */
				static int armed;
				if (!armed) {
					armed = 1;
					dry_seen = (O.count == 0);
				}
				data_done = dry_seen;
				if (data_done)
					t_last_data = now_s();
			}
			if (data_done) {
				if (usrsctp_shutdown(sock, SHUT_WR) < 0)
					diag("usrsctp_shutdown: %s", strerror(errno));
				shutdown_sent = 1;
			}
		}
	}
	if (!established) {
		fatal_line("could not connect to %s (association setup failed)", O.connect);
		if (sock)
			usrsctp_close(sock);
		flush_out();
		return 1;
	}
	return finish();
}

/* ------------------------------------------------------------------ */
/* command line                                                         */

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "peer: %s\n", msg);
	fprintf(stderr,
		"usage:\n"
		"  peer server --bind ADDR:PORT [--mode echo|discard] [--count N] [--mtu M]\n"
		"              [--abort-after K]\n"
		"  peer client --connect ADDR:PORT [--bind ADDR:PORT] --streams S --count N\n"
		"              --size BYTES [--unordered] [--mode echo|discard] [--mtu M]\n"
		"              [--abort-after K]\n");
	exit(2);
}

static long long parse_num(const char *flag, const char *v, long long lo, long long hi)
{
	char *e;
	errno = 0;
	if (!v || !*v || *v == '-' || *v == '+')
		goto bad;
	long long x = strtoll(v, &e, 10);
	if (errno || *e || x < lo || x > hi)
		goto bad;
	return x;
bad:
	fprintf(stderr, "peer: %s: invalid value '%s' (expected %lld..%lld)\n", flag, v ? v : "", lo,
		hi);
	usage(NULL);
	return 0;
}

static void parse_args(int argc, char **argv)
{
	if (argc < 2)
		usage(NULL);
	if (strcmp(argv[1], "server") == 0)
		O.server = 1;
	else if (strcmp(argv[1], "client") == 0)
		O.server = 0;
	else if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		usage(NULL);
	else
		usage("first argument must be 'server' or 'client'");
	O.mode = MODE_ECHO;
	O.count = -1;
	O.streams = -1;
	O.size = -1;
	O.mtu = 1200;
	O.abort_after = -1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
#define NEEDV()                                                   \
	do {                                                          \
		if (!v) {                                                 \
			fprintf(stderr, "peer: %s needs a value\n", a);       \
			usage(NULL);                                          \
		}                                                         \
		i++;                                                      \
	} while (0)
		if (strcmp(a, "--bind") == 0) {
			NEEDV();
			O.bind = v;
		} else if (strcmp(a, "--mode") == 0) {
			NEEDV();
			if (strcmp(v, "echo") == 0)
				O.mode = MODE_ECHO;
			else if (strcmp(v, "discard") == 0)
				O.mode = MODE_DISCARD;
			else
				usage("--mode must be echo or discard");
		} else if (strcmp(a, "--count") == 0) {
			NEEDV();
			O.count = parse_num(a, v, 0, 0xFFFFFFFFLL);
		} else if (strcmp(a, "--mtu") == 0) {
			NEEDV();
			O.mtu = (long)parse_num(a, v, 524, 65507);
		} else if (strcmp(a, "--abort-after") == 0) {
			NEEDV();
			O.abort_after = parse_num(a, v, 0, 0xFFFFFFFFLL);
		} else if (!O.server && strcmp(a, "--connect") == 0) {
			NEEDV();
			O.connect = v;
		} else if (!O.server && strcmp(a, "--streams") == 0) {
			NEEDV();
			O.streams = (long)parse_num(a, v, 1, 65535);
		} else if (!O.server && strcmp(a, "--size") == 0) {
			NEEDV();
			O.size = parse_num(a, v, 1, 64LL * 1024 * 1024);
		} else if (!O.server && strcmp(a, "--unordered") == 0) {
			O.unordered = 1;
		} else {
			fprintf(stderr, "peer: unknown argument '%s'\n", a);
			usage(NULL);
		}
#undef NEEDV
	}
	if (O.server) {
		if (!O.bind)
			usage("server needs --bind");
	} else {
		if (!O.connect)
			usage("client needs --connect");
		if (O.streams < 0 || O.count < 0 || O.size < 0)
			usage("client needs --streams, --count and --size");
		if (O.unordered && O.size < 8)
			usage("--unordered needs --size >= 8");
		if ((uint64_t)O.count / (uint64_t)O.streams > 0xFFFFFFFFull)
			usage("--count too large");
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	crc_init();
	verify_crc = getenv("PEER_VERIFY_CRC") != NULL;
	if (getenv("PEER_CORRUPT_EVERY"))
		corrupt_every = atol(getenv("PEER_CORRUPT_EVERY"));

	next_seq = calloc(MAX_STREAMS, sizeof *next_seq);
	seen = calloc(MAX_STREAMS, sizeof *seen);
	seen_cap = calloc(MAX_STREAMS, sizeof *seen_cap);
	if (!next_seq || !seen || !seen_cap) {
		diag("out of memory");
		return 1;
	}
	ensure_pattern(O.server ? 65536 : (size_t)O.size);
	if (!O.server)
		rx_size = O.size;

	return O.server ? run_server() : run_client();
}
