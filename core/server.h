/*
 * server.h - the HTTP front of mkv (libmicrohttpd): parses requests into
 * store calls and store replies into HTTP answers.
 */
#ifndef MKV_SERVER_H
#define MKV_SERVER_H

#include "store.h"

struct mkv_server;

/*
 * Listen on port (all addresses) and serve store until mkv_server_stop().
 * Returns 0 with *out set, or a negative code with the reason in
 * mkv_error_message() (e.g. the port is in use).
 */
int mkv_server_start(struct mkv_server **out, struct mkv_store *store, int port);

/* Stop accepting, finish the requests in flight, free the server. */
void mkv_server_stop(struct mkv_server *srv);

#endif
