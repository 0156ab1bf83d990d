/*
 * The XML-RPC front: our own Abyss server object, so that every body is
 * seen before any XML parser runs; pcipassd.c starts and stops it.
 *
 * Abyss's defaults are unsafe for a daemon (../shared/NOTES.md): 15
 * connections with a 2 s accept stall when they are busy, a ~130 KB
 * thread stack whose overflow kills the process, an expat that expands
 * entities, a body timeout per read rather than in total. So: 2048
 * connections (an idle one costs a thread and ~12 KB; past the cap
 * Abyss stops accepting and everyone waits) with the open-file limit to
 * match, a 512 backlog, short keep-alive and read timeouts, an
 * explicit 1 MiB handler stack, a request size limit checked against
 * Content-Length before reading, a total deadline for reading a body,
 * and a refusal of any body carrying "<!", nested too deep or not in an
 * ASCII-compatible encoding, before the parser sees it.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xmlrpc-c/abyss.h>
#include <xmlrpc-c/server_abyss.h>

#include "rpc.h"

#define MAX_CONN		2048
#define MAX_BACKLOG		512
#define KEEPALIVE_SECONDS	5
#define KEEPALIVE_REQUESTS	1000
#define READ_TIMEOUT_SECONDS	5
#define BODY_DEADLINE_SECONDS	10
#define HANDLER_STACK		(1024 * 1024)
#define MAX_BODY		(1024 * 1024)
#define MAX_DEPTH		512

struct rpc {
	struct pcipassd	*pd;
	TServer		 server;
	TChanSwitch	*chanswitch;	/* the server does not own it */
	int		 abyss, made;	/* AbyssInit, ServerCreate done */
};

static void
reply(TSession *s, int status, const char *text)
{
	ResponseStatus(s, (xmlrpc_uint16_t)status);
	ResponseContentType(s, "text/plain");
	ResponseContentLength(s, strlen(text));
	ResponseWriteStart(s);
	ResponseWriteBody(s, text, (xmlrpc_uint32_t)strlen(text));
	ResponseWriteEnd(s);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The declared length: -1 missing, -2 malformed or too large. */
static long
content_length(TSession *s)
{
	const char	*v = RequestHeaderValue(s, "content-length");
	char		*end;
	long		 n;

	if (v == NULL)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < 0)
		return -2;
	return n;
}

/* Read exactly len bytes within the total deadline. */
static int
read_body(TSession *s, char *buf, size_t len)
{
	const char	*chunk;
	size_t		 got = 0, n;
	double		 deadline = now() + BODY_DEADLINE_SECONDS;

	while (got < len) {
		SessionGetReadData(s, len - got, &chunk, &n);
		memcpy(buf + got, chunk, n);
		got += n;
		if (got == len)
			break;
		if (now() > deadline || !SessionRefillBuffer(s))
			return -1;
	}
	return 0;
}

/*
 * The deepest element nesting, counted without parsing. xmlrpc-c builds
 * the whole element tree before its own limit (64 nested values) is
 * checked and frees it recursively: ~30000 nested elements (a 430 KB
 * body) overflow the handler's stack and kill the daemon. XML-RPC's 64
 * levels need fewer than 200 elements. Quoted attribute values may hold
 * '>' and "/>", so they are skipped.
 */
static size_t
element_depth(const char *b, size_t len)
{
	size_t	i, depth = 0, max = 0;
	char	q;

	for (i = 0; i < len; i++) {
		if (b[i] != '<' || i + 1 == len || b[i + 1] == '?')
			continue;
		if (b[i + 1] == '/') {
			if (depth > 0)
				depth--;
			continue;
		}
		for (q = 0, i++; i < len && (q || b[i] != '>'); i++)
			if (q ? b[i] == q : b[i] == '"' || b[i] == '\'')
				q = q ? 0 : b[i];
		if (i < len && b[i - 1] != '/' && ++depth > max)
			max = depth;
	}
	return max;
}

/*
 * Whether an element named <i8> or <ex:i8> occurs. xmlrpc-c 1.33 crashes
 * (SIGSEGV, a format string short of an argument) on any <i8> whose text
 * is not a valid 64-bit integer, and no pcipass method takes an i8.
 */
static int
has_i8(const char *b, size_t len)
{
	const char	*p = b, *end = b + len;
	size_t		 n;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		p++;
		n = (size_t)(end - p);
		if (n >= 3 && strncmp(p, "ex:", 3) == 0)
			p += 3, n -= 3;
		if (n >= 3 && strncmp(p, "i8", 2) == 0 &&
		    strchr(" \t\r\n/>", p[2]) != NULL)
			return 1;
	}
	return 0;
}

