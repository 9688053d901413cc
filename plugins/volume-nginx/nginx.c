/*
 * nginx.c - the default volume backend: value files on stock nginx WebDAV
 * servers, spoken to over HTTP with libcurl.
 *
 * A volume server is nginx with `dav_methods PUT DELETE`,
 * `create_full_put_path on` and `autoindex_format json` (see mkv-volume).
 * Every slot is one HTTP request on "http://" + replica + path: PUT streams a
 * value from the core's source, HEAD answers stat, GET streams a value into
 * the core's sink or fetches a JSON directory listing, DELETE removes. nginx
 * writes a PUT body to a temporary file and renames it into place only when
 * the whole body arrived, so aborting a transfer leaves the previous state.
 *
 * Connections are reused: the handle keeps a mutex-protected free list of
 * curl easy handles, each with its own connection cache. A request takes one,
 * sets every option afresh, performs, and gives it back reset (a reset keeps
 * the live connections). Handles are never shared between threads at once,
 * which is what libcurl requires. stat_async is the exception to one
 * request per calling thread: its HEADs all run on one thread of the
 * handle's, through a curl multi handle.
 *
 * Time limits: timeout_ms bounds connecting, NGINX_STALL_S the time a
 * transfer may move no byte, and nothing bounds a transfer's total length,
 * since values reach 1 GB. stat() alone has a total limit of
 * timeout_ms: it decides whether a volume counts as down.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <mkv/mkv.h>

/* Reuse an idle connection only well before nginx's keepalive_timeout closes it. */
#define NGINX_MAX_CONN_AGE_S 30L

/*
 * A transfer that moves no byte for this long fails. Not voltimeout: a PUT's
 * source waits on the client's upload, and a client may pause for a while.
 */
#define NGINX_STALL_S 60L

/*
 * A large value goes out in chunks of NGINX_LARGE_UPLOAD_BUFFER rather than
 * curl's 64 KB: a sixteenth of the source calls and of the send()s.
 */
#define NGINX_LARGE_VALUE (4L << 20)
#define NGINX_LARGE_UPLOAD_BUFFER (1L << 20)

struct pending_stat;

/* The handle the core allocates (zeroed) for each open(). */
struct nginx_volume {
	const struct mkv_host *host;
	unsigned timeout_ms;
	struct curl_slist *put_headers; /* "Expect:", so no 100-continue wait */
	pthread_mutex_t lock;           /* guards the free list and the hand-over below */
	CURL **idle;                    /* easy handles not in use */
	size_t n_idle, cap_idle;
	CURLM *multi;                   /* every stat_async HEAD, driven by stat_thread */
	pthread_t stat_thread;
	struct pending_stat *submitted; /* handed to stat_thread, not yet in multi */
	bool closing;                   /* stat_async refuses new work */
};

/* One request in flight: its easy handle, URL, and what its callbacks need. */
struct transfer {
	struct nginx_volume *nv;
	CURL *curl;
	const char *method;
	char *url;
	int cb_rc; /* the negative code a callback stopped the transfer with */
	char errbuf[CURL_ERROR_SIZE];

	mkv_volume_source_fn src; /* put */
	void *src_ctx;
	uint64_t length, sent;

	mkv_volume_sink_fn sink; /* read */
	void *sink_ctx;

