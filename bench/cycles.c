/*
 * cycles.c - the load generator of bench/cycles.sh: CLIENTS threads, each
 * repeating write/read/delete cycles of one small value on keys of its own
 * until a deadline; prints the cycles per second they completed together.
 *
 *   cycles [-c CLIENTS] [-d SECONDS] [-s BYTES] [-p PREFIX] mkv URL
 *   cycles [-c CLIENTS] [-d SECONDS] [-s BYTES] [-p PREFIX] [-S] nginx URL1 URL2 URL3
 *   cycles [-c CLIENTS] [-d SECONDS] [-s BYTES] [-p PREFIX] [-S] local DIR1 DIR2 DIR3
 *
 * mkv:   PUT URL/key (201), GET URL/key following the redirect and reading
 *        the bytes (200), DELETE URL/key (204): what a client of mkv does.
 * nginx: the replica work of that cycle sent straight to the volumes: three
 *        PUTs at once (201), one GET (200, the bytes), three DELETEs at once
 *        (204), on the paths mkv would use (/svNN/xx/yy/name).
 * local: the same on directories, as plugins/volume-local does it: each
 *        write is a temporary file, fsync, rename, fsync of the directory,
 *        the three at once; one read; three unlinks, each with an fsync of
 *        the directory, at once.
 * -S sends the baseline's three PUTs and three DELETEs one after another
 * instead (a weaker baseline: the latencies of a cycle add up).
 *
 * The client must not be the bottleneck: every thread keeps its connections
 * open (one easy handle for mkv, one multi handle with an easy handle per
 * volume for nginx), and sends the small body from memory.
 *
 * Prints "CYCLES SECONDS CYCLES_PER_S". Exit status 0, 1 when a request got
 * an unexpected answer (the first is reported on stderr), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REPLICAS 3
#define SUBVOLUMES 10
#define KEYS_PER_CLIENT 64

enum mode { MODE_MKV, MODE_NGINX, MODE_LOCAL };

static enum mode mode;
static const char *targets[REPLICAS];
static const char *prefix = "cyc";
static bool serial; /* -S: the baseline's replica requests one after another */
static size_t value_size = 1024;
static char *value;
static double deadline;
static atomic_bool failed;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;

/* One client: a thread and what it keeps between cycles. */
struct client {
	pthread_t thread;
	int id;
	long cycles;
	CURL *easy[REPLICAS];
	CURLM *multi;
	struct curl_slist *headers;
	size_t received[REPLICAS];
	char *read_buf;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Report the first failure and make every client stop. */
static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock);
	if (!atomic_exchange(&failed, true)) {
		va_start(ap, fmt);
		fputs("cycles: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&fail_lock);
}

/*
 * The key of cycle n of client c. A client goes round KEYS_PER_CLIENT keys:
 * their directories on the volumes exist after the first round, as they do in
 * a store that holds many keys, and the benchmark leaves few of them behind.
 */
static void key_of(const struct client *c, long n, char *key, size_t cap)
{
	snprintf(key, cap, "/%s/c%d/k%ld", prefix, c->id, n % KEYS_PER_CLIENT);
}

/* "/svNN/xx/yy/name": the fan-out of mkv's volume paths, from an FNV-1a hash. */
static void volume_path(const char *key, char *path, size_t cap)
{
	uint32_t h = 2166136261u;
	char name[128];
	size_t i;

	for (i = 0; key[i]; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	for (i = 0; key[i + 1] && i + 1 < sizeof name; i++)
		name[i] = key[i + 1] == '/' ? '_' : key[i + 1];
	name[i] = '\0';
	snprintf(path, cap, "/sv%02X/%02x/%02x/%s", (unsigned)((h >> 16) % SUBVOLUMES),
		 (unsigned)(h & 0xff), (unsigned)((h >> 8) & 0xff), name);
}

/* ---- HTTP ------------------------------------------------------------------ */

static size_t count_bytes(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	*(size_t *)arg += size * n;
	return size * n;
}

/* Make easy handle i of c ready for METHOD url; its connections stay. */
static void prepare(struct client *c, int i, const char *method, const char *url)
{
	CURL *h = c->easy[i];

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 8L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->received[i]);
	c->received[i] = 0;
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, value);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)value_size);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
}

/* Check the answer of easy handle i: status one of ok1/ok2, and for a GET the value's size. */
static bool answered(struct client *c, int i, CURLcode rc, const char *method, long ok1, long ok2)
{
	long status = 0;
	char *url = NULL;

	curl_easy_getinfo(c->easy[i], CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c->easy[i], CURLINFO_EFFECTIVE_URL, &url);
	if (rc != CURLE_OK) {
		fail("%s %s: %s", method, url, curl_easy_strerror(rc));
		return false;
	}
	if (status != ok1 && status != ok2) {
		fail("%s %s: status %ld", method, url, status);
		return false;
	}
	if (strcmp(method, "GET") == 0 && c->received[i] != value_size) {
		fail("%s %s: %zu bytes, not %zu", method, url, c->received[i], value_size);
		return false;
	}
	return true;
}

