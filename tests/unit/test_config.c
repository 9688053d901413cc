/*
 * test_config.c - mkv takes the Go minikeyvalue's flags, an INI file whose
 * top-level keys are the same settings (a flag wins over the file), and
 * backend sections handed to the backends untouched. Every mistake is one
 * line naming the flag or key and the value, and MKV_E_INVAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mkv/error.h>

#include "config.h"

#define MAX_ARGS 32

/* A config, its error line, and the temporary file a test wrote. */
struct fixture {
	struct mkv_config cfg;
	char err[MKV_CONFIG_ERR_MAX];
	char path[64];
	char missing[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	strcpy(f->missing, "/nonexistent/mkv-test/mkv.conf");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mkv_config_free(&f->cfg);
	if (f->path[0])
		unlink(f->path);
	free(f);
	return 0;
}

/* mkv_config_load over the NULL-terminated arguments, with default_file. */
static int load_with_default(struct fixture *f, const char *default_file, ...)
{
	char *argv[MAX_ARGS] = { "mkv" };
	int argc = 1;
	va_list ap;

	va_start(ap, default_file);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	mkv_config_free(&f->cfg);
	return mkv_config_load(&f->cfg, argc, argv, default_file, f->err);
}

#define load(f, ...) load_with_default((f), NULL, __VA_ARGS__, (char *)NULL)

/* Write contents to a fresh temporary file, whose name goes to f->path. */
static const char *write_file(struct fixture *f, const char *contents)
{
	int fd;

	if (f->path[0])
		unlink(f->path);
	strcpy(f->path, "/tmp/mkv-test-config-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, contents, strlen(contents)), (ssize_t)strlen(contents));
	close(fd);
	return f->path;
}

/* Loading fails with MKV_E_INVAL and an error line containing each string. */
#define assert_invalid(f, rc, ...)                                               \
	do {                                                                    \
		const char *const want_[] = { __VA_ARGS__ };                    \
		assert_int_equal((rc), MKV_E_INVAL);                            \
		assert_null(strchr((f)->err, '\n'));                            \
		for (size_t i_ = 0; i_ < sizeof want_ / sizeof *want_; i_++)    \
			if (!strstr((f)->err, want_[i_]))                       \
				fail_msg("error '%s' lacks '%s'", (f)->err, want_[i_]); \
	} while (0)

#define REQUIRED "-db", "/tmp/db", "-volumes", "a:1,b:2,c:3"

/* ---- defaults and flag syntax ---------------------------------------------- */

static void defaults_are_the_go_defaults(void **state)
{
	struct fixture *f = *state;
	struct mkv_config *c = &f->cfg;

	assert_int_equal(load(f, REQUIRED, "server"), 0);
	assert_string_equal(f->err, "");
	assert_false(c->help);
	assert_int_equal(c->command, MKV_CMD_SERVER);
	assert_int_equal(c->port, 3000);
	assert_string_equal(c->db, "/tmp/db");
	assert_int_equal(c->volumes.count, 3);
	assert_string_equal(c->volumes.items[0], "a:1");
	assert_string_equal(c->volumes.items[2], "c:3");
	assert_int_equal(c->replicas, 3);
	assert_int_equal(c->subvolumes, 10);
	assert_false(c->protect);
	assert_null(c->fallback);
	assert_true(c->md5sum);
	assert_int_equal(c->voltimeout_ms, 1000);
	assert_string_equal(c->index, "leveldb");
	assert_string_equal(c->volume, "nginx");
	assert_string_equal(c->plugindir, MKV_PLUGINDIR);
	assert_false(c->verbose);
	assert_null(c->config_file);
	assert_int_equal(c->nsections, 0);
}

static void every_flag_sets_its_setting(void **state)
{
	struct fixture *f = *state;
	struct mkv_config *c = &f->cfg;

	assert_int_equal(load(f, "-port", "3001", "-db", "/x/db", "-volumes", "v1,v2",
			      "-replicas", "2", "-subvolumes", "1", "-protect",
			      "-fallback", "other:3000", "-md5sum=false", "-voltimeout", "250ms",
			      "-index", "lmdb", "-volume", "local", "-plugindir", "/opt/mkv",
			      "-v", "rebuild"), 0);
	assert_int_equal(c->command, MKV_CMD_REBUILD);
	assert_int_equal(c->port, 3001);
	assert_string_equal(c->db, "/x/db");
	assert_int_equal(c->volumes.count, 2);
	assert_int_equal(c->replicas, 2);
	assert_int_equal(c->subvolumes, 1);
	assert_true(c->protect);
	assert_string_equal(c->fallback, "other:3000");
	assert_false(c->md5sum);
	assert_int_equal(c->voltimeout_ms, 250);
	assert_string_equal(c->index, "lmdb");
	assert_string_equal(c->volume, "local");
	assert_string_equal(c->plugindir, "/opt/mkv");
	assert_true(c->verbose);
}

static void flags_take_one_or_two_dashes_with_space_or_equals(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, REQUIRED, "-port", "1", "server"), 0);
	assert_int_equal(f->cfg.port, 1);
	assert_int_equal(load(f, REQUIRED, "-port=2", "server"), 0);
	assert_int_equal(f->cfg.port, 2);
	assert_int_equal(load(f, REQUIRED, "--port", "3", "server"), 0);
	assert_int_equal(f->cfg.port, 3);
	assert_int_equal(load(f, REQUIRED, "--port=4", "server"), 0);
	assert_int_equal(f->cfg.port, 4);
}

