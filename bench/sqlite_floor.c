/*
 * The durable-commit floor of the disk under DIR: one-row transactions
 * (BEGIN IMMEDIATE; UPDATE; COMMIT) on a WAL database with
 * synchronous=FULL, as pcipassd commits an allocation, for SECONDS.
 * Prints one JSON line: commits, seconds, commits/s, us per commit.
 *
 * usage: sqlite_floor DIR [SECONDS]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	char		 path[4096];
	sqlite3		*db;
	sqlite3_stmt	*up;
	double		 secs = argc > 2 ? atof(argv[2]) : 2.0, t0, t;
	long		 n = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: sqlite_floor DIR [SECONDS]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/floor.db", argv[1]);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    "CREATE TABLE IF NOT EXISTS t(a INTEGER PRIMARY KEY, b);"
	    "INSERT OR IGNORE INTO t SELECT value, 0 FROM generate_series(0, 255);",
	    NULL, NULL, NULL) != SQLITE_OK) {
		/* generate_series may be missing: plain inserts */
		sqlite3_exec(db, "WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL "
		    "SELECT x + 1 FROM s WHERE x < 255) INSERT OR IGNORE INTO "
		    "t SELECT x, 0 FROM s;", NULL, NULL, NULL);
	}
	if (sqlite3_prepare_v2(db, "UPDATE t SET b = b + 1 WHERE a = ?1", -1,
	    &up, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite_floor: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	t0 = now();
	do {
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_int(up, 1, (int)(n % 256));
		sqlite3_step(up);
		sqlite3_reset(up);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "sqlite_floor: %s\n",
			    sqlite3_errmsg(db));
			return 1;
		}
		n++;
	} while ((t = now() - t0) < secs);
	printf("{\"commits\": %ld, \"seconds\": %.3f, \"commits_per_s\": %.1f, "
	    "\"us_per_commit\": %.1f}\n", n, t, n / t, t / n * 1e6);
	sqlite3_finalize(up);
	sqlite3_close(db);
	unlink(path);
	return 0;
}
