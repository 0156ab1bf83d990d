/*
 * A closed-loop XML-RPC load client for big answers: CONNS threads, one
 * connection each, each sending the call on stdin again as soon as its
 * answer is in, for SECONDS. Every answer is checked (HTTP 200, the whole
 * Content-Length read, the first <boolean> is 1). Prints one JSON line in
 * the shape of bench/wrk/rpc.lua's.
 *
 * Why not wrk for these: wrk grows a response body 1 KB at a time with
 * realloc(), so a 7.5 MB answer costs it ~900 mremap() calls, and its
 * threads then fight over the mmap lock and TLB shootdowns (perf: wrk
 * 27% in rwsem_spin_on_owner and smp_call_function_many_cond at 200
 * connections, pcipassd 5%). Here each connection keeps one buffer.
 * Each connection makes one call before the clock starts. Latencies are
 * raw, without wrk's coordinated-omission correction.
 *
 * usage: rpcload HOST PORT CONNS SECONDS < call.xml
 */
#define _GNU_SOURCE	/* strcasestr */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct load {
	struct sockaddr_in	 sin;
	const char		*req;		/* head and body */
	size_t			 reqlen;
	double			 end;
	pthread_barrier_t	 ready, start;
};

struct conn {
	struct load	*ld;
	pthread_t	 tid;
	double		*lat;		/* ms, one per answer */
	size_t		 nlat, cap;
	long		 faults, errors;
	long long	 bytes;
	char		*buf;
	size_t		 bufcap;
};

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dial(const struct load *ld)
{
	int	fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&ld->sin,
	    sizeof(ld->sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	for (; n > 0; p += w, n -= (size_t)w)
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
	return 0;
}

static int
grow(struct conn *c, size_t want)
{
	char	*nb;
	size_t	 cap = c->bufcap ? c->bufcap : 65536;

	while (cap < want)
		cap *= 2;
	if (cap == c->bufcap)
		return 0;
	if ((nb = realloc(c->buf, cap)) == NULL)
		return -1;
	c->buf = nb;
	c->bufcap = cap;
	return 0;
}

/*
 * One call on fd: 1 answered and right, 0 answered and wrong (a fault),
 * -1 the connection failed. *last is set when the server said it closes
 * the connection after this answer (its keep-alive limit).
 */
static int
call(struct conn *c, int fd, int *last)
{
	size_t		 have = 0, head, clen;
	const char	*cl, *b, *eoh;
	ssize_t		 r;
	int		 status;

	if (send_all(fd, c->ld->req, c->ld->reqlen) < 0)
		return -1;
	for (;;) {			/* the head */
		if (grow(c, have + 4096) < 0)
			return -1;
		if ((r = recv(fd, c->buf + have, c->bufcap - have - 1, 0)) <= 0)
			return -1;
		have += (size_t)r;
		c->buf[have] = '\0';
		if ((eoh = strstr(c->buf, "\r\n\r\n")) != NULL)
			break;
	}
	head = (size_t)(eoh - c->buf) + 4;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1 ||
	    (cl = strcasestr(c->buf, "\r\nContent-Length:")) == NULL ||
	    cl > eoh)
		return -1;
	clen = strtoul(cl + 17, NULL, 10);
	*last = (b = strcasestr(c->buf, "\r\nConnection: close")) != NULL &&
	    b < eoh;
	if (grow(c, head + clen + 1) < 0)
		return -1;
	while (have < head + clen) {
		if ((r = recv(fd, c->buf + have, head + clen - have, 0)) <= 0)
			return -1;
		have += (size_t)r;
	}
	if (have != head + clen)
		return -1;		/* bytes past the answer: not ours */
	c->buf[have] = '\0';
	c->bytes += (long long)have;
	b = strstr(c->buf + head, "<boolean>");
	return status == 200 && b != NULL && b[9] == '1';
}

static int
record(struct conn *c, double ms)
{
	double	*nl;

	if (c->nlat == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		if ((nl = realloc(c->lat, c->cap * sizeof(*nl))) == NULL)
			return -1;
		c->lat = nl;
	}
	c->lat[c->nlat++] = ms;
	return 0;
}