static void the_last_of_a_repeated_flag_wins(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, REQUIRED, "-port", "1", "-port", "2", "server"), 0);
	assert_int_equal(f->cfg.port, 2);
}

static void command_may_come_before_between_or_after_flags(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "rebalance", REQUIRED), 0);
	assert_int_equal(f->cfg.command, MKV_CMD_REBALANCE);
	assert_int_equal(load(f, "-db", "/tmp/db", "rebuild", "-volumes", "a,b,c"), 0);
	assert_int_equal(f->cfg.command, MKV_CMD_REBUILD);
	assert_int_equal(load(f, REQUIRED, "server"), 0);
	assert_int_equal(f->cfg.command, MKV_CMD_SERVER);
}

static void double_dash_ends_the_flags(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, REQUIRED, "--", "server"), 0);
	assert_int_equal(f->cfg.command, MKV_CMD_SERVER);
	assert_invalid(f, load(f, REQUIRED, "--", "-port", "1"), "-port");
}

static void bare_boolean_flag_means_true(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, REQUIRED, "-protect", "--v", "server"), 0);
	assert_true(f->cfg.protect);
	assert_true(f->cfg.verbose);
}

static void boolean_flags_take_gos_words_after_equals(void **state)
{
	struct fixture *f = *state;
	static const char *const yes[] = { "-protect=true", "-protect=1", "-protect=t",
					   "-protect=TRUE", "--protect=True" };
	static const char *const no[] = { "-md5sum=false", "-md5sum=0", "-md5sum=f",
					  "-md5sum=FALSE", "--md5sum=False" };

	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		assert_int_equal(load(f, REQUIRED, yes[i], no[i], "server"), 0);
		assert_true(f->cfg.protect);
		assert_false(f->cfg.md5sum);
	}
	assert_int_equal(load(f, REQUIRED, "-protect=false", "-md5sum=true", "server"), 0);
	assert_false(f->cfg.protect);
	assert_true(f->cfg.md5sum);
}

static void boolean_flag_rejects_other_words(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, REQUIRED, "-protect=yes", "server"), "-protect", "'yes'");
}

static void boolean_value_after_a_space_is_not_the_flags(void **state)
{
	struct fixture *f = *state;

	/* As in Go: "false" is the command, and not a known one. */
	assert_invalid(f, load(f, REQUIRED, "-protect", "false", "server"), "'false'");
}

static void help_flags_ask_for_usage_and_skip_the_checks(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "-h"), 0);
	assert_true(f->cfg.help);
	assert_int_equal(load(f, "-help"), 0);
	assert_true(f->cfg.help);
	assert_int_equal(load(f, "server", "--help", "-port", "nonsense"), 0);
	assert_true(f->cfg.help);
}

static void bad_flag_before_help_is_still_an_error(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, "-nope", "-h"), "-nope");
}

static void usage_lists_every_flag_and_command(void **state)
{
	static const char *const words[] = {
		"-config", "-port", "-db", "-volumes", "-replicas", "-subvolumes",
		"-protect", "-fallback", "-md5sum", "-voltimeout", "-index", "-volume",
		"-plugindir", "-v ", "-h", "server", "rebuild", "rebalance", "3000",
		"leveldb", "nginx", "1s", MKV_PLUGINDIR,
	};

	(void)state;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (!strstr(mkv_config_usage, words[i]))
			fail_msg("usage lacks '%s'", words[i]);
}

