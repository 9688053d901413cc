/*
 * server.c - the HTTP API, on libmicrohttpd.
 *
 * A few threads (one per CPU), each serving many connections with poll(),
 * never wait on a volume. Requests that only touch the index are
 * answered on them; whatever waits on volumes (the replica check of a GET,
 * a DELETE, the end of a PUT, listings, REBALANCE) runs as a job on the work
 * pool while its connection is suspended. A PUT's body is handed to the
 * replicas as it arrives; while they are a buffer behind, its connection is
 * suspended, not its thread.
 *
 * poll(), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll takes a
 * short read for a drained socket, so a client's FIN that arrives together
 * with the last bytes of a request goes unseen, and an abandoned PUT would
 * hold its key's lock until the connection timeout.
 *
 * The key is the URL path percent-decoded by us, not by microhttpd (whose
 * decoder stops at a %00 and lets malformed escapes through): the server
 * installs an unescape callback that leaves every string as it came, so the
 * path and the query arguments arrive raw and are decoded here.
 */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "range.h"
#include "rebalance.h"
#include "server.h"
#include "url.h"
#include "workpool.h"

/*
 * Bytes microhttpd may buffer per connection; upload chunks are up to half of
 * it. microhttpd clears it for every request, so more costs every request.
 */
#define CONNECTION_MEMORY (32 * 1024)
#define CONNECTION_TIMEOUT_S 120
#define THREAD_STACK (512 * 1024)

struct mkv_server {
	struct MHD_Daemon *daemon;
	struct mkv_store *store;
	pthread_mutex_t mu;
	pthread_cond_t idle; /* waiting fell to 0 */
	size_t waiting;      /* requests suspended for a job or a volume */
	bool stopping;       /* no new waits: the daemon is about to stop */
};

/* Where a request is between calls of the handler. */
enum phase {
	PHASE_NEW,     /* the headers are in */
	PHASE_BODY,    /* a PUT's body is arriving (to the replicas, or dropped) */
	PHASE_WORKING, /* a job is working on it; the connection is suspended */
	PHASE_ANSWER,  /* the answer is in reply */
};

/* A request being served, kept between calls of the handler. */
struct request {
	struct mkv_server *srv;
	struct MHD_Connection *conn;
	enum phase phase;
	char *key;
	size_t key_len;
	struct mkv_put *put;   /* a PUT whose body is still arriving */
	bool put_failed;       /* its replicas failed: the rest of the body is dropped */
	bool suspended;        /* this call of the handler suspended the connection */
	void (*work)(struct request *req); /* what the job does */
	struct mkv_get get;    /* a GET between its halves */
	struct mkv_query query;
	long limit;
	bool unlink;
	struct mkv_reply reply;
};

static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static enum MHD_Result collect_argument(void *cls, enum MHD_ValueKind kind,
					const char *key, const char *value)
{
	(void)kind;
	mkv_query_add(cls, key, value);
	return MHD_YES;
}

/*
 * The answer for a value the master serves itself: 200 with the whole file,
 * 206 with the range asked for, or 416. Takes r->fd on success.
 */
static struct MHD_Response *file_response(struct MHD_Connection *conn, struct mkv_reply *r)
{
	const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_RANGE);
	uint64_t offset = 0, length = r->size;
	struct MHD_Response *resp;
	char content_range[64];

	switch (mkv_range_parse(range, r->size, &offset, &length)) {
	case MKV_RANGE_UNSATISFIABLE:
		snprintf(content_range, sizeof content_range, "bytes */%" PRIu64, r->size);
		r->status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		break;
	case MKV_RANGE_PARTIAL:
		snprintf(content_range, sizeof content_range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
			 offset, offset + length - 1, r->size);
		r->status = MHD_HTTP_PARTIAL_CONTENT;
		/* fall through */
	default:
		resp = MHD_create_response_from_fd_at_offset64(length, r->fd, (int64_t)offset);
		if (resp)
			r->fd = -1; /* microhttpd closes it */
		break;
	}
	if (resp && r->status != MHD_HTTP_OK)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	return resp;
}

/* Send r; takes what it owns (body, fd). */
static enum MHD_Result respond(struct MHD_Connection *conn, struct mkv_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	if (r->fd >= 0) {
		resp = file_response(conn, r);
	} else if (r->body) {
		resp = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
		if (resp)
			r->body = NULL;
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		mkv_reply_free(r);
		return MHD_NO;
	}
	if (r->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->md5[0])
		MHD_add_response_header(resp, "Content-Md5", r->md5);
	if (r->key_volumes)
		MHD_add_response_header(resp, "Key-Volumes", r->key_volumes);
	if (r->key_balance)
		MHD_add_response_header(resp, "Key-Balance", r->key_balance);
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD, PUT, DELETE, UNLINK, REBALANCE");
	ok = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	mkv_reply_free(r);
	return ok;
}

/*
 * Jobs: what waits on volumes runs on a pool thread while the connection is
 * suspended, so the server's threads go on serving other connections.
 */

/*
 * Suspend req's connection while it waits for a job or a volume. Returns
 * false, with a 503 in req->reply, when the server is stopping.
 */