static bool mkv_request(struct client *c, const char *method, const char *url, long ok)
{
	prepare(c, 0, method, url);
	return answered(c, 0, curl_easy_perform(c->easy[0]), method, ok, ok);
}

static bool mkv_cycle(struct client *c, long n)
{
	char key[96], url[512];

	key_of(c, n, key, sizeof key);
	snprintf(url, sizeof url, "%s%s", targets[0], key);
	return mkv_request(c, "PUT", url, 201) && mkv_request(c, "GET", url, 200) &&
	       mkv_request(c, "DELETE", url, 204);
}

/* METHOD path on the first `count` volumes at once. */
static bool nginx_at_once(struct client *c, const char *method, const char *path, int count,
			  long ok1, long ok2)
{
	char url[REPLICAS][512];
	int running = 1, left, done = 0;
	bool ok = true;
	CURLMsg *msg;

	for (int i = 0; i < count; i++) {
		snprintf(url[i], sizeof url[i], "%s%s", targets[i], path);
		prepare(c, i, method, url[i]);
		curl_multi_add_handle(c->multi, c->easy[i]);
	}
	while (running) {
		curl_multi_perform(c->multi, &running);
		if (running)
			curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
	}
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (int i = 0; i < count; i++)
			if (msg->easy_handle == c->easy[i])
				ok = answered(c, i, msg->data.result, method, ok1, ok2) && ok;
		done++;
	}
	for (int i = 0; i < count; i++)
		curl_multi_remove_handle(c->multi, c->easy[i]);
	if (ok && done != count) {
		fail("%s %s: %d of %d transfers finished", method, path, done, count);
		ok = false;
	}
	return ok;
}

/* METHOD path on the first `count` volumes: at once, or one after another with -S. */
static bool nginx_requests(struct client *c, const char *method, const char *path, int count,
			   long ok1, long ok2)
{
	char url[512];

	if (!serial)
		return nginx_at_once(c, method, path, count, ok1, ok2);
	for (int i = 0; i < count; i++) {
		snprintf(url, sizeof url, "%s%s", targets[i], path);
		prepare(c, i, method, url);
		if (!answered(c, i, curl_easy_perform(c->easy[i]), method, ok1, ok2))
			return false;
	}
	return true;
}

static bool nginx_cycle(struct client *c, long n)
{
	char key[96], path[256];

	key_of(c, n, key, sizeof key);
	volume_path(key, path, sizeof path);
	return nginx_requests(c, "PUT", path, REPLICAS, 201, 204) &&
	       nginx_requests(c, "GET", path, 1, 200, 200) &&
	       nginx_requests(c, "DELETE", path, REPLICAS, 204, 204);
}

/* ---- local directories ---------------------------------------------------- */

/* One replica's share of a local cycle step. */
struct local_job {
	pthread_t thread;
	char file[512];
	int rc; /* 0 or an errno */
	const char *what;
};

/* fsync the directory holding file. Returns 0 or an errno. */
static int sync_parent(const char *file)
{
	char dir[512];
	int fd, rc = 0;

	snprintf(dir, sizeof dir, "%s", file);
	*strrchr(dir, '/') = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) < 0)
		rc = errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* mkdir -p of the directories of file. */
static void make_parents(const char *file)
{
	char dir[512];

	snprintf(dir, sizeof dir, "%s", file);
	for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
}

static void *local_write(void *arg)
{
	struct local_job *j = arg;
	char tmp[600], *slash;
	int fd;

	make_parents(j->file);
	errno = 0; /* mkdir leaves EEXIST */
	slash = strrchr(j->file, '/');
	snprintf(tmp, sizeof tmp, "%.*s/.mkv-tmp.%s", (int)(slash - j->file), j->file, slash + 1);
	j->what = "write";
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, value, value_size) != (ssize_t)value_size || fsync(fd) < 0)
		j->rc = errno ? errno : EIO;
	if (fd >= 0 && close(fd) < 0 && !j->rc)
		j->rc = errno;
	if (!j->rc && rename(tmp, j->file) < 0)
		j->rc = errno;
	if (!j->rc)
		j->rc = sync_parent(j->file);
	return NULL;
}

static void *local_delete(void *arg)
{
	struct local_job *j = arg;

	j->what = "delete";
	j->rc = unlink(j->file) < 0 ? errno : sync_parent(j->file);
	return NULL;
}