/* ---- voltimeout: Go durations ---------------------------------------------- */

static void voltimeout_takes_go_durations_in_milliseconds(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		unsigned ms;
	} cases[] = {
		{ "1s", 1000 }, { "500ms", 500 }, { "1m30s", 90000 }, { "1.5s", 1500 },
		{ "2.5s", 2500 }, { "1h", 3600000 }, { "0.1s", 100 }, { ".5s", 500 },
		{ "1500us", 2 }, { "1500\xc2\xb5s", 2 }, { "1ns", 1 }, { "1s500ms", 1500 },
		{ "+2s", 2000 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char flag[64];

		snprintf(flag, sizeof flag, "-voltimeout=%s", cases[i].text);
		assert_int_equal(load(f, REQUIRED, flag, "server"), 0);
		if (f->cfg.voltimeout_ms != cases[i].ms)
			fail_msg("%s gave %u ms, not %u", cases[i].text, f->cfg.voltimeout_ms,
				 cases[i].ms);
	}
}

static void voltimeout_must_be_a_positive_duration_with_a_unit(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "0s", "0", "abc", "5", "-1s", "", "1x", "s",
					   "1.s5", "100000h", "1s ", "." };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char quoted[64];

		snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
		assert_invalid(f, load(f, REQUIRED, "-voltimeout", bad[i], "server"),
			       "-voltimeout", quoted);
	}
}

/* ---- bad values ------------------------------------------------------------- */

static void port_must_be_1_to_65535(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, REQUIRED, "-port", "abc", "server"), "-port", "'abc'");
	assert_invalid(f, load(f, REQUIRED, "-port", "0", "server"), "-port", "'0'");
	assert_invalid(f, load(f, REQUIRED, "-port", "65536", "server"), "-port");
	assert_invalid(f, load(f, REQUIRED, "-port", "80x", "server"), "-port");
	assert_invalid(f, load(f, REQUIRED, "-port=", "server"), "-port", "''");
	assert_int_equal(load(f, REQUIRED, "-port", "65535", "server"), 0);
}

static void replicas_must_be_at_least_one(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, REQUIRED, "-replicas", "0", "server"), "-replicas", "'0'");
	assert_invalid(f, load(f, REQUIRED, "-replicas", "-1", "server"), "-replicas");
}

static void replicas_cannot_exceed_the_volumes(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, "-db", "d", "-volumes", "a,b", "server"),
		       "replicas (3) exceeds the number of volumes (2)");
	assert_int_equal(load(f, "-db", "d", "-volumes", "a,b", "-replicas", "2", "server"), 0);
}

static void subvolumes_must_be_1_to_256(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, REQUIRED, "-subvolumes", "0", "server"), "-subvolumes");
	assert_invalid(f, load(f, REQUIRED, "-subvolumes", "257", "server"), "-subvolumes");
	assert_int_equal(load(f, REQUIRED, "-subvolumes", "256", "server"), 0);
	assert_int_equal(f->cfg.subvolumes, 256);
}

static void volumes_must_be_distinct_and_not_empty(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, "-db", "d", "-volumes", "a,,b", "-replicas", "1", "server"),
		       "-volumes", "'a,,b'");
	assert_invalid(f, load(f, "-db", "d", "-volumes", "a,b,", "-replicas", "1", "server"),
		       "-volumes");
	assert_invalid(f, load(f, "-db", "d", "-volumes", "", "-replicas", "1", "server"),
		       "-volumes");
	assert_invalid(f, load(f, "-db", "d", "-volumes", "a,b,a", "-replicas", "1", "server"),
		       "-volumes");
	assert_invalid(f, load(f, "-db", "d", "-volumes", "a, b", "-replicas", "1", "server"),
		       "-volumes");
}

static void strings_must_not_be_empty_but_fallback_may(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, "-db=", "-volumes", "a", "-replicas", "1", "server"), "-db");
	assert_invalid(f, load(f, REQUIRED, "-index=", "server"), "-index");
	assert_invalid(f, load(f, REQUIRED, "-volume=", "server"), "-volume");
	assert_invalid(f, load(f, REQUIRED, "-plugindir=", "server"), "-plugindir");
	assert_int_equal(load(f, REQUIRED, "-fallback", "x:1", "-fallback=", "server"), 0);
	assert_null(f->cfg.fallback);
}