static bool begin_wait(struct request *req)
{
	struct mkv_server *srv = req->srv;
	bool stopping;

	pthread_mutex_lock(&srv->mu);
	stopping = srv->stopping;
	if (!stopping)
		srv->waiting++;
	pthread_mutex_unlock(&srv->mu);
	if (stopping) {
		mkv_reply_error(&req->reply, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is stopping");
		return false;
	}
	req->phase = PHASE_WORKING;
	req->suspended = true;
	MHD_suspend_connection(req->conn);
	return true;
}

/* The wait is over and req->reply holds the answer. Any thread; req is not ours after. */
static void end_wait(struct request *req)
{
	struct mkv_server *srv = req->srv;

	req->phase = PHASE_ANSWER;
	MHD_resume_connection(req->conn);
	pthread_mutex_lock(&srv->mu);
	if (--srv->waiting == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->mu);
}

static void job_main(void *arg)
{
	struct request *req = arg;

	req->work(req);
	end_wait(req);
}

/* Start a job doing work for req, which begin_wait() suspended. */
static void start_job(struct request *req, void (*work)(struct request *req))
{
	req->work = work;
	if (mkv_work_run(job_main, req) < 0) {
		mkv_reply_error(&req->reply, MHD_HTTP_SERVICE_UNAVAILABLE, "%s",
				mkv_error_message(MKV_E_NOMEM));
		end_wait(req);
	}
}

/* Hand req to a job doing work; its answer is sent once the job is done. */
static void run_job(struct request *req, void (*work)(struct request *req))
{
	if (begin_wait(req))
		start_job(req, work);
}

static void located(void *ctx)
{
	end_wait(ctx);
}

static void work_locate(struct request *req)
{
	mkv_store_get_locate(req->srv->store, &req->get, &req->reply);
}

static void work_list(struct request *req)
{
	struct mkv_query *q = &req->query;

	mkv_store_list(req->srv->store, req->key, req->key_len,
		       q->operation[0] == 'l' ? MKV_LIST_LIVE : MKV_LIST_UNLINKED,
		       q->start, q->start ? q->start_len : 0, req->limit, &req->reply);
}

static void work_delete(struct request *req)
{
	mkv_store_delete(req->srv->store, req->key, req->key_len, false, &req->reply);
}

static void work_rebalance(struct request *req)
{
	mkv_store_rebalance(req->srv->store, req->key, req->key_len, &req->reply);
}

static void work_put_end(struct request *req)
{
	mkv_store_put_end(req->put, true, &req->reply);
	req->put = NULL;
}

static void put_ended(void *ctx)
{
	struct request *req = ctx;

	req->put = NULL;
	end_wait(req);
}

/* The body is in: the PUT ends when its last replica writer does. */
static void end_put(struct request *req)
{
	if (!begin_wait(req))
		return;
	if (!mkv_store_put_end_async(req->put, &req->reply, put_ended, req))
		start_job(req, work_put_end);
}

/* The replica check of a GET: asynchronous when the volume backend can, else a job. */
static void locate(struct request *req)
{
	struct mkv_store *store = req->srv->store;

	if (!mkv_store_locates_async(store))
		run_job(req, work_locate);
	else if (begin_wait(req))
		mkv_store_get_locate_async(store, &req->get, &req->reply, located, req);
}

/* Answer a GET with a query: ?list, ?unlinked, or 403 for anything else. */
static void serve_query(struct request *req)
{
	struct mkv_query *q = &req->query;

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_argument, q);
	if (q->bad)
		req->reply.status = MHD_HTTP_BAD_REQUEST;
	else if (strcmp(q->operation, "list") != 0 && strcmp(q->operation, "unlinked") != 0)
		req->reply.status = MHD_HTTP_FORBIDDEN;
	else if (mkv_query_limit(q, &req->limit) < 0)
		mkv_reply_error(&req->reply, MHD_HTTP_BAD_REQUEST, "bad limit '%s'", q->limit);
	else
		run_job(req, work_list);
}

/* Start a PUT: check the length and claim the key. Leaves the status 0 to read the body. */
static void begin_put(struct request *req)
{
	struct MHD_Connection *conn = req->conn;
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t length = 0;
	char *end;

	/* A chunked body overrides Content-Length (RFC 9112): the two could disagree. */
	if (cl && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					      MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		mkv_reply_error(&req->reply, MHD_HTTP_BAD_REQUEST,
				"a PUT has either Content-Length or Transfer-Encoding, not both");
		return;
	}
	if (cl) {
		errno = 0;
		length = strtoull(cl, &end, 10);
		if (errno || end == cl || *end) {
			req->reply.status = MHD_HTTP_BAD_REQUEST;
			return;
		}
	}
	req->put = mkv_store_put_begin(req->srv->store, req->key, req->key_len, length,
				       &req->reply);
}

/*
 * Parse a request and answer it, or start the job that will. What only
 * reads or writes the index is answered here; what waits on volumes is a
 * job.
 */