	char *body; /* list: the JSON listing, grown as it arrives */
	size_t body_len, body_cap;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* An easy handle from the free list, or a new one; NULL when out of memory. */
static CURL *pool_take(struct nginx_volume *nv)
{
	CURL *curl = NULL;

	pthread_mutex_lock(&nv->lock);
	if (nv->n_idle > 0)
		curl = nv->idle[--nv->n_idle];
	pthread_mutex_unlock(&nv->lock);
	return curl ? curl : curl_easy_init();
}

/* Reset curl (keeping its connections) and put it back on the free list. */
static void pool_give(struct nginx_volume *nv, CURL *curl)
{
	curl_easy_reset(curl);
	pthread_mutex_lock(&nv->lock);
	if (nv->n_idle == nv->cap_idle) {
		size_t cap = nv->cap_idle ? 2 * nv->cap_idle : 8;
		CURL **idle = realloc(nv->idle, cap * sizeof *idle);

		if (idle) {
			nv->idle = idle;
			nv->cap_idle = cap;
		}
	}
	if (nv->n_idle < nv->cap_idle) {
		nv->idle[nv->n_idle++] = curl;
		curl = NULL;
	}
	pthread_mutex_unlock(&nv->lock);
	if (curl)
		curl_easy_cleanup(curl);
}

/* Record "nginx: METHOD URL: reason" as the failure message; returns code. */
static int transfer_fail(struct transfer *t, int code, const char *reason)
{
	return t->nv->host->fail(code, "nginx: %s %s: %s", t->method, t->url, reason);
}

/* CURLOPT_WRITEFUNCTION for answers whose body nobody reads (status pages). */
static size_t discard_write(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

/*
 * A new connection to a volume gives up on data the volume does not
 * acknowledge within timeout_ms (TCP_USER_TIMEOUT): a volume cut off the
 * network fails a transfer on a reused connection as fast as a connect to it
 * would, instead of after the stall limit. A pause of the source sends
 * nothing, so it never trips this.
 */
static int set_socket_options(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	unsigned int ms = ((struct nginx_volume *)arg)->timeout_ms;

	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
	return CURL_SOCKOPT_OK;
}

/*
 * Options every request shares: URL, time limits, no signals, no path
 * rewriting, and response bodies discarded unless the slot reads them.
 */
static void set_common_options(struct transfer *t)
{
	curl_easy_setopt(t->curl, CURLOPT_URL, t->url);
	curl_easy_setopt(t->curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)t->nv->timeout_ms);
	curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_TIME, NGINX_STALL_S);
	curl_easy_setopt(t->curl, CURLOPT_MAXAGE_CONN, NGINX_MAX_CONN_AGE_S);
	curl_easy_setopt(t->curl, CURLOPT_SOCKOPTFUNCTION, set_socket_options);
	curl_easy_setopt(t->curl, CURLOPT_SOCKOPTDATA, t->nv);
	curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, discard_write);
}

/*
 * Start a request of method on "http://" + replica + path. Returns 0 with
 * t ready for method-specific options, or MKV_E_NOMEM; transfer_end() must
 * follow in both cases.
 */
static int transfer_begin(struct transfer *t, struct nginx_volume *nv,
			  const char *method, const char *replica, const char *path)
{
	memset(t, 0, sizeof *t);
	t->nv = nv;
	t->method = method;
	if (asprintf(&t->url, "http://%s%s", replica, path) < 0) {
		t->url = NULL;
		return nv->host->fail(MKV_E_NOMEM, "nginx: %s: out of memory", method);
	}
	t->curl = pool_take(nv);
	if (!t->curl)
		return transfer_fail(t, MKV_E_NOMEM, "cannot create a curl handle");
	set_common_options(t);
	return 0;
}

/* Release everything transfer_begin() and the callbacks acquired. */
static void transfer_end(struct transfer *t)
{
	if (t->curl)
		pool_give(t->nv, t->curl);
	free(t->url);
	free(t->body);
}

/* The code for a transfer curl could not complete, with its message. */
static int curl_failure(struct transfer *t, CURLcode cc)
{
	const char *reason = t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc);

	if (t->cb_rc < 0)
		return t->cb_rc; /* the callback's own code; its message is recorded */
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_FAIL_REWIND:
		return transfer_fail(t, MKV_E_UNAVAILABLE, reason);
	case CURLE_OPERATION_TIMEDOUT:
		return transfer_fail(t, MKV_E_TIMEOUT, reason);
	case CURLE_OUT_OF_MEMORY:
		return transfer_fail(t, MKV_E_NOMEM, reason);
	default:
		return transfer_fail(t, MKV_E_IO, reason);
	}
}

/*
 * Perform the request and store the HTTP status in *status. Returns 0 when
 * a response arrived (whatever its status), or the code of the failure.
 */
