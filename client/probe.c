/*
 * pcipass-probe: what OpenNebula's monitoring runs on every host, every
 * cycle (dist/opennebula/im/pci.rb calls it): the local daemon's
 * pci.probe, printed as it is.
 *
 * It is `pcipass probe` without libcurl. Loading libcurl and the dozens
 * of libraries it needs takes ~10 ms, two thirds of a whole probe of a
 * small host, and this call needs none of it: one POST on loopback. So
 * the call is encoded and the answer parsed by xmlrpc-c, as everywhere
 * in pcipass, and only the HTTP exchange is done here: HTTP/1.1 with
 * Connection: close, one request, the answer read to the end.
 *
 * usage: pcipass-probe [-H HOST[:PORT]] [-t MS]
 * Endpoint: -H, else $PCIPASS_ENDPOINT, else 127.0.0.1:2634 (resolving
 * a host name is not bounded by -t; the IM probe gives an address). Session:
 * $PCIPASS_AUTH, else ~/.pcipass/auth, as for pcipass. Prints the
 * template only once it has all of it: on any failure nothing on
 * stdout, "pcipass-probe: why" on stderr, and exit 1 (2: usage).
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define PCIPASS_PROBE_VERSION	"0.1.0"
#define ANSWER_MAX	(64u * 1024 * 1024)	/* PCIPASS_XML_LIMIT */

static const char	*endpoint = "127.0.0.1";
static int		 timeout_ms = 30000;
static char		 host[256];
static int		 port;