static void dispatch(struct request *req, const char *url, const char *method)
{
	struct mkv_store *store = req->srv->store;
	bool has_query = MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0;

	if (url[0] != '/' || !(req->key = mkv_url_decode(url, false, &req->key_len)))
		req->reply.status = MHD_HTTP_BAD_REQUEST;
	else if (strcmp(method, "GET") == 0 && has_query)
		serve_query(req);
	else if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		if (mkv_store_get_lookup(store, req->key, req->key_len, &req->get, &req->reply))
			locate(req);
	} else if (strcmp(method, "PUT") == 0)
		begin_put(req);
	else if (strcmp(method, "DELETE") == 0)
		run_job(req, work_delete);
	else if (strcmp(method, "UNLINK") == 0)
		mkv_store_delete(store, req->key, req->key_len, true, &req->reply);
	else if (strcmp(method, "REBALANCE") == 0)
		run_job(req, work_rebalance);
	else
		req->reply.status = MHD_HTTP_METHOD_NOT_ALLOWED;
}

/* Whether the client waits for "100 Continue" before it sends the body. */
static bool expects_continue(struct MHD_Connection *conn)
{
	const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_EXPECT);

	return expect && strcasecmp(expect, "100-continue") == 0;
}

/* A PUT whose replicas are a buffer behind waits, suspended, until they catch up. */
static void pause_body(void *ctx)
{
	struct request *req = ctx;

	MHD_suspend_connection(req->conn);
}

static void wake_body(void *ctx)
{
	struct request *req = ctx;

	MHD_resume_connection(req->conn);
}

/* Pass a chunk of a PUT's body on; a body nobody wants is dropped. */
static void receive_body(struct request *req, const char *data, size_t *size)
{
	const struct mkv_fanout_waiter waiter = { pause_body, wake_body, req };
	ssize_t taken;

	if (!req->put || req->put_failed) {
		*size = 0;
		return;
	}
	taken = mkv_store_put_offer(req->put, data, *size, &waiter);
	if (taken < 0) {
		req->put_failed = true;
		*size = 0;
	} else {
		*size -= (size_t)taken;
	}
}

/*
 * The handler, called once when the headers are in, then with each chunk of
 * body, then once more with none left (and again after each job). A PUT
 * starts at the first call (so a refused PUT is answered before a client
 * that expects 100-continue sends its body); everything else is started at
 * the last, which lets microhttpd keep the connection alive.
 */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct request *req = *con_cls;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		req->srv = cls;
		req->conn = conn;
		mkv_reply_init(&req->reply);
		if (strcmp(method, "PUT") != 0)
			return MHD_YES;
		dispatch(req, url, method);
		req->phase = PHASE_BODY;
		if (req->put || !expects_continue(conn))
			return MHD_YES;
		/*
		 * A refused PUT whose client is sending the body anyway is
		 * answered once the body is read (and dropped): answering now and
		 * closing on unread data can reset the connection before the
		 * client reads the answer.
		 */
		return respond(conn, &req->reply);
	}
	if (*upload_data_size) {
		receive_body(req, upload_data, upload_data_size);
		return MHD_YES;
	}
	req->suspended = false;
	if (req->phase == PHASE_NEW)
		dispatch(req, url, method);
	else if (req->phase == PHASE_BODY && req->put)
		end_put(req);
	/* A suspended request is answered when the handler is called after its resume. */
	if (req->suspended)
		return MHD_YES;
	return respond(conn, &req->reply);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	if (req->put) /* the client went away in the middle of the body */
		mkv_store_put_end(req->put, false, &req->reply);
	mkv_reply_free(&req->reply);
	mkv_record_free(&req->get.rec);
	mkv_query_free(&req->query);
	free(req->key);
	free(req);
	*con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char line[1024];

	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	mkv_log(MKV_LOG_DEBUG, "http: %s", line);
}

static struct MHD_Daemon *start_daemon(struct mkv_server *srv, int port, unsigned flags)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return MHD_start_daemon(
		flags | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		(uint16_t)port, NULL, NULL, handle, srv,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cpus > 1 ? cpus : 1),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK,
		MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, srv,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, srv,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_END);
}

int mkv_server_start(struct mkv_server **out, struct mkv_store *store, int port)
{
	struct mkv_server *srv = calloc(1, sizeof *srv);

	if (!srv)
		return mkv_fail(MKV_E_NOMEM, "out of memory");
	srv->store = store;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->idle, NULL);
	/* Both IPv6 and IPv4 where the host has IPv6, IPv4 alone otherwise. */
	srv->daemon = start_daemon(srv, port, MHD_USE_DUAL_STACK);
	if (!srv->daemon)
		srv->daemon = start_daemon(srv, port, 0);
	if (!srv->daemon) {
		int err = errno;
		mkv_server_stop(srv);
		return mkv_fail(MKV_E_IO, "cannot listen on port %d: %s", port,
				err ? strerror(err) : "microhttpd refused to start");
	}
	*out = srv;
	return 0;
}

void mkv_server_stop(struct mkv_server *srv)
{
	/* A wait ends by resuming its connection: the daemon must outlive every wait. */
	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	while (srv->waiting > 0)
		pthread_cond_wait(&srv->idle, &srv->mu);
	pthread_mutex_unlock(&srv->mu);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}