static void *
run(void *arg)
{
	struct conn	*c = arg;
	double		 t0;
	int		 fd, rc, last;

	/* One call before the clock starts: buffers grown, pages touched. */
	if ((fd = dial(c->ld)) >= 0 && (call(c, fd, &last) < 0 || last)) {
		close(fd);
		fd = -1;
	}
	c->bytes = 0;
	pthread_barrier_wait(&c->ld->ready);
	pthread_barrier_wait(&c->ld->start);
	while (now() < c->ld->end) {
		if (fd < 0 && (fd = dial(c->ld)) < 0) {
			c->errors++;
			usleep(1000);
			continue;
		}
		t0 = now();
		if ((rc = call(c, fd, &last)) < 0) {
			c->errors += now() < c->ld->end;
			close(fd);
			fd = -1;
			continue;
		}
		if (last) {
			close(fd);
			fd = -1;
		}
		if (now() > c->ld->end)
			break;		/* finished after the end: not counted */
		if (rc == 0)
			c->faults++;
		if (record(c, (now() - t0) * 1000) < 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static char *
read_call(const char *host, int port, size_t *len)
{
	char	 body[65536], *req;
	size_t	 n;
	int	 w;

	n = fread(body, 1, sizeof(body), stdin);
	if (n == 0 || n == sizeof(body) || (req = malloc(n + 512)) == NULL)
		return NULL;
	w = snprintf(req, 512, "POST /RPC2 HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Content-Type: text/xml\r\nContent-Length: %zu\r\n\r\n",
	    host, port, n);
	memcpy(req + w, body, n);
	*len = (size_t)w + n;
	return req;
}

int
main(int argc, char **argv)
{
	struct load	 ld;
	struct conn	*cs;
	double		*all, secs;
	size_t		 n = 0, i, k;
	long		 faults = 0, errors = 0;
	long long	 bytes = 0;
	int		 nc;

	if (argc != 5 || (nc = atoi(argv[3])) < 1 || (secs = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: rpcload HOST PORT CONNS SECONDS "
		    "< call.xml\n");
		return 2;
	}
	memset(&ld, 0, sizeof(ld));
	ld.sin.sin_family = AF_INET;
	ld.sin.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &ld.sin.sin_addr) != 1 ||
	    (ld.req = read_call(argv[1], atoi(argv[2]), &ld.reqlen)) == NULL ||
	    (cs = calloc((size_t)nc, sizeof(*cs))) == NULL) {
		fprintf(stderr, "rpcload: bad address or call\n");
		return 2;
	}
	pthread_barrier_init(&ld.ready, NULL, (unsigned)nc + 1);
	pthread_barrier_init(&ld.start, NULL, (unsigned)nc + 1);
	for (i = 0; i < (size_t)nc; i++) {
		cs[i].ld = &ld;
		if (pthread_create(&cs[i].tid, NULL, run, &cs[i]) != 0) {
			fprintf(stderr, "rpcload: cannot start thread %zu\n", i);
			return 1;
		}
	}
	pthread_barrier_wait(&ld.ready);
	ld.end = now() + secs;	/* the threads read it after the barrier */
	pthread_barrier_wait(&ld.start);
	for (i = 0; i < (size_t)nc; i++) {
		pthread_join(cs[i].tid, NULL);
		n += cs[i].nlat;
	}
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL)
		return 1;
	for (i = 0, k = 0; i < (size_t)nc; i++) {
		memcpy(all + k, cs[i].lat, cs[i].nlat * sizeof(*all));
		k += cs[i].nlat;
		faults += cs[i].faults;
		errors += cs[i].errors;
		bytes += cs[i].bytes;
	}
	qsort(all, n, sizeof(*all), cmp);
	printf("{\"requests\": %zu, \"seconds\": %.3f, \"rps\": %.1f, "
	    "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
	    "\"faults\": %ld, \"answers\": %zu, \"socket_errors\": %ld, "
	    "\"non2xx\": 0, \"bytes\": %lld, \"client\": \"rpcload\"}\n",
	    n, secs, (double)n / secs,
	    n ? all[n / 2] : 0.0, n ? all[(size_t)((double)(n - 1) * 0.99)] : 0.0,
	    n ? all[n - 1] : 0.0, faults, n, errors, bytes);
	return 0;
}
