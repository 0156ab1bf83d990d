/*
 * The --auth file: lines "user:secret" or "user:secret:ro". Created with a
 * random secret for oneadmin when missing; refused when others can read
 * it. Secrets are compared in constant time.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcipassd.h"

#define AUTH_MAXUSERS	64
#define AUTH_MAXLEN	128

struct user {
	char	name[AUTH_MAXLEN];
	char	secret[AUTH_MAXLEN];
	int	ro;
};

/*
 * Failed authentications, per peer: after AUTH_FAIL_MAX failures within
 * AUTH_WINDOW seconds a peer is refused, right secret or not, until its
 * window ends (see auth_throttled).
 */
#define AUTH_FAIL_MAX	20
#define AUTH_WINDOW	60
#define AUTH_PEERS	64

struct peer_fails {
	char		 peer[48];
	time_t		 start;
	unsigned	 count;
};

/* The users of one auth file and the failures counted against it. */
struct auth {
	struct user		 users[AUTH_MAXUSERS];
	size_t			 nusers;
	struct peer_fails	 fails[AUTH_PEERS];
	pthread_mutex_t		 fails_lock;
};

static int
create_auth(const char *path)
{
	unsigned char	rnd[16];
	char		line[64], dir[PATH_MAX];
	size_t		i;
	int		fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		log_warn("auth: %s", dir);
		return -1;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_warn("auth: getrandom");
		return -1;
	}
	strcpy(line, "oneadmin:");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(line + 9 + 2 * i, 3, "%02x", rnd[i]);
	strcat(line, "\n");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0) {
		log_warn("auth: %s", path);
		return -1;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fsync(fd) < 0) {
		log_warn("auth: %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	log_info("auth: created %s with a random secret for oneadmin", path);
	return 0;
}

static int
valid_name(const char *s)
{
	return *s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") == strlen(s);
}

/* One line of the file; reports its error as FILE:LINE: message. */
static int
parse_line(struct auth *a, const char *path, int lineno, char *line)
{
	char		*secret, *flag;
	struct user	*u;

	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if ((secret = strchr(line, ':')) == NULL) {
		log_warnx("%s:%d: expected user:secret[:ro]", path, lineno);
		return -1;
	}
	*secret++ = '\0';
	if ((flag = strchr(secret, ':')) != NULL)
		*flag++ = '\0';
	if (!valid_name(line) || strlen(line) >= AUTH_MAXLEN) {
		log_warnx("%s:%d: bad user name", path, lineno);
		return -1;
	}
	if (secret[0] == '\0' || strlen(secret) >= AUTH_MAXLEN) {
		log_warnx("%s:%d: secret must be 1 to %d characters", path,
		    lineno, AUTH_MAXLEN - 1);
		return -1;
	}
	if (flag != NULL && strcmp(flag, "ro") != 0) {
		log_warnx("%s:%d: unknown flag \"%s\" (only ro)", path,
		    lineno, flag);
		return -1;
	}
	if (a->nusers == AUTH_MAXUSERS) {
		log_warnx("%s:%d: more than %d users", path, lineno,
		    AUTH_MAXUSERS);
		return -1;
	}
	u = &a->users[a->nusers++];
	snprintf(u->name, sizeof(u->name), "%s", line);
	snprintf(u->secret, sizeof(u->secret), "%s", secret);
	u->ro = flag != NULL;
	return 0;
}

static int
read_auth(struct auth *a, const char *path, int create)
{
	FILE		*f = NULL;
	struct stat	 st;
	char		 line[512];
	int		 fd, lineno = 0, errors = 0;

	/* O_NONBLOCK: a FIFO put there must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 &&
	    errno == ENOENT) {
		if (!create)
			return 0;
		if (create_auth(path) < 0)
			return -1;
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0 || (f = fdopen(fd, "r")) == NULL) {
		log_warn("auth: %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warnx("auth: %s: not a regular file", path);
		fclose(f);
		return -1;
	}
	if (st.st_mode & 0077) {
		log_warnx("auth: %s: mode %04o lets others read it; chmod 600 "
		    "it", path, (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		errors += parse_line(a, path, ++lineno, line) < 0;
	fclose(f);
	if (errors == 0 && a->nusers == 0) {
		log_warnx("%s: no users", path);
		errors++;
	}
	return errors ? -1 : 0;
}

/*
 * Load the auth file, creating it when missing (create) or accepting its
 * absence (!create: pcipassd -n, where the daemon would create it).
 * Returns the users, or NULL after logging why.
 */
struct auth *
auth_load(const char *path, int create)
{
	struct auth	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warn("auth");
		return NULL;
	}
	pthread_mutex_init(&a->fails_lock, NULL);
	if (read_auth(a, path, create) < 0) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->fails_lock);
	explicit_bzero(a->users, sizeof(a->users));
	free(a);
}