static void required_flags_and_command_are_named_when_missing(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, "-volumes", "a,b,c", "server"), "missing required flag -db");
	assert_invalid(f, load(f, "-db", "d", "rebuild"), "missing required flag -volumes");
	assert_invalid(f, load(f, REQUIRED), "missing command");
}

static void unknown_commands_and_extra_arguments_are_rejected(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, REQUIRED, "serve"), "unknown command 'serve'");
	assert_invalid(f, load(f, REQUIRED, "server", "rebuild"), "'rebuild'");
	assert_invalid(f, load(f, REQUIRED, "-"), "'-'");
}

static void unknown_and_malformed_flags_are_rejected(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, REQUIRED, "-foo", "server"), "unknown flag -foo");
	assert_invalid(f, load(f, REQUIRED, "--foo=1", "server"), "-foo");
	assert_invalid(f, load(f, REQUIRED, "---port=1", "server"), "---port");
	assert_invalid(f, load(f, REQUIRED, "-=1", "server"), "-=1");
	assert_invalid(f, load(f, "server", REQUIRED, "-port"), "-port");
}

/* ---- the config file --------------------------------------------------------- */

static void file_keys_set_the_settings(void **state)
{
	struct fixture *f = *state;
	struct mkv_config *c = &f->cfg;
	const char *path = write_file(f,
		"; mkv\n"
		"# settings\n"
		"port = 4000\n"
		"db = /var/lib/mkv\n"
		"volumes = n1:80,n2:80\n"
		"replicas = 2\n"
		"subvolumes = 4\n"
		"protect = true\n"
		"fallback = old:3000\n"
		"md5sum = false\n"
		"voltimeout = 2s\n"
		"index = lmdb\n"
		"volume = local\n"
		"plugindir = /opt/mkv\n"
		"v = 1\n");

	assert_int_equal(load(f, "-config", path, "server"), 0);
	assert_string_equal(c->config_file, path);
	assert_int_equal(c->port, 4000);
	assert_string_equal(c->db, "/var/lib/mkv");
	assert_int_equal(c->volumes.count, 2);
	assert_string_equal(c->volumes.items[1], "n2:80");
	assert_int_equal(c->replicas, 2);
	assert_int_equal(c->subvolumes, 4);
	assert_true(c->protect);
	assert_string_equal(c->fallback, "old:3000");
	assert_false(c->md5sum);
	assert_int_equal(c->voltimeout_ms, 2000);
	assert_string_equal(c->index, "lmdb");
	assert_string_equal(c->volume, "local");
	assert_string_equal(c->plugindir, "/opt/mkv");
	assert_true(c->verbose);
}

static void flag_wins_over_the_file_before_or_after_config(void **state)
{
	struct fixture *f = *state;
	const char *path = write_file(f, "port = 4000\nprotect = true\n" "db = /file/db\n"
				      "volumes = a,b,c\n");

	assert_int_equal(load(f, "-port", "5000", "-config", path, "-protect=false", "server"), 0);
	assert_int_equal(f->cfg.port, 5000);
	assert_false(f->cfg.protect);
	assert_string_equal(f->cfg.db, "/file/db");
	assert_int_equal(load(f, "--config", path, "-db", "/flag/db", "server"), 0);
	assert_string_equal(f->cfg.db, "/flag/db");
	assert_int_equal(f->cfg.port, 4000);
}

static void sections_reach_their_backends_verbatim(void **state)
{
	struct fixture *f = *state;
	const struct mkv_options *o;
	const char *path = write_file(f,
		"db = /d\n"
		"volumes = a,b,c\n"
		"[lmdb]\n"
		"mapsize = 64G\n"
		"nosync = true\n"
		"[nginx]\n"
		"Timeout = 5 s\n"
		"[lmdb]\n"
		"mode = 0600\n"
		"[someone-elses]\n"
		"x = y\n");

	assert_int_equal(load(f, "-config", path, "server"), 0);
	assert_int_equal(f->cfg.nsections, 3);
	o = mkv_config_options(&f->cfg, "lmdb");
	assert_int_equal(o->count, 3);
	assert_string_equal(o->items[0].key, "mapsize");
	assert_string_equal(o->items[0].value, "64G");
	assert_string_equal(o->items[1].key, "nosync");
	assert_string_equal(o->items[2].key, "mode");
	assert_string_equal(o->items[2].value, "0600");
	o = mkv_config_options(&f->cfg, "nginx");
	assert_int_equal(o->count, 1);
	assert_string_equal(o->items[0].key, "Timeout");
	assert_string_equal(o->items[0].value, "5 s");
	o = mkv_config_options(&f->cfg, "someone-elses");
	assert_int_equal(o->count, 1);
}

