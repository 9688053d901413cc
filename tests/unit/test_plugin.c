/*
 * test_plugin.c - the plugin loader: the bundled backends load by name and by
 * path, and every way a shared object can be wrong (missing, no entry symbol,
 * another ABI major, the other kind) is refused with a one-line message that
 * names the file, leaving the struct mkv_plugin empty.
 *
 * The bundled plugins are found in $MKV_TEST_PLUGINDIR, the broken ones of
 * tests/plugins/ in $MKV_TEST_BADPLUGINDIR (both set by `make check`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin.h"

/* The directory named by environment variable var; skips the test when unset. */
static const char *dir_from_env(const char *var)
{
	const char *dir = getenv(var);

	if (!dir || !*dir) {
		print_message("%s is not set; skipping\n", var);
		skip();
	}
	return dir;
}

static const char *plugindir(void)
{
	return dir_from_env("MKV_TEST_PLUGINDIR");
}

static const char *badplugindir(void)
{
	return dir_from_env("MKV_TEST_BADPLUGINDIR");
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void assert_empty(const struct mkv_plugin *p)
{
	assert_null(p->dl);
	assert_null(p->path);
	assert_null(p->head);
}

/* Load name_or_path, expecting failure with code rc; returns the message. */
static void load_fails(const char *name_or_path, const char *dir,
		       enum mkv_plugin_kind kind, int rc, char err[MKV_PLUGIN_ERR_MAX])
{
	struct mkv_plugin p;

	memset(&p, 0xa5, sizeof p); /* the loader must empty it, whatever it held */
	err[0] = '\0';
	if (rc)
		assert_int_equal(mkv_plugin_load(name_or_path, dir, kind, &p, err), rc);
	else
		assert_true(mkv_plugin_load(name_or_path, dir, kind, &p, err) < 0);
	assert_empty(&p);
	assert_true(strlen(err) > 0);
	assert_null(strchr(err, '\n'));
}

static void load_by_name_succeeds(const char *name, enum mkv_plugin_kind kind)
{
	char err[MKV_PLUGIN_ERR_MAX] = "";
	struct mkv_plugin p;
	int rc = mkv_plugin_load(name, plugindir(), kind, &p, err);

	if (rc != 0)
		fail_msg("loading %s: %s", name, err);
	assert_non_null(p.dl);
	assert_non_null(p.head);
	assert_string_equal(p.head->name, name);
	assert_int_equal(p.head->kind, kind);
	assert_int_equal(MKV_ABI_MAJOR_OF(p.head->abi_version), MKV_ABI_MAJOR);
	mkv_plugin_unload(&p);
	assert_empty(&p);
}

static void test_leveldb_loads_by_name_as_index(void **state)
{
	(void)state;
	load_by_name_succeeds("leveldb", MKV_PLUGIN_INDEX);
}

static void test_nginx_loads_by_name_as_volume(void **state)
{
	(void)state;
	load_by_name_succeeds("nginx", MKV_PLUGIN_VOLUME);
}

static void test_plugin_loads_by_path_ignoring_plugindir(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX] = "", path[4096];
	struct mkv_plugin p;
	int rc;

	(void)state;
	snprintf(path, sizeof path, "%s/leveldb.so", plugindir());
	rc = mkv_plugin_load(path, "/nonexistent", MKV_PLUGIN_INDEX, &p, err);
	if (rc != 0)
		fail_msg("loading %s: %s", path, err);
	assert_string_equal(p.head->name, "leveldb");
	assert_string_equal(p.path, path);
	mkv_plugin_unload(&p);
	assert_empty(&p);
}

static void test_missing_name_is_not_found_and_names_the_file(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX], path[4096];
	const char *dir = badplugindir();

	(void)state;
	load_fails("nosuchbackend", dir, MKV_PLUGIN_INDEX, MKV_E_NOTFOUND, err);
	snprintf(path, sizeof path, "%s/nosuchbackend.so", dir);
	assert_contains(err, path);
}

static void test_missing_path_is_not_found_and_names_the_file(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX];

	(void)state;
	load_fails("/nonexistent/dir/backend.so", "/unused", MKV_PLUGIN_VOLUME,
		   MKV_E_NOTFOUND, err);
	assert_contains(err, "/nonexistent/dir/backend.so");
}

static void test_object_without_entry_symbol_is_refused(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX], path[4096];
	const char *dir = badplugindir();

	(void)state;
	load_fails("no_entry", dir, MKV_PLUGIN_VOLUME, 0, err);
	snprintf(path, sizeof path, "%s/no_entry.so", dir);
	assert_contains(err, path);
	assert_contains(err, MKV_PLUGIN_ENTRY_SYMBOL);
}

static void test_wrong_abi_major_is_refused_naming_both_versions(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX], path[4096], ours[32];
	const char *dir = badplugindir();

	(void)state;
	load_fails("wrong_abi", dir, MKV_PLUGIN_VOLUME, MKV_E_ABI, err);
	snprintf(path, sizeof path, "%s/wrong_abi.so", dir);
	snprintf(ours, sizeof ours, "%d.%d", MKV_ABI_MAJOR, MKV_ABI_MINOR);
	assert_contains(err, path);
	assert_contains(err, "99.0");
	assert_contains(err, ours);
	assert_string_equal(ours, "1.1");
}

static void test_wrong_abi_by_path_is_refused_too(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX], path[4096];

	(void)state;
	snprintf(path, sizeof path, "%s/wrong_abi.so", badplugindir());
	load_fails(path, "/unused", MKV_PLUGIN_VOLUME, MKV_E_ABI, err);
	assert_contains(err, path);
}

static void test_index_loaded_as_volume_is_refused_naming_the_file(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX], path[4096];
	const char *dir = badplugindir();

	(void)state;
	load_fails("wrong_kind", dir, MKV_PLUGIN_VOLUME, 0, err);
	snprintf(path, sizeof path, "%s/wrong_kind.so", dir);
	assert_contains(err, path);
}

/* The same object is a valid index: the refusal above was about the kind only. */
static void test_index_plugin_loads_as_index(void **state)
{
	char err[MKV_PLUGIN_ERR_MAX] = "";
	struct mkv_plugin p;
	int rc;

	(void)state;
	rc = mkv_plugin_load("wrong_kind", badplugindir(), MKV_PLUGIN_INDEX, &p, err);
	if (rc != 0)
		fail_msg("loading wrong_kind as an index: %s", err);
	assert_string_equal(p.head->name, "wrong_kind");
	mkv_plugin_unload(&p);
	assert_empty(&p);
}

static void test_unload_of_empty_plugin_is_harmless(void **state)
{
	struct mkv_plugin p = { 0 };

	(void)state;
	mkv_plugin_unload(&p);
	mkv_plugin_unload(&p);
	assert_empty(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leveldb_loads_by_name_as_index),
		cmocka_unit_test(test_nginx_loads_by_name_as_volume),
		cmocka_unit_test(test_plugin_loads_by_path_ignoring_plugindir),
		cmocka_unit_test(test_missing_name_is_not_found_and_names_the_file),
		cmocka_unit_test(test_missing_path_is_not_found_and_names_the_file),
		cmocka_unit_test(test_object_without_entry_symbol_is_refused),
		cmocka_unit_test(test_wrong_abi_major_is_refused_naming_both_versions),
		cmocka_unit_test(test_wrong_abi_by_path_is_refused_too),
		cmocka_unit_test(test_index_loaded_as_volume_is_refused_naming_the_file),
		cmocka_unit_test(test_index_plugin_loads_as_index),
		cmocka_unit_test(test_unload_of_empty_plugin_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