static int transfer_perform(struct transfer *t, long *status)
{
	CURLcode cc = curl_easy_perform(t->curl);

	if (cc != CURLE_OK)
		return curl_failure(t, cc);
	*status = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* The code for an unexpected HTTP status: NOTFOUND (when 404 means that), FULL or IO. */
static int status_failure(struct transfer *t, long status, bool notfound_ok)
{
	char reason[64];
	int code = MKV_E_IO;

	if (status == 404 && notfound_ok)
		code = MKV_E_NOTFOUND;
	else if (status == 507 || status == 413)
		code = MKV_E_FULL;
	snprintf(reason, sizeof reason, "HTTP status %ld", status);
	return transfer_fail(t, code, reason);
}

/* True while the response being received is a 200, whose body is the content. */
static bool status_is_ok(struct transfer *t)
{
	long status = 0;

	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	return status == 200;
}

/* The options of a HEAD for stat: no body, and a total time limit. */
static void head_options(struct transfer *t)
{
	curl_easy_setopt(t->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, (long)t->nv->timeout_ms);
}

/* stat's answer from a HEAD that ended with cc: 0 with the size, or a code. */
static int head_result(struct transfer *t, CURLcode cc, uint64_t *size)
{
	curl_off_t length = -1;
	long status = 0;

	if (cc != CURLE_OK)
		return curl_failure(t, cc);
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return status_failure(t, status, true);
	curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	if (length < 0)
		return transfer_fail(t, MKV_E_IO, "the answer has no Content-Length");
	if (size)
		*size = (uint64_t)length;
	return 0;
}

/*
 * stat_async: one thread per handle drives every HEAD in flight through a
 * curl multi handle, so a thousand checks at once cost one thread and one
 * wake-up per batch, not a thread each. Callers hand a pending_stat over
 * through a locked list and wake the thread with curl_multi_wakeup().
 */
struct pending_stat {
	struct transfer t;
	mkv_volume_stat_fn done;
	void *ctx;
	struct pending_stat *next;
};

/* Answer ps with the outcome of its HEAD and free it. */
static void stat_finish(struct pending_stat *ps, CURLcode cc)
{
	mkv_volume_stat_fn done = ps->done;
	void *ctx = ps->ctx;
	uint64_t size = 0;
	int rc = head_result(&ps->t, cc, &size);

	transfer_end(&ps->t);
	free(ps);
	done(ctx, rc, size);
}

/* Move the HEADs handed over into the multi handle; false once closing. */
static bool stat_take_submitted(struct nginx_volume *nv)
{
	struct pending_stat *ps, *next;
	bool closing;

	pthread_mutex_lock(&nv->lock);
	ps = nv->submitted;
	nv->submitted = NULL;
	closing = nv->closing;
	pthread_mutex_unlock(&nv->lock);
	for (; ps; ps = next) {
		next = ps->next;
		curl_easy_setopt(ps->t.curl, CURLOPT_PRIVATE, ps);
		if (curl_multi_add_handle(nv->multi, ps->t.curl) != CURLM_OK)
			stat_finish(ps, CURLE_OUT_OF_MEMORY);
	}
	return !closing;
}

static void *stat_thread_main(void *arg)
{
	struct nginx_volume *nv = arg;
	int running = 0;

	for (;;) {
		bool open = stat_take_submitted(nv);
		CURLMsg *msg;
		int left;

		curl_multi_perform(nv->multi, &running);
		while ((msg = curl_multi_info_read(nv->multi, &left))) {
			struct pending_stat *ps = NULL;
			CURL *curl = msg->easy_handle;
			CURLcode cc = msg->data.result;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(curl, CURLINFO_PRIVATE, (char **)&ps);
			curl_multi_remove_handle(nv->multi, curl);
			stat_finish(ps, cc);
			running = -1; /* a done may have handed over more */
		}
		if (!open && running == 0)
			return NULL;
		if (running != -1)
			curl_multi_poll(nv->multi, NULL, 0, 1000, NULL);
	}
}

static int nginx_stat_async(void *h, const char *replica, const char *path,
			    mkv_volume_stat_fn done, void *ctx)
{
	struct nginx_volume *nv = h;
	struct pending_stat *ps = calloc(1, sizeof *ps);
	bool first = false;
	int rc;

	if (!ps)
		return nv->host->fail(MKV_E_NOMEM, "nginx: HEAD: out of memory");
	rc = transfer_begin(&ps->t, nv, "HEAD", replica, path);
	if (rc == 0) {
		head_options(&ps->t);
		ps->done = done;
		ps->ctx = ctx;
		pthread_mutex_lock(&nv->lock);
		if (nv->closing) {
			rc = transfer_fail(&ps->t, MKV_E_UNAVAILABLE, "the volume handle is closing");
		} else {
			first = !nv->submitted;
			ps->next = nv->submitted;
			nv->submitted = ps;
		}
		pthread_mutex_unlock(&nv->lock);
	}
	if (rc < 0) {
		transfer_end(&ps->t);
		free(ps);
		return rc;
	}
	if (first) /* the thread takes the whole list: one wake-up per batch */
		curl_multi_wakeup(nv->multi);
	return 0;
}

static int nginx_open(void *h, unsigned timeout_ms, const struct mkv_host *host,
		      const struct mkv_options *opts)
{
	struct nginx_volume *nv = h;

	if (opts && opts->count > 0)
		return host->fail(MKV_E_INVAL, "nginx: unknown option '%s'", opts->items[0].key);
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return host->fail(MKV_E_IO, "nginx: curl_global_init: %s",
				  curl_easy_strerror(curl_init_rc));
	nv->put_headers = curl_slist_append(NULL, "Expect:");
	if (!nv->put_headers)
		return host->fail(MKV_E_NOMEM, "nginx: out of memory");
	nv->host = host;
	nv->timeout_ms = timeout_ms;
	pthread_mutex_init(&nv->lock, NULL);
	nv->multi = curl_multi_init();
	if (!nv->multi || pthread_create(&nv->stat_thread, NULL, stat_thread_main, nv) != 0) {
		curl_multi_cleanup(nv->multi);
		curl_slist_free_all(nv->put_headers);
		pthread_mutex_destroy(&nv->lock);
		return host->fail(MKV_E_NOMEM, "nginx: cannot start the thread for HEADs");
	}
	return 0;
}

static void nginx_close(void *h)
{
	struct nginx_volume *nv = h;

	pthread_mutex_lock(&nv->lock);
	nv->closing = true;
	pthread_mutex_unlock(&nv->lock);
	curl_multi_wakeup(nv->multi);
	pthread_join(nv->stat_thread, NULL);
	curl_multi_cleanup(nv->multi);

	for (size_t i = 0; i < nv->n_idle; i++)
		curl_easy_cleanup(nv->idle[i]);
	free(nv->idle);
	curl_slist_free_all(nv->put_headers);
	pthread_mutex_destroy(&nv->lock);
}

/* CURLOPT_READFUNCTION for put: pull the next bytes from the source, never past length. */
static size_t put_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct transfer *t = arg;
	uint64_t left = t->length - t->sent;
	size_t want = size * nitems < left ? size * nitems : (size_t)left;
	ssize_t n;

	if (want == 0)
		return 0;
	n = t->src(t->src_ctx, buf, want);
	if (n < 0) {
		t->cb_rc = (int)n;
		return CURL_READFUNC_ABORT;
	}
	if (n == 0 || (size_t)n > want) {
		char reason[128];

		snprintf(reason, sizeof reason, "the value source %s after %llu of %llu bytes",
			 n == 0 ? "ended" : "overran its buffer",
			 (unsigned long long)t->sent, (unsigned long long)t->length);
		t->cb_rc = transfer_fail(t, MKV_E_IO, reason);
		return CURL_READFUNC_ABORT;
	}
	t->sent += (uint64_t)n;
	return (size_t)n;
}