static void a_backend_without_a_section_gets_no_options(void **state)
{
	struct fixture *f = *state;
	struct mkv_config zeroed = { 0 };

	assert_int_equal(load(f, REQUIRED, "server"), 0);
	assert_int_equal(mkv_config_options(&f->cfg, "leveldb")->count, 0);
	assert_int_equal(mkv_config_options(&zeroed, "leveldb")->count, 0);
}

static void long_lines_are_read_whole(void **state)
{
	struct fixture *f = *state;
	char contents[4096] = "db = /d\nvolumes = ";
	const char *path;

	for (int i = 0; i < 100; i++)
		sprintf(contents + strlen(contents), "%svolume%02d.example.com:80", i ? "," : "", i);
	strcat(contents, "\nport = 1234\n");
	path = write_file(f, contents);
	assert_int_equal(load(f, "-config", path, "server"), 0);
	assert_int_equal(f->cfg.volumes.count, 100);
	assert_string_equal(f->cfg.volumes.items[99], "volume99.example.com:80");
	assert_int_equal(f->cfg.port, 1234);
}

static void indented_lines_are_keys_not_continuations(void **state)
{
	struct fixture *f = *state;
	const char *path = write_file(f, "[nginx]\n  a = 1\n  b = 2\n");

	assert_int_equal(load(f, "-config", path, REQUIRED, "server"), 0);
	assert_int_equal(mkv_config_options(&f->cfg, "nginx")->count, 2);
}

static void unknown_file_key_names_file_line_and_key(void **state)
{
	struct fixture *f = *state;
	char want[128];
	const char *path = write_file(f, "port = 1\n\n; comment\nprot = true\n");

	snprintf(want, sizeof want, "%s:4: unknown key 'prot'", path);
	assert_invalid(f, load(f, "-config", path, REQUIRED, "server"), want);
}

static void config_is_not_a_file_key(void **state)
{
	struct fixture *f = *state;
	const char *path = write_file(f, "config = /etc/other.conf\n");

	assert_invalid(f, load(f, "-config", path, REQUIRED, "server"), "unknown key 'config'");
}

static void bad_file_value_names_file_line_key_and_value(void **state)
{
	struct fixture *f = *state;
	char want[128];
	const char *path = write_file(f, "db = /d\nvoltimeout = 5\n");

	snprintf(want, sizeof want, "%s:2: bad value for voltimeout: '5'", path);
	assert_invalid(f, load(f, "-config", path, REQUIRED, "server"), want);
	/* The file must be right even where a flag overrides it. */
	assert_invalid(f, load(f, "-config", path, REQUIRED, "-voltimeout", "1s", "server"),
		       "voltimeout");
}

static void duplicate_keys_are_errors(void **state)
{
	struct fixture *f = *state;
	char want[128];
	const char *path = write_file(f, "port = 1\nport = 2\n");

	snprintf(want, sizeof want, "%s:2: duplicate key 'port'", path);
	assert_invalid(f, load(f, "-config", path, REQUIRED, "server"), want);
	path = write_file(f, "[lmdb]\nmapsize = 1G\n[nginx]\n[lmdb]\nmapsize = 2G\n");
	snprintf(want, sizeof want, "%s:5: duplicate key 'mapsize' in section [lmdb]", path);
	assert_invalid(f, load(f, "-config", path, REQUIRED, "server"), want);
}

static void syntax_error_names_the_line(void **state)
{
	struct fixture *f = *state;
	char want[128];
	const char *path = write_file(f, "port = 1\njust some words\n");

	snprintf(want, sizeof want, "%s:2: syntax error", path);
	assert_invalid(f, load(f, "-config", path, REQUIRED, "server"), want);
}

static void missing_config_file_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_invalid(f, load(f, "-config", f->missing, REQUIRED, "server"), "-config",
		       f->missing);
}