/*
 * Refuse what could make the parser do unbounded work or read the body
 * in another encoding: markup declarations ("<!": DOCTYPE, ENTITY, and
 * CDATA, which XML-RPC does not use), a NUL byte or a UTF-16/32 byte
 * order mark, an encoding declaration other than UTF-8 or ASCII.
 */
static const char *
body_refusal(const char *b, size_t len)
{
	const char	*enc, *end;

	if (len >= 2 && ((unsigned char)b[0] == 0xfe ||
	    (unsigned char)b[0] == 0xff))
		return "body is not UTF-8 (UTF-16/32 byte order mark)";
	if (memchr(b, '\0', len) != NULL)
		return "body is not UTF-8 (NUL byte)";
	if (memmem(b, len, "<!", 2) != NULL)
		return "markup declarations (<!DOCTYPE, <!ENTITY) are refused";
	if (element_depth(b, len) > MAX_DEPTH)
		return "elements nested more than 512 deep are refused";
	if (has_i8(b, len))
		return "<i8> values are refused: no method takes one";
	if (len > 5 && memcmp(b, "<?xml", 5) == 0 &&
	    (end = memmem(b, len, "?>", 2)) != NULL &&
	    (enc = memmem(b, (size_t)(end - b), "encoding", 8)) != NULL) {
		enc += 8;
		enc += strspn(enc, " \t\r\n=\"'");
		if (strncasecmp(enc, "utf-8", 5) != 0 &&
		    strncasecmp(enc, "us-ascii", 8) != 0)
			return "only UTF-8 bodies are accepted";
	}
	return NULL;
}

static int
body_write(void *s, const char *buf, size_t n)
{
	return ResponseWriteBody(s, buf, (xmlrpc_uint32_t)n) ? 0 : -1;
}

/* The answer: one buffer, or a shared listing between head and tail. */
static void
answer_call(struct pcipassd *pd, TSession *s, const char *body, size_t len)
{
	struct rpc_reply	 r;
	const char		*xml = NULL;

	if ((xml = body_refusal(body, len)) != NULL) {
		log_info("refused a request: %s", xml);
		reply(s, 400, xml);
		return;
	}
	methods_answer(pd, body, len, s, &r);
	if (r.status != 200) {
		reply(s, r.status, r.status == 503 ? "out of memory\n" :
		    "internal error\n");
		methods_reply_free(&r);
		return;
	}
	ResponseStatus(s, 200);
	ResponseContentType(s, "text/xml; charset=\"utf-8\"");
	ResponseContentLength(s, r.shared != NULL ? strlen(rv_head) +
	    answer_len(r.shared) + strlen(rv_tail) : r.len);
	ResponseWriteStart(s);
	if (r.shared != NULL) {
		/* A client gone mid-answer is not worth a log line. */
		if (body_write(s, rv_head, strlen(rv_head)) == 0 &&
		    answer_write(r.shared, body_write, s) == 0)
			body_write(s, rv_tail, strlen(rv_tail));
	} else
		ResponseWriteBody(s, r.buf, (xmlrpc_uint32_t)r.len);
	ResponseWriteEnd(s);
	methods_reply_free(&r);
}

/*
 * Whether the next request is already here behind this one (HTTP/1.1
 * pipelining). Abyss would leave it in its buffer and wait for new bytes
 * before reading it, so it would go unanswered until the keep-alive
 * timeout closed the connection. What is taken here is dropped with the
 * connection.
 */
static int
pipelined(TSession *s)
{
	const char	*chunk;
	size_t		 n, i;

	SessionGetReadData(s, MAX_BODY, &chunk, &n);
	/* A stray CRLF after a body is to be ignored (RFC 7230 3.5). */
	for (i = 0; i < n; i++)
		if (chunk[i] != '\r' && chunk[i] != '\n')
			return 1;
	return 0;
}

static void
handle_http(void *arg, TSession *s, abyss_bool *handled)
{
	const TRequestInfo	*ri;
	const char		*ctype;
	char			*body;
	long			 len;

	*handled = 1;
	SessionGetRequestInfo(s, &ri);
	if (strcmp(ri->uri, "/RPC2") != 0)
		return reply(s, 404, "not found; the endpoint is /RPC2\n");
	if (ri->method != m_post) {
		ResponseAddField(s, "Allow", "POST");
		return reply(s, 405, "use POST\n");
	}
	ctype = RequestHeaderValue(s, "content-type");
	if (ctype == NULL || strncasecmp(ctype, "text/xml", 8) != 0)
		return reply(s, 400, "Content-Type must be text/xml\n");
	if ((len = content_length(s)) == -1)
		return reply(s, 411, "Content-Length required\n");
	if (len < 0)
		return reply(s, 400, "bad Content-Length\n");
	if (len == 0)
		return reply(s, 400, "empty body\n");
	if (len > MAX_BODY)
		return reply(s, 413, "body over 1 MiB\n");
	if ((body = malloc((size_t)len)) == NULL)
		return reply(s, 503, "out of memory\n");
	if (read_body(s, body, (size_t)len) < 0) {
		/* Answer, or Abyss writes a 500 and warns on stderr. */
		log_info("a client did not send its body in %d s",
		    BODY_DEADLINE_SECONDS);
		reply(s, 408, "body not received in time\n");
	} else if (pipelined(s)) {
		/* A 400 closes the connection: the client sees at once that
		 * nothing of it was answered, and nothing of it ran. */
		log_info("refused pipelined requests");
		reply(s, 400, "pipelined requests are refused: send each "
		    "request after the answer to the last; none of these "
		    "was run\n");
	} else
		answer_call(arg, s, body, (size_t)len);
	free(body);
}

