/*
 * main.c - the mkv program: read the settings, load and open the backends,
 * run the command (server, rebuild, rebalance), and close everything.
 *
 * Exit status: 0 on success, 2 for a bad flag, config value or a missing
 * required one, a backend that cannot be loaded or refuses its options
 * (nothing is written then), 1 for any other failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "host.h"
#include "plugin.h"
#include "rebalance.h"
#include "rebuild.h"
#include "server.h"
#include "store.h"
#include "workpool.h"

#define DEFAULT_CONFIG MKV_SYSCONFDIR "/mkv/mkv.conf"

/* The backends of one run, loaded and opened. */
struct backends {
	struct mkv_plugin index_plugin, volume_plugin;
	struct mkv_index index;
	struct mkv_volume volume;
};

static void backends_close(struct backends *b)
{
	mkv_index_close(&b->index);
	mkv_volume_close(&b->volume);
	mkv_plugin_unload(&b->index_plugin);
	mkv_plugin_unload(&b->volume_plugin);
}

/*
 * Load both plugins, then open the volumes and the index. Returns 0, or the
 * exit status after printing why: 2 when a backend cannot be loaded or
 * refuses its options (a bad flag or config value), 1 otherwise.
 */
static int backends_open(struct backends *b, const struct mkv_config *cfg)
{
	char err[MKV_PLUGIN_ERR_MAX];
	const struct mkv_index_ops *iops;
	const struct mkv_volume_ops *vops;
	int rc;

	if (mkv_plugin_load(cfg->index, cfg->plugindir, MKV_PLUGIN_INDEX, &b->index_plugin, err) < 0 ||
	    mkv_plugin_load(cfg->volume, cfg->plugindir, MKV_PLUGIN_VOLUME, &b->volume_plugin, err) < 0) {
		fprintf(stderr, "mkv: %s\n", err);
		return 2;
	}
	iops = (const void *)b->index_plugin.head;
	vops = (const void *)b->volume_plugin.head;
	rc = mkv_volume_open(&b->volume, vops, cfg->voltimeout_ms,
			     mkv_config_options(cfg, vops->head.name));
	if (rc < 0) {
		fprintf(stderr, "mkv: volume backend %s: %s\n", vops->head.name,
			mkv_error_message(rc));
		return rc == MKV_E_INVAL ? 2 : 1;
	}
	rc = mkv_index_open(&b->index, iops, cfg->db, mkv_config_options(cfg, iops->head.name));
	if (rc < 0) {
		fprintf(stderr, "mkv: index %s (%s): %s\n", cfg->db, iops->head.name,
			mkv_error_message(rc));
		return rc == MKV_E_INVAL ? 2 : 1;
	}
	return 0;
}

/* Serve until SIGINT or SIGTERM. */
static int run_server(const struct mkv_config *cfg, struct backends *b)
{
	struct mkv_server *srv;
	struct mkv_store store;
	sigset_t stop;
	int sig, rc;

	if (mkv_store_init(&store, cfg, &b->index, &b->volume) < 0) {
		fprintf(stderr, "mkv: out of memory\n");
		return 1;
	}
	rc = mkv_server_start(&srv, &store, cfg->port);
	if (rc < 0) {
		fprintf(stderr, "mkv: %s\n", mkv_error_message(rc));
		mkv_store_free(&store);
		return 1;
	}
	mkv_log(MKV_LOG_INFO, "listening on port %d: %zu volumes, %d replicas, index %s (%s)",
		cfg->port, cfg->volumes.count, cfg->replicas, cfg->db, cfg->index);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigwait(&stop, &sig);
	mkv_log(MKV_LOG_INFO, "signal %d: stopping", sig);
	mkv_server_stop(srv);
	mkv_store_free(&store);
	return 0;
}

/* rebuild or rebalance: 0 when every key made it, 1 otherwise. */
static int run_maintenance(const struct mkv_config *cfg, struct backends *b)
{
	struct mkv_store store;
	long failed;

	if (mkv_store_init(&store, cfg, &b->index, &b->volume) < 0) {
		fprintf(stderr, "mkv: out of memory\n");
		return 1;
	}
	if (cfg->command == MKV_CMD_REBUILD)
		failed = mkv_rebuild(&store);
	else
		failed = mkv_rebalance_all(&store);
	if (failed < 0)
		fprintf(stderr, "mkv: %s\n", mkv_error_message((int)failed));
	else if (failed > 0)
		fprintf(stderr, "mkv: %ld keys failed (see the log above)\n", failed);
	mkv_store_free(&store);
	return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct mkv_config cfg = { 0 };
	struct backends b = { 0 };
	char err[MKV_CONFIG_ERR_MAX];
	sigset_t blocked;
	int status = 1;

	if (mkv_config_load(&cfg, argc, argv, DEFAULT_CONFIG, err) < 0) {
		fprintf(stderr, "mkv: %s\n", err);
		mkv_config_free(&cfg);
		return 2;
	}
	if (cfg.help) {
		fputs(mkv_config_usage, stdout);
		mkv_config_free(&cfg);
		return 0;
	}
	mkv_log_set_verbose(cfg.verbose);
	/* Signals are taken by sigwait(); every thread started from here inherits the mask. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	signal(SIGPIPE, SIG_IGN);

	status = backends_open(&b, &cfg);
	if (status == 0)
		status = cfg.command == MKV_CMD_SERVER ? run_server(&cfg, &b)
						       : run_maintenance(&cfg, &b);
	mkv_work_shutdown();
	backends_close(&b);
	mkv_config_free(&cfg);
	return status;
}