static void default_file_is_read_when_present(void **state)
{
	struct fixture *f = *state;
	const char *path = write_file(f, "port = 4100\n");

	assert_int_equal(load_with_default(f, path, REQUIRED, "server", NULL), 0);
	assert_int_equal(f->cfg.port, 4100);
	assert_string_equal(f->cfg.config_file, path);
}

static void default_file_is_skipped_when_absent(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_with_default(f, f->missing, REQUIRED, "server", NULL), 0);
	assert_null(f->cfg.config_file);
	assert_int_equal(f->cfg.port, 3000);
}

static void config_flag_replaces_the_default_file(void **state)
{
	struct fixture *f = *state;
	char first[64];
	const char *path = write_file(f, "port = 4100\n");

	strcpy(first, path);
	f->path[0] = '\0';
	path = write_file(f, "port = 4200\n");
	assert_int_equal(load_with_default(f, first, "-config", path, REQUIRED, "server", NULL), 0);
	unlink(first);
	assert_int_equal(f->cfg.port, 4200);
	assert_string_equal(f->cfg.config_file, path);
}

static void required_keys_may_come_from_the_file(void **state)
{
	struct fixture *f = *state;
	const char *path = write_file(f, "db = /d\nvolumes = a\nreplicas = 1\n");

	assert_int_equal(load(f, "rebuild", "-config", path), 0);
	assert_int_equal(f->cfg.volumes.count, 1);
}

/* ---- freeing ----------------------------------------------------------------- */

static void free_is_safe_on_zeroed_failed_and_freed_configs(void **state)
{
	struct fixture *f = *state;
	struct mkv_config zeroed = { 0 };

	mkv_config_free(&zeroed);
	assert_invalid(f, load(f, REQUIRED, "-port", "x", "server"), "-port");
	mkv_config_free(&f->cfg);
	mkv_config_free(&f->cfg);
	assert_null(f->cfg.db);
	assert_int_equal(f->cfg.volumes.count, 0);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(defaults_are_the_go_defaults),
		TEST(every_flag_sets_its_setting),
		TEST(flags_take_one_or_two_dashes_with_space_or_equals),
		TEST(the_last_of_a_repeated_flag_wins),
		TEST(command_may_come_before_between_or_after_flags),
		TEST(double_dash_ends_the_flags),
		TEST(bare_boolean_flag_means_true),
		TEST(boolean_flags_take_gos_words_after_equals),
		TEST(boolean_flag_rejects_other_words),
		TEST(boolean_value_after_a_space_is_not_the_flags),
		TEST(help_flags_ask_for_usage_and_skip_the_checks),
		TEST(bad_flag_before_help_is_still_an_error),
		TEST(usage_lists_every_flag_and_command),
		TEST(voltimeout_takes_go_durations_in_milliseconds),
		TEST(voltimeout_must_be_a_positive_duration_with_a_unit),
		TEST(port_must_be_1_to_65535),
		TEST(replicas_must_be_at_least_one),
		TEST(replicas_cannot_exceed_the_volumes),
		TEST(subvolumes_must_be_1_to_256),
		TEST(volumes_must_be_distinct_and_not_empty),
		TEST(strings_must_not_be_empty_but_fallback_may),
		TEST(required_flags_and_command_are_named_when_missing),
		TEST(unknown_commands_and_extra_arguments_are_rejected),
		TEST(unknown_and_malformed_flags_are_rejected),
		TEST(file_keys_set_the_settings),
		TEST(flag_wins_over_the_file_before_or_after_config),
		TEST(sections_reach_their_backends_verbatim),
		TEST(a_backend_without_a_section_gets_no_options),
		TEST(long_lines_are_read_whole),
		TEST(indented_lines_are_keys_not_continuations),
		TEST(unknown_file_key_names_file_line_and_key),
		TEST(config_is_not_a_file_key),
		TEST(bad_file_value_names_file_line_key_and_value),
		TEST(duplicate_keys_are_errors),
		TEST(syntax_error_names_the_line),
		TEST(missing_config_file_is_an_error),
		TEST(default_file_is_read_when_present),
		TEST(default_file_is_skipped_when_absent),
		TEST(config_flag_replaces_the_default_file),
		TEST(required_keys_may_come_from_the_file),
		TEST(free_is_safe_on_zeroed_failed_and_freed_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