static int
make_server(struct rpc *r, struct pcipassd *pd)
{
	const struct pp_config		*c = pd->conf;
	struct sockaddr_in		 sin;
	TChanSwitch			*sw;
	const char			*err;
	struct ServerReqHandler3	 h = {
		.handleReq = handle_http,
		.userdata = pd,
		.handleReqStackSize = HANDLER_STACK,
	};
	abyss_bool			 ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)c->port);
	if (inet_pton(AF_INET, c->listen, &sin.sin_addr) != 1) {
		log_warnx("--listen %s: not an IPv4 address", c->listen);
		return -1;
	}
	ChanSwitchUnixCreate2(PF_INET, (struct sockaddr *)&sin, sizeof(sin),
	    &sw, &err);
	if (err != NULL) {
		log_warnx("listen on %s:%d: %s", c->listen, c->port, err);
		free((char *)err);
		return -1;
	}
	r->chanswitch = sw;
	ServerCreateSwitch(&r->server, sw, &err);
	if (err != NULL) {
		log_warnx("server: %s", err);
		free((char *)err);
		return -1;
	}
	r->made = 1;
	ServerSetName(&r->server, "pcipassd");
	ServerSetMaxConn(&r->server, MAX_CONN);
	ServerSetMaxConnBacklog(&r->server, MAX_BACKLOG);
	ServerSetKeepaliveTimeout(&r->server, KEEPALIVE_SECONDS);
	ServerSetKeepaliveMaxConn(&r->server, KEEPALIVE_REQUESTS);
	ServerSetTimeout(&r->server, READ_TIMEOUT_SECONDS);
	ServerSetAdvertise(&r->server, 0);
	ServerAddHandler3(&r->server, &h, &ok);
	if (!ok) {
		log_warnx("server: cannot add the handler");
		return -1;
	}
	return 0;
}

/*
 * Descriptors for MAX_CONN connections, three each: its socket, and its
 * thread's sqlite connection (the database and its WAL). systemd's soft
 * limit is 1024; the unit gives 8192.
 */
static void
files_for_connections(void)
{
	struct rlimit	rl;
	rlim_t		want = 3 * MAX_CONN + 64, had;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	had = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
	    rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = had;
	if (rl.rlim_cur < want)
		log_warnx("open files limited to %llu: fewer than %d "
		    "connections can be held (each takes 3)",
		    (unsigned long long)rl.rlim_cur, MAX_CONN);
}

/* The front, listening on pd's address; NULL (said in the log) if not. */
struct rpc *
rpc_listen(struct pcipassd *pd)
{
	struct rpc	*r;
	const char	*err;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->pd = pd;
	files_for_connections();
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, MAX_BODY);
	AbyssInit(&err);
	if (err != NULL) {
		log_warnx("abyss: %s", err);
		free((char *)err);
		free(r);
		return NULL;
	}
	r->abyss = 1;
	if ((pd->answers = answers_new()) == NULL || methods_init() < 0 ||
	    make_server(r, pd) < 0)
		goto fail;
	ServerInit2(&r->server, &err);
	if (err != NULL) {
		log_warnx("server: %s", err);
		free((char *)err);
		goto fail;
	}
	return r;
fail:
	rpc_free(r);
	return NULL;
}

/* Serve until rpc_stop(); calls in flight still get their answer. */
void
rpc_run(struct rpc *r)
{
	ServerRun(&r->server);
}

/* From another thread (the signal thread). */
void
rpc_stop(struct rpc *r)
{
	ServerTerminate(&r->server);
}

void
rpc_free(struct rpc *r)
{
	if (r == NULL)
		return;
	if (r->made)
		ServerFree(&r->server);
	if (r->chanswitch != NULL)
		ChanSwitchDestroy(r->chanswitch);
	methods_free();
	answers_free(r->pd->answers);
	r->pd->answers = NULL;
	if (r->abyss)
		AbyssTerm();
	free(r);
}