/* Equal strings, in time that depends only on the length of b. */
static int
ct_equal(const char *a, const char *b)
{
	size_t		la = strlen(a), lb = strlen(b), i;
	unsigned char	diff = la != lb;

	for (i = 0; i < lb; i++)
		diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return diff == 0;
}

/*
 * Check a session "user:secret". Returns AUTH_RW, AUTH_RO or AUTH_NONE;
 * the user name is copied to user (empty when unknown).
 */
int
auth_check(const struct auth *a, const char *session, char *user,
    size_t len)
{
	const char	*colon;
	size_t		 i, ulen;
	int		 rc = AUTH_NONE;

	user[0] = '\0';
	if (session == NULL || (colon = strchr(session, ':')) == NULL)
		return AUTH_NONE;
	ulen = (size_t)(colon - session);
	for (i = 0; i < a->nusers; i++) {
		if (strlen(a->users[i].name) != ulen ||
		    memcmp(a->users[i].name, session, ulen) != 0)
			continue;
		if (ct_equal(colon + 1, a->users[i].secret)) {
			snprintf(user, len, "%s", a->users[i].name);
			rc = a->users[i].ro ? AUTH_RO : AUTH_RW;
		}
	}
	return rc;
}

/*
 * Failed authentications, per peer: after AUTH_FAIL_MAX failures within
 * AUTH_WINDOW seconds a peer is refused, right secret or not, until its
 * window ends. Guessing then costs a window per AUTH_FAIL_MAX tries, and
 * the log says it once, not once per guess. A small table: the oldest
 * window makes room for a new peer.
 */
static struct peer_fails *
fails_of(struct auth *a, const char *peer, time_t now, int add)
{
	struct peer_fails	*p, *old = &a->fails[0];
	size_t			 i;

	for (i = 0; i < AUTH_PEERS; i++) {
		p = &a->fails[i];
		if (strcmp(p->peer, peer) == 0) {
			if (now - p->start >= AUTH_WINDOW)
				p->start = now, p->count = 0;
			return p;
		}
		if (p->start < old->start)
			old = p;
	}
	if (!add)
		return NULL;
	snprintf(old->peer, sizeof(old->peer), "%s", peer);
	old->start = now;
	old->count = 0;
	return old;
}

/* The whole of 127/8 is one local peer: it has 16 million addresses to
 * rotate through, more than the table's slots. */
static const char *
peer_key(const char *peer)
{
	return strncmp(peer, "127.", 4) == 0 ? "127.0.0.0/8" : peer;
}

/* Seconds the peer must still wait, 0 if it may try. */
int
auth_throttled(struct auth *a, const char *peer)
{
	struct peer_fails	*p;
	time_t			 now = time(NULL);
	int			 wait = 0;

	peer = peer_key(peer);
	pthread_mutex_lock(&a->fails_lock);
	if ((p = fails_of(a, peer, now, 0)) != NULL &&
	    p->count >= AUTH_FAIL_MAX)
		wait = (int)(p->start + AUTH_WINDOW - now);
	pthread_mutex_unlock(&a->fails_lock);
	return wait > 0 ? wait : 0;
}

/* Count a failure from peer; logs the first of a window and the one that
 * starts the refusal. */
void
auth_failed(struct auth *a, const char *peer, const char *method)
{
	struct peer_fails	*p;
	unsigned		 n;

	peer = peer_key(peer);
	pthread_mutex_lock(&a->fails_lock);
	p = fails_of(a, peer, time(NULL), 1);
	n = ++p->count;
	pthread_mutex_unlock(&a->fails_lock);
	if (n == 1)
		log_info("%s: authentication failed from %s", method, peer);
	else if (n == AUTH_FAIL_MAX)
		log_warnx("auth: %u failed authentications from %s within "
		    "%d s: refusing it for the rest of the minute", n, peer,
		    AUTH_WINDOW);
}
