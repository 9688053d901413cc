/*
 * server.c - the HTTP API, on libmicrohttpd.
 *
 * One thread per connection: a PUT's body is handed to the replicas as it
 * arrives, and the handler blocks while they are a buffer behind, which only
 * that connection can afford to do.
 *
 * The key is the URL path percent-decoded by us, not by microhttpd (whose
 * decoder stops at a %00 and lets malformed escapes through): the server
 * installs an unescape callback that leaves every string as it came, so the
 * path and the query arguments arrive raw and are decoded here.
 */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "range.h"
#include "rebalance.h"
#include "server.h"
#include "url.h"

/* Bytes microhttpd may buffer per connection; upload chunks are up to half of it. */
#define CONNECTION_MEMORY (256 * 1024)
#define CONNECTION_TIMEOUT_S 120
#define THREAD_STACK (512 * 1024)

struct mkv_server {
	struct MHD_Daemon *daemon;
	struct mkv_store *store;
};

/* A request being served, kept between calls of the handler. */
struct request {
	char *key;
	size_t key_len;
	struct mkv_put *put; /* a PUT whose body is still arriving */
	bool put_failed;     /* its replicas failed: the rest of the body is dropped */
	bool refused;        /* a PUT refused before its body: answer sent once it is read */
	struct mkv_reply refusal;
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

/* Answer a GET with a query: ?list, ?unlinked, or 403 for anything else. */
static void serve_query(struct mkv_store *store, struct MHD_Connection *conn,
			struct request *req, struct mkv_reply *r)
{
	struct mkv_query q = { 0 };
	long limit;

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_argument, &q);
	if (q.bad)
		r->status = MHD_HTTP_BAD_REQUEST;
	else if (strcmp(q.operation, "list") != 0 && strcmp(q.operation, "unlinked") != 0)
		r->status = MHD_HTTP_FORBIDDEN;
	else if (mkv_query_limit(&q, &limit) < 0)
		mkv_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad limit '%s'", q.limit);
	else
		mkv_store_list(store, req->key, req->key_len,
			       q.operation[0] == 'l' ? MKV_LIST_LIVE : MKV_LIST_UNLINKED,
			       q.start, q.start ? q.start_len : 0, limit, r);
	mkv_query_free(&q);
}

/* Start a PUT: check the length and claim the key. Leaves r->status 0 to read the body. */
static void begin_put(struct mkv_store *store, struct MHD_Connection *conn,
		      struct request *req, struct mkv_reply *r)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t length = 0;
	char *end;

	/* A chunked body overrides Content-Length (RFC 9112): the two could disagree. */
	if (cl && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					      MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		mkv_reply_error(r, MHD_HTTP_BAD_REQUEST,
				"a PUT has either Content-Length or Transfer-Encoding, not both");
		return;
	}
	if (cl) {
		errno = 0;
		length = strtoull(cl, &end, 10);
		if (errno || end == cl || *end) {
			r->status = MHD_HTTP_BAD_REQUEST;
			return;
		}
	}
	req->put = mkv_store_put_begin(store, req->key, req->key_len, length, r);
}

/* The first call for a request: parse it and answer everything but a PUT body. */
static void dispatch(struct mkv_store *store, struct MHD_Connection *conn,
		     const char *url, const char *method, struct request *req,
		     struct mkv_reply *r)
{
	bool has_query = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0;

	if (url[0] != '/' || !(req->key = mkv_url_decode(url, false, &req->key_len)))
		r->status = MHD_HTTP_BAD_REQUEST;
	else if (strcmp(method, "GET") == 0 && has_query)
		serve_query(store, conn, req, r);
	else if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		mkv_store_get(store, req->key, req->key_len, r);
	else if (strcmp(method, "PUT") == 0)
		begin_put(store, conn, req, r);
	else if (strcmp(method, "DELETE") == 0 || strcmp(method, "UNLINK") == 0)
		mkv_store_delete(store, req->key, req->key_len, method[0] == 'U', r);
	else if (strcmp(method, "REBALANCE") == 0)
		mkv_store_rebalance(store, req->key, req->key_len, r);
	else
		r->status = MHD_HTTP_METHOD_NOT_ALLOWED;
}

/* Whether the client waits for "100 Continue" before it sends the body. */
static bool expects_continue(struct MHD_Connection *conn)
{
	const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_EXPECT);

	return expect && strcasecmp(expect, "100-continue") == 0;
}

/*
 * The handler, called once when the headers are in, then with each chunk of
 * body, then once more with none left. A PUT starts at the first call (so a
 * refused PUT is answered before a client that expects 100-continue sends
 * its body); everything else is answered at the last, which lets
 * microhttpd keep the connection alive.
 */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct mkv_server *srv = cls;
	struct request *req = *con_cls;
	struct mkv_reply r;

	(void)version;
	mkv_reply_init(&r);
	if (!req) {
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		if (strcmp(method, "PUT") != 0)
			return MHD_YES;
		dispatch(srv->store, conn, url, method, req, &r);
		if (req->put || expects_continue(conn))
			return req->put ? MHD_YES : respond(conn, &r);
		/*
		 * The client is sending the body anyway: answering now and closing
		 * on unread data can reset the connection before the client reads
		 * the answer. Read (and drop) the body first.
		 */
		req->refusal = r;
		req->refused = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (req->put && !req->put_failed &&
		    mkv_store_put_write(req->put, upload_data, *upload_data_size) < 0)
			req->put_failed = true;
		*upload_data_size = 0; /* a body nobody wants is dropped */
		return MHD_YES;
	}
	if (req->put) {
		mkv_store_put_end(req->put, true, &r);
		req->put = NULL;
	} else if (req->refused) {
		r = req->refusal;
		req->refused = false;
	} else {
		dispatch(srv->store, conn, url, method, req, &r);
	}
	return respond(conn, &r);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;
	struct mkv_reply r;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	if (req->put) { /* the client went away in the middle of the body */
		mkv_reply_init(&r);
		mkv_store_put_end(req->put, false, &r);
		mkv_reply_free(&r);
	}
	if (req->refused)
		mkv_reply_free(&req->refusal);
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
	return MHD_start_daemon(
		flags | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			MHD_USE_POLL | MHD_USE_ERROR_LOG,
		(uint16_t)port, NULL, NULL, handle, srv,
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
	/* Both IPv6 and IPv4 where the host has IPv6, IPv4 alone otherwise. */
	srv->daemon = start_daemon(srv, port, MHD_USE_DUAL_STACK);
	if (!srv->daemon)
		srv->daemon = start_daemon(srv, port, 0);
	if (!srv->daemon) {
		free(srv);
		return mkv_fail(MKV_E_IO, "cannot listen on port %d: %s", port,
				errno ? strerror(errno) : "microhttpd refused to start");
	}
	*out = srv;
	return 0;
}

void mkv_server_stop(struct mkv_server *srv)
{
	MHD_stop_daemon(srv->daemon);
	free(srv);
}