/*
 * CURLOPT_SEEKFUNCTION for put: curl sends a request again on a fresh
 * connection when a reused one turns out closed, and needs the value from
 * its start; the source says whether it still has it.
 */
static int put_seek(void *arg, curl_off_t offset, int origin)
{
	struct transfer *t = arg;

	if (offset != 0 || origin != SEEK_SET || t->src(t->src_ctx, NULL, 0) < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	t->sent = 0;
	return CURL_SEEKFUNC_OK;
}

static int nginx_put(void *h, const char *replica, const char *path,
		     uint64_t length, mkv_volume_source_fn src, void *ctx)
{
	struct transfer t;
	long status;
	int rc = transfer_begin(&t, h, "PUT", replica, path);

	if (rc < 0)
		goto out;
	t.src = src;
	t.src_ctx = ctx;
	t.length = length;
	curl_easy_setopt(t.curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(t.curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)length);
	curl_easy_setopt(t.curl, CURLOPT_READFUNCTION, put_read);
	curl_easy_setopt(t.curl, CURLOPT_READDATA, &t);
	curl_easy_setopt(t.curl, CURLOPT_SEEKFUNCTION, put_seek);
	curl_easy_setopt(t.curl, CURLOPT_SEEKDATA, &t);
	curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, t.nv->put_headers);
	if (length >= NGINX_LARGE_VALUE)
		curl_easy_setopt(t.curl, CURLOPT_UPLOAD_BUFFERSIZE, NGINX_LARGE_UPLOAD_BUFFER);
	rc = transfer_perform(&t, &status);
	if (rc == 0 && status != 201 && status != 204)
		rc = status_failure(&t, status, false);
out:
	transfer_end(&t);
	return rc;
}