/* Run fn on the three replicas at once (one after another with -S). */
static bool local_all(const char *path, void *(*fn)(void *))
{
	struct local_job jobs[REPLICAS];
	bool ok = true;

	for (int i = 0; i < REPLICAS; i++) {
		jobs[i].rc = 0;
		jobs[i].what = NULL;
		snprintf(jobs[i].file, sizeof jobs[i].file, "%s%s", targets[i], path);
		if (serial)
			fn(&jobs[i]);
		else if (i > 0 && pthread_create(&jobs[i].thread, NULL, fn, &jobs[i]) != 0)
			jobs[i].rc = EAGAIN;
	}
	if (!serial) {
		fn(&jobs[0]);
		for (int i = 1; i < REPLICAS; i++)
			if (jobs[i].rc != EAGAIN)
				pthread_join(jobs[i].thread, NULL);
	}
	for (int i = 0; i < REPLICAS; i++) {
		if (jobs[i].rc) {
			fail("%s %s: %s", jobs[i].what ? jobs[i].what : "start", jobs[i].file,
			     strerror(jobs[i].rc));
			ok = false;
		}
	}
	return ok;
}

static bool local_read(struct client *c, const char *path)
{
	char file[512];
	ssize_t n;
	int fd;

	snprintf(file, sizeof file, "%s%s", targets[0], path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, c->read_buf, value_size + 1);
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)value_size) {
		fail("read %s: %s", file, n < 0 ? strerror(errno) : "wrong size");
		return false;
	}
	return true;
}

static bool local_cycle(struct client *c, long n)
{
	char key[96], path[256];

	key_of(c, n, key, sizeof key);
	volume_path(key, path, sizeof path);
	return local_all(path, local_write) && local_read(c, path) &&
	       local_all(path, local_delete);
}

/* ---- clients --------------------------------------------------------------- */

static void *client_run(void *arg)
{
	struct client *c = arg;
	bool (*cycle)(struct client *, long) = mode == MODE_MKV     ? mkv_cycle :
					       mode == MODE_NGINX   ? nginx_cycle :
								      local_cycle;

	pthread_barrier_wait(&start_line);
	while (!atomic_load(&failed) && now() < deadline) {
		if (!cycle(c, c->cycles))
			break;
		c->cycles++;
	}
	return NULL;
}

static void client_init(struct client *c, int id)
{
	memset(c, 0, sizeof *c);
	c->id = id;
	for (int i = 0; i < REPLICAS; i++)
		c->easy[i] = curl_easy_init();
	c->multi = curl_multi_init();
	/* No 100-continue round trip, no form content type on PUT. */
	c->headers = curl_slist_append(NULL, "Expect:");
	c->headers = curl_slist_append(c->headers, "Content-Type: application/octet-stream");
	c->read_buf = malloc(value_size + 1);
	if (!c->easy[REPLICAS - 1] || !c->multi || !c->headers || !c->read_buf) {
		fprintf(stderr, "cycles: out of memory\n");
		exit(1);
	}
}

static void client_free(struct client *c)
{
	for (int i = 0; i < REPLICAS; i++)
		curl_easy_cleanup(c->easy[i]);
	curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	free(c->read_buf);
}

static void usage(void)
{
	fprintf(stderr, "usage: cycles [-c CLIENTS] [-d SECONDS] [-s BYTES] [-p PREFIX] [-S] "
			"mkv URL | nginx URL1 URL2 URL3 | local DIR1 DIR2 DIR3\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int clients = 16, opt, want;
	double seconds = 10, start, end;
	struct client *cs;
	long total = 0;

	while ((opt = getopt(argc, argv, "c:d:s:p:S")) != -1) {
		switch (opt) {
		case 'c': clients = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 's': value_size = strtoul(optarg, NULL, 10); break;
		case 'p': prefix = optarg; break;
		case 'S': serial = true; break;
		default: usage();
		}
	}
	if (optind >= argc || clients < 1 || seconds <= 0 || value_size < 1)
		usage();
	if (strcmp(argv[optind], "mkv") == 0)
		mode = MODE_MKV, want = 1;
	else if (strcmp(argv[optind], "nginx") == 0)
		mode = MODE_NGINX, want = REPLICAS;
	else if (strcmp(argv[optind], "local") == 0)
		mode = MODE_LOCAL, want = REPLICAS;
	else
		usage();
	if (argc - optind - 1 != want)
		usage();
	for (int i = 0; i < want; i++)
		targets[i] = argv[optind + 1 + i];

	value = malloc(value_size);
	cs = calloc(clients, sizeof *cs);
	if (!value || !cs || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "cycles: cannot start\n");
		return 1;
	}
	for (size_t i = 0; i < value_size; i++)
		value[i] = (char)('a' + i % 26);
	pthread_barrier_init(&start_line, NULL, clients + 1);
	for (int i = 0; i < clients; i++) {
		client_init(&cs[i], i);
		if (pthread_create(&cs[i].thread, NULL, client_run, &cs[i]) != 0) {
			fprintf(stderr, "cycles: cannot start client %d\n", i);
			return 1;
		}
	}
	start = now();
	deadline = start + seconds;
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < clients; i++) {
		pthread_join(cs[i].thread, NULL);
		total += cs[i].cycles;
		client_free(&cs[i]);
	}
	end = now();
	printf("%ld %.3f %.1f\n", total, end - start, total / (end - start));
	curl_global_cleanup();
	return atomic_load(&failed) ? 1 : 0;
}
