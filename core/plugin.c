/*
 * plugin.c - finding, loading and opening backends.
 *
 * A backend is a shared object exporting mkv_plugin_entry(), which returns the
 * head of its vtable. Loading is all or nothing: every check that fails
 * (file, symbol, ABI major, kind, missing slots) undoes the dlopen and leaves
 * one line in err that names the file and the reason.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "plugin.h"

static const char *kind_name(uint32_t kind)
{
	return kind == MKV_PLUGIN_INDEX ? "index" : kind == MKV_PLUGIN_VOLUME ? "volume" : "unknown";
}

/* The file to load: name_or_path itself, or PLUGINDIR/NAME.so. malloc'd. */
static char *plugin_file(const char *name_or_path, const char *plugindir)
{
	size_t n = strlen(name_or_path);
	char *path;

	if (strchr(name_or_path, '/'))
		return strdup(name_or_path);
	/* "x.so" is a file here, not a name for dlopen to search the library path for. */
	if (n > 3 && strcmp(name_or_path + n - 3, ".so") == 0)
		return asprintf(&path, "./%s", name_or_path) < 0 ? NULL : path;
	if (asprintf(&path, "%s/%s.so", plugindir, name_or_path) < 0)
		return NULL;
	return path;
}

/* Every slot of ABI 1.0 is required; later minor versions may append optional ones. */
static bool slots_complete(const struct mkv_plugin_head *head)
{
	if (head->kind == MKV_PLUGIN_INDEX) {
		const struct mkv_index_ops *o = (const void *)head;
		return o->open && o->close && o->get && o->put && o->del && o->batch &&
		       o->cursor_open && o->cursor_next && o->cursor_close;
	}
	const struct mkv_volume_ops *o = (const void *)head;
	return o->open && o->close && o->put && o->del && o->stat && o->read &&
	       o->list && o->locate;
}

/* Check what the entry returned; 0 or a code with err filled in. */
static int check_head(const struct mkv_plugin_head *head, const char *path,
		      enum mkv_plugin_kind kind, char err[MKV_PLUGIN_ERR_MAX])
{
	if (!head) {
		snprintf(err, MKV_PLUGIN_ERR_MAX, "plugin %s: %s() returned no descriptor",
			 path, MKV_PLUGIN_ENTRY_SYMBOL);
		return MKV_E_INVAL;
	}
	if (MKV_ABI_MAJOR_OF(head->abi_version) != MKV_ABI_MAJOR) {
		snprintf(err, MKV_PLUGIN_ERR_MAX,
			 "plugin %s: built for ABI %u.%u, this mkv speaks ABI %u.%u",
			 path, MKV_ABI_MAJOR_OF(head->abi_version),
			 MKV_ABI_MINOR_OF(head->abi_version), MKV_ABI_MAJOR, MKV_ABI_MINOR);
		return MKV_E_ABI;
	}
	if (head->kind != (uint32_t)kind) {
		snprintf(err, MKV_PLUGIN_ERR_MAX, "plugin %s: is a %s backend, expected a %s backend",
			 path, kind_name(head->kind), kind_name(kind));
		return MKV_E_INVAL;
	}
	if (!head->name || !slots_complete(head)) {
		snprintf(err, MKV_PLUGIN_ERR_MAX, "plugin %s: descriptor lacks a name or a required slot",
			 path);
		return MKV_E_INVAL;
	}
	return 0;
}

int mkv_plugin_load(const char *name_or_path, const char *plugindir,
		    enum mkv_plugin_kind kind, struct mkv_plugin *out,
		    char err[MKV_PLUGIN_ERR_MAX])
{
	mkv_plugin_entry_fn entry;
	int rc;

	memset(out, 0, sizeof *out);
	out->path = plugin_file(name_or_path, plugindir);
	if (!out->path) {
		snprintf(err, MKV_PLUGIN_ERR_MAX, "plugin %s: out of memory", name_or_path);
		return MKV_E_NOMEM;
	}
	out->dl = dlopen(out->path, RTLD_NOW | RTLD_LOCAL);
	if (!out->dl) {
		/* dlerror() names the file and says whether it is missing or broken. */
		snprintf(err, MKV_PLUGIN_ERR_MAX, "cannot load %s backend '%s': %s",
			 kind_name(kind), name_or_path, dlerror());
		rc = MKV_E_NOTFOUND;
		goto fail;
	}
	*(void **)&entry = dlsym(out->dl, MKV_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		snprintf(err, MKV_PLUGIN_ERR_MAX, "plugin %s: no entry symbol %s",
			 out->path, MKV_PLUGIN_ENTRY_SYMBOL);
		rc = MKV_E_INVAL;
		goto fail;
	}
	out->head = entry();
	rc = check_head(out->head, out->path, kind, err);
	if (rc == 0)
		return 0;
fail:
	mkv_plugin_unload(out);
	return rc;
}

void mkv_plugin_unload(struct mkv_plugin *p)
{
	if (p->dl)
		dlclose(p->dl);
	free(p->path);
	memset(p, 0, sizeof *p);
}

/* A zeroed handle of the size head asks for; NULL (with a message) when out of memory. */
static void *handle_new(const struct mkv_plugin_head *head)
{
	void *h;

	mkv_error_clear();
	h = calloc(1, head->handle_size ? head->handle_size : 1);
	if (!h)
		mkv_fail(MKV_E_NOMEM, "%s: out of memory", head->name);
	return h;
}

int mkv_index_open(struct mkv_index *ix, const struct mkv_index_ops *ops,
		   const char *location, const struct mkv_options *opts)
{
	int rc;

	ix->ops = ops;
	ix->h = handle_new(&ops->head);
	if (!ix->h)
		return MKV_E_NOMEM;
	rc = ops->open(ix->h, location, &mkv_host, opts);
	if (rc < 0) {
		free(ix->h);
		memset(ix, 0, sizeof *ix);
	}
	return rc;
}

void mkv_index_close(struct mkv_index *ix)
{
	if (!ix->h)
		return;
	ix->ops->close(ix->h);
	free(ix->h);
	memset(ix, 0, sizeof *ix);
}

int mkv_volume_open(struct mkv_volume *v, const struct mkv_volume_ops *ops,
		    unsigned timeout_ms, const struct mkv_options *opts)
{
	int rc;

	v->ops = ops;
	v->h = handle_new(&ops->head);
	if (!v->h)
		return MKV_E_NOMEM;
	rc = ops->open(v->h, timeout_ms, &mkv_host, opts);
	if (rc < 0) {
		free(v->h);
		memset(v, 0, sizeof *v);
	}
	return rc;
}

void mkv_volume_close(struct mkv_volume *v)
{
	if (!v->h)
		return;
	v->ops->close(v->h);
	free(v->h);
	memset(v, 0, sizeof *v);
}

bool mkv_volume_has_stat_async(const struct mkv_volume *v)
{
	return MKV_ABI_MINOR_OF(v->ops->head.abi_version) >= 1 && v->ops->stat_async;
}