static int nginx_del(void *h, const char *replica, const char *path)
{
	struct transfer t;
	long status;
	int rc = transfer_begin(&t, h, "DELETE", replica, path);

	if (rc < 0)
		goto out;
	curl_easy_setopt(t.curl, CURLOPT_CUSTOMREQUEST, "DELETE");
	rc = transfer_perform(&t, &status);
	if (rc == 0 && status != 204 && status != 200)
		rc = status_failure(&t, status, true);
out:
	transfer_end(&t);
	return rc;
}

static int nginx_stat(void *h, const char *replica, const char *path, uint64_t *size)
{
	struct transfer t;
	int rc = transfer_begin(&t, h, "HEAD", replica, path);

	if (rc == 0) {
		head_options(&t);
		rc = head_result(&t, curl_easy_perform(t.curl), size);
	}
	transfer_end(&t);
	return rc;
}

/* CURLOPT_WRITEFUNCTION for read: hand the body of a 200 to the sink. */
static size_t read_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * nmemb;
	int rc;

	if (len == 0 || !status_is_ok(t))
		return len; /* an error page is not the value */
	rc = t->sink(t->sink_ctx, data, len);
	if (rc < 0) {
		t->cb_rc = rc;
		return 0;
	}
	return len;
}

static int nginx_read(void *h, const char *replica, const char *path,
		      mkv_volume_sink_fn sink, void *ctx)
{
	struct transfer t;
	long status;
	int rc = transfer_begin(&t, h, "GET", replica, path);

	if (rc < 0)
		goto out;
	t.sink = sink;
	t.sink_ctx = ctx;
	curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, read_write);
	curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
	rc = transfer_perform(&t, &status);
	if (rc == 0 && status != 200)
		rc = status_failure(&t, status, true);
out:
	transfer_end(&t);
	return rc;
}

/* CURLOPT_WRITEFUNCTION for list: append the body of a 200 to t->body. */
static size_t list_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * nmemb;

	if (len == 0 || !status_is_ok(t))
		return len;
	if (t->body_len + len > t->body_cap) {
		size_t cap = t->body_cap ? t->body_cap : 4096;
		char *body;

		while (cap < t->body_len + len)
			cap *= 2;
		body = realloc(t->body, cap);
		if (!body) {
			t->cb_rc = transfer_fail(t, MKV_E_NOMEM, "out of memory for the listing");
			return 0;
		}
		t->body = body;
		t->body_cap = cap;
	}
	memcpy(t->body + t->body_len, data, len);
	t->body_len += len;
	return len;
}