/* Say why on stderr; returns -1. */
static int	say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
say(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "pcipass-probe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return -1;
}

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for ev before the deadline: 0, or -1. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = ev };
	long long	left;
	int		n;

	do {
		if ((left = deadline - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	} while ((n = poll(&pfd, 1, (int)left)) < 0 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/* Connected to the daemon before the deadline: the socket, or -1, said. */
static int
dial(long long deadline)
{
	struct addrinfo	 hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char		 serv[8], why[128];
	socklen_t	 len;
	int		 fd = -1, rc, err = ECONNREFUSED;

	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0)
		return say("%s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		len = sizeof(err);
		if (err == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0)
			break;
		if (err == EINPROGRESS)
			err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		/* As pcipass says it: "(connection refused)". */
		snprintf(why, sizeof(why), "%s", strerror(err));
		why[0] = (char)tolower((unsigned char)why[0]);
		return say("pci.probe: no pcipassd answers at %s:%d (%s): is "
		    "it running, and listening there?", host, port, why);
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n, long long deadline)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) < 0) {
			if ((errno == EAGAIN || errno == EINTR) &&
			    wait_fd(fd, POLLOUT, deadline) == 0)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The whole answer, to the server's close: *out (malloc'd, NUL after
 * the *len bytes).
 */
static int
read_all(int fd, char **out, size_t *len, long long deadline)
{
	size_t	 cap = 65536, n = 0;
	char	*buf = malloc(cap), *nb;
	ssize_t	 r;

	while (buf != NULL) {
		if (n == cap - 1) {
			if (cap >= ANSWER_MAX ||
			    (nb = realloc(buf, cap * 2)) == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		if ((r = recv(fd, buf + n, cap - 1 - n, 0)) > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0) {
			buf[n] = '\0';
			*out = buf;
			*len = n;
			return 0;
		}
		if ((errno == EAGAIN || errno == EINTR) &&
		    wait_fd(fd, POLLIN, deadline) == 0)
			continue;
		break;
	}
	if (buf != NULL && n == cap - 1 && cap >= ANSWER_MAX)
		errno = EFBIG;
	free(buf);
	return -1;
}

/* The XML-RPC body of an HTTP answer: *body, *blen; or -1, said. */
static int
http_body(char *ans, size_t n, const char **body, size_t *blen)
{
	char	*end, *cl;
	int	 status = 0;
	size_t	 want;

	if (sscanf(ans, "HTTP/1.%*d %d", &status) != 1 ||
	    (end = memmem(ans, n, "\r\n\r\n", 4)) == NULL)
		return say("%s:%d: not an HTTP answer", host, port);
	*end = '\0';
	*body = end + 4;
	*blen = n - (size_t)(*body - ans);
	if (status != 200)
		return say("%s:%d: HTTP %d: %.200s", host, port, status,
		    *body);
	if ((cl = strcasestr(ans, "\r\ncontent-length:")) != NULL) {
		want = strtoul(cl + 17, NULL, 10);
		if (want > *blen)
			return say("%s:%d: the answer was cut short", host,
			    port);
		*blen = want;
	}
	return 0;
}

/* pci.probe's template: *out (free with free()), or -1, said. */
static int
probe(const char *session, char **out)
{
	xmlrpc_env		 env;
	xmlrpc_mem_block	*call;
	xmlrpc_value		*params, *resp = NULL, *v = NULL;
	const char		*body = NULL, *text = NULL, *fstr = NULL;
	char			*req = NULL, *ans = NULL;
	size_t			 alen, blen = 0;
	long long		 deadline = now_ms() + timeout_ms;
	int			 fd = -1, n, rc = -1, fcode = 0;

	xmlrpc_env_init(&env);
	params = params_new(&env, session, NULL);
	call = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_call(&env, call, "pci.probe", params);
	if (env.fault_occurred) {
		say("pci.probe: %s", env.fault_string);
		goto done;
	}
	n = asprintf(&req, "POST /RPC2 HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Content-Type: text/xml\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", host, port,
	    XMLRPC_MEMBLOCK_SIZE(char, call));
	if (n < 0) {
		say("pci.probe: out of memory");
		goto done;
	}
	if ((fd = dial(deadline)) < 0)
		goto done;
	if (send_all(fd, req, (size_t)n, deadline) < 0 ||
	    send_all(fd, XMLRPC_MEMBLOCK_CONTENTS(char, call),
	    XMLRPC_MEMBLOCK_SIZE(char, call), deadline) < 0 ||
	    read_all(fd, &ans, &alen, deadline) < 0) {
		say("pci.probe: %s:%d: %s", host, port, strerror(errno));
		goto done;
	}
	if (http_body(ans, alen, &body, &blen) < 0)
		goto done;
	xmlrpc_parse_response2(&env, body, blen, &resp, &fcode, &fstr);
	if (env.fault_occurred || fstr != NULL) {
		say("pci.probe: %s", env.fault_occurred ? env.fault_string :
		    fstr);
		goto done;
	}
	if (answer_decode(&v, resp, "pci.probe") < 0) {
		say("%s", pcipass_error_last()->message);
		goto done;
	}
	xmlrpc_read_string(&env, v, &text);
	if (env.fault_occurred) {
		say("pci.probe: the answer is not a string");
		goto done;
	}
	*out = (char *)text;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(req);
	free(ans);
	free((char *)fstr);
	if (v != NULL)
		xmlrpc_DECREF(v);
	if (resp != NULL)
		xmlrpc_DECREF(resp);
	if (params != NULL)
		xmlrpc_DECREF(params);
	if (call != NULL)
		XMLRPC_MEMBLOCK_FREE(char, call);
	xmlrpc_env_clean(&env);
	return rc;
}

static int
usage(FILE *fp)
{
	fprintf(fp, "usage: pcipass-probe [-H HOST[:PORT]] [-t MS]\n"
	    "\n"
	    "Print the local pcipassd's pci.probe, OpenNebula's monitoring "
	    "template.\n"
	    "\n"
	    "options:\n"
	    "  -H HOST[:PORT]   the daemon (default $PCIPASS_ENDPOINT, else "
	    "127.0.0.1:2634)\n"
	    "  -t MS            give up after MS (default 30000)\n"
	    "  --help           this text\n"
	    "  --version        the version\n"
	    "environment: PCIPASS_AUTH (session file), PCIPASS_ENDPOINT\n"
	    "exit: 0 printed, 1 error (nothing on stdout), 2 usage\n");
	return fp == stdout ? 0 : 2;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*ep = getenv("PCIPASS_ENDPOINT");
	char		*session, *text, *end;
	long		 ms;
	int		 ch;

	if (ep != NULL && *ep != '\0')
		endpoint = ep;
	while ((ch = getopt_long(argc, argv, "H:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			endpoint = optarg;
			break;
		case 't':
			ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || ms < 1 ||
			    ms > 3600000) {
				fprintf(stderr, "pcipass-probe: -t \"%s\": "
				    "expected 1 to 3600000 ms\n", optarg);
				return usage(stderr);
			}
			timeout_ms = (int)ms;
			break;
		case 'h':
			return usage(stdout);
		case 'V':
			printf("pcipass-probe " PCIPASS_PROBE_VERSION "\n");
			return 0;
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, PCIPASS_XML_LIMIT);
	if (endpoint_parse(endpoint, host, sizeof(host), &port) < 0 ||
	    pcipass_session_load(&session) < 0) {
		say("%s", pcipass_error_last()->message);
		return 1;
	}
	if (probe(session, &text) < 0) {
		free(session);
		return 1;
	}
	free(session);
	fputs(text, stdout);
	if (*text != '\0' && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
