/*
 * http_routes.c - the routes of the HTTP endpoint, one function each,
 * registered in http_routes[]. The server (http.c) has already checked
 * the method and the token; a handler only makes its reply.
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http/http_int.h"
#include "model/logs.h"
#include "util/clock.h"
#include "util/metrics.h"

/* GET /-/healthy: the process runs and answers */
static void
route_healthy(struct http *h, const struct http_req *req, struct http_reply *r)
{
	(void)h;
	(void)req;
	buf_puts(&r->body, "OK\n");
}

/*
 * GET /-/ready: the store is open and usable: a writer not fenced whose
 * last attempt to store succeeded, a read-only mount following, and the
 * object store answering. A writer's failed puts are its own test: the
 * manifest polls' reads succeed while a store refuses writes, and each
 * success clears the store's failing_since.
 */
static void
route_ready(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct logs_status st;

	(void)req;
	r->status = 503;
	if (l == NULL) {
		buf_puts(&r->body, "opening the store\n");
		return;
	}
	logs_status(l, &st);
	if (st.fenced)
		buf_puts(&r->body, "fenced by another writer\n");
	else if (st.store_write_failing_since_ns != 0)
		buf_printf(&r->body, "the object store has refused writes for %"
		    PRId64 " s\n", (clock_wall_ns() -
		    st.store_write_failing_since_ns) / 1000000000);
	else if (st.store_failing_since_ns != 0)
		buf_printf(&r->body, "the object store has failed for %" PRId64
		    " s\n", (clock_wall_ns() - st.store_failing_since_ns) /
		    1000000000);
	else {
		r->status = 200;
		buf_puts(&r->body, "OK\n");
	}
}

/* GET /metrics: the registry, and the process_* families read now */
static void
route_metrics(struct http *h, const struct http_req *req, struct http_reply *r)
{
	(void)h;
	(void)req;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(metrics_global(), &r->body);
	http_render_process(&r->body);
}

static void
family(struct buf *out, const char *name, const char *type, const char *help,
    double v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name,
	    type, name);
	if (v == (double)(int64_t)v)
		buf_printf(out, "%" PRId64 "\n", (int64_t)v);
	else
		buf_printf(out, "%.3f\n", v);
}

/* Seconds since the epoch when the machine booted, from /proc/stat. */
static double
boot_time(void)
{
	char line[256];
	double t = 0;
	FILE *f;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lf", &t) == 1)
			break;
	fclose(f);
	return t;
}

/*
 * The families Prometheus's client libraries export for a process, with
 * their names, types and units: CPU time from /proc/self/stat (fields 14
 * and 15, in clock ticks), start time (field 22, ticks after boot),
 * virtual and resident memory (23, bytes; 24, pages), the open file
 * descriptors and their limit.
 */
void
http_render_process(struct buf *out)
{
	char stat[1024], *p;
	unsigned long long utime, stime, start, vsize;
	long long rss;
	double tick = (double)sysconf(_SC_CLK_TCK);
	struct rlimit rl;
	struct dirent *de;
	size_t n = 0, fds = 0;
	FILE *f;
	DIR *d;

	if ((f = fopen("/proc/self/stat", "r")) != NULL) {
		n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
	}
	stat[n] = '\0';
	/* after the command name, which may hold spaces and ')' */
	if ((p = strrchr(stat, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%*d %*d %*d %*d %*d %*d %llu %llu %lld",
	    &utime, &stime, &start, &vsize, &rss) != 5)
		return;
	family(out, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.",
	    (double)(utime + stime) / tick);
	family(out, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.",
	    (double)rss * (double)sysconf(_SC_PAGESIZE));
	family(out, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.", (double)vsize);
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			fds += de->d_name[0] != '.';
		closedir(d);
		/* less the one opendir holds */
		family(out, "process_open_fds", "gauge",
		    "Number of open file descriptors.", (double)(fds - 1));
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		family(out, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (double)rl.rlim_cur);
	family(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since unix epoch in seconds.",
	    boot_time() + (double)start / tick);
}

const struct http_route http_routes[] = {
	{ "/-/healthy", HTTP_GET | HTTP_PUBLIC, route_healthy },
	{ "/-/ready", HTTP_GET | HTTP_PUBLIC, route_ready },
	{ "/metrics", HTTP_GET, route_metrics },
	{ "/api/v1/format_query", HTTP_GET | HTTP_POST, http_route_format_query },
	{ "/api/v1/parse_query", HTTP_GET | HTTP_POST, http_route_parse_query },
	{ "/api/v1/query", HTTP_GET | HTTP_POST | HTTP_STORE, http_route_query },
	{ "/api/v1/query_range", HTTP_GET | HTTP_POST | HTTP_STORE,
	    http_route_query_range },
	{ "/api/v1/query_exemplars", HTTP_GET | HTTP_POST | HTTP_STORE,
	    http_route_query_exemplars },
	{ "/loki/api/v1/push", HTTP_POST | HTTP_STORE, http_route_loki_push },
	{ "/api/prom/push", HTTP_POST | HTTP_STORE, http_route_loki_push },
};
const size_t http_nroutes = sizeof(http_routes) / sizeof(http_routes[0]);

/* Does path match pattern, whose ":name" segments match any one segment? */
static int
path_match(const char *pattern, const char *path)
{
	const char *start = pattern;

	while (*pattern != '\0') {
		if (pattern[0] == ':' && pattern > start &&
		    pattern[-1] == '/') {
			if (*path == '/' || *path == '\0')
				return 0;	/* an empty segment */
			pattern += strcspn(pattern, "/");
			path += strcspn(path, "/");
		} else if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

const struct http_route *
http_route_find(const char *path)
{
	for (size_t i = 0; i < http_nroutes; i++)
		if (strcmp(http_routes[i].path, path) == 0)
			return &http_routes[i];
	for (size_t i = 0; i < http_read_nroutes; i++)
		if (path_match(http_read_routes[i].path, path))
			return &http_read_routes[i];
	for (size_t i = 0; i < http_log_nroutes; i++)
		if (strcmp(http_log_routes[i].path, path) == 0)
			return &http_log_routes[i];
	for (size_t i = 0; i < http_write_nroutes; i++)
		if (strcmp(http_write_routes[i].path, path) == 0)
			return &http_write_routes[i];
	for (size_t i = 0; i < http_loki_nroutes; i++)
		if (path_match(http_loki_routes[i].path, path))
			return &http_loki_routes[i];
	return NULL;
}