/*
 * Call fn for one entry of an nginx JSON listing. Entries that are neither
 * files nor directories (nginx says "other") are skipped. Returns 0, fn's
 * code, or MKV_E_CORRUPT for an entry without the expected fields.
 */
static int list_entry(struct transfer *t, json_t *item, mkv_volume_list_fn fn, void *ctx)
{
	const char *name = json_string_value(json_object_get(item, "name"));
	const char *type = json_string_value(json_object_get(item, "type"));
	json_t *size = json_object_get(item, "size");
	struct mkv_volume_entry e = { .name = name };

	if (!name || !type)
		return transfer_fail(t, MKV_E_CORRUPT, "a listing entry lacks a name or type");
	if (strcmp(type, "directory") == 0) {
		e.is_dir = 1;
	} else if (strcmp(type, "file") == 0) {
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return transfer_fail(t, MKV_E_CORRUPT, "a file entry lacks its size");
		e.size = (uint64_t)json_integer_value(size);
	} else {
		return 0;
	}
	return fn(ctx, &e);
}

/* Parse the listing in t->body and call fn for each entry; 0 or a code. */
static int list_entries(struct transfer *t, mkv_volume_list_fn fn, void *ctx)
{
	json_error_t jerr;
	json_t *root = json_loadb(t->body ? t->body : "", t->body_len, 0, &jerr);
	json_t *item;
	size_t i;
	int rc = 0;

	if (!root)
		return transfer_fail(t, MKV_E_CORRUPT, jerr.text);
	if (!json_is_array(root)) {
		json_decref(root);
		return transfer_fail(t, MKV_E_CORRUPT, "the listing is not a JSON array");
	}
	json_array_foreach(root, i, item) {
		rc = list_entry(t, item, fn, ctx);
		if (rc < 0)
			break;
	}
	json_decref(root);
	return rc;
}

static int nginx_list(void *h, const char *replica, const char *dir,
		      mkv_volume_list_fn fn, void *ctx)
{
	size_t n = strlen(dir);
	struct transfer t;
	long status;
	char *slashed = NULL;
	int rc;

	/* nginx lists a directory only at its URL with the trailing '/'. */
	if (n == 0 || dir[n - 1] != '/') {
		if (asprintf(&slashed, "%s/", dir) < 0)
			return ((struct nginx_volume *)h)->host->fail(MKV_E_NOMEM,
								       "nginx: out of memory");
		dir = slashed;
	}
	rc = transfer_begin(&t, h, "GET", replica, dir);
	free(slashed);
	if (rc < 0)
		goto out;
	curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, list_write);
	curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
	rc = transfer_perform(&t, &status);
	if (rc == 0 && status != 200)
		rc = status_failure(&t, status, true);
	if (rc == 0)
		rc = list_entries(&t, fn, ctx);
out:
	transfer_end(&t);
	return rc;
}

static int nginx_locate(void *h, const char *replica, const char *path,
			struct mkv_location *loc)
{
	struct nginx_volume *nv = h;
	int n = snprintf(loc->url, sizeof loc->url, "http://%s%s", replica, path);

	loc->kind = MKV_LOCATION_URL;
	loc->fd = -1;
	loc->size = 0;
	if (n < 0 || (size_t)n >= sizeof loc->url)
		return nv->host->fail(MKV_E_TOOLONG, "nginx: the URL of %s on %s exceeds %d bytes",
				      path, replica, MKV_URL_MAX - 1);
	return 0;
}

static const struct mkv_volume_ops nginx_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_VOLUME,
		.name = "nginx",
		.handle_size = sizeof(struct nginx_volume),
	},
	.open = nginx_open,
	.close = nginx_close,
	.put = nginx_put,
	.del = nginx_del,
	.stat = nginx_stat,
	.read = nginx_read,
	.list = nginx_list,
	.locate = nginx_locate,
	.stat_async = nginx_stat_async,
};

const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &nginx_ops.head;
}
