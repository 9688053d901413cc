/*
 * wrong_kind.c - a complete, valid index backend that the loader's tests ask
 * for as a volume backend. The ABI version matches, every slot is set (all
 * are stubs that are never called), only the kind is wrong, so
 * mkv_plugin_load(..., MKV_PLUGIN_VOLUME, ...) must refuse it with a message
 * naming the file.
 */
#include <mkv/mkv.h>

static int stub_open(void *h, const char *location, const struct mkv_host *host,
		     const struct mkv_options *opts)
{
	(void)h, (void)location, (void)host, (void)opts;
	return MKV_E_UNSUPPORTED;
}

static void stub_close(void *h)
{
	(void)h;
}

static int stub_get(void *h, const void *key, size_t key_len, void *buf,
		    size_t cap, size_t *len)
{
	(void)h, (void)key, (void)key_len, (void)buf, (void)cap, (void)len;
	return MKV_E_UNSUPPORTED;
}

static int stub_put(void *h, const void *key, size_t key_len,
		    const void *value, size_t value_len)
{
	(void)h, (void)key, (void)key_len, (void)value, (void)value_len;
	return MKV_E_UNSUPPORTED;
}

static int stub_del(void *h, const void *key, size_t key_len)
{
	(void)h, (void)key, (void)key_len;
	return MKV_E_UNSUPPORTED;
}

static int stub_batch(void *h, const struct mkv_index_op *ops, size_t n)
{
	(void)h, (void)ops, (void)n;
	return MKV_E_UNSUPPORTED;
}

static int stub_cursor_open(void *h, const void *prefix, size_t prefix_len,
			    const void *start, size_t start_len,
			    struct mkv_index_cursor **out)
{
	(void)h, (void)prefix, (void)prefix_len, (void)start, (void)start_len, (void)out;
	return MKV_E_UNSUPPORTED;
}

static int stub_cursor_next(struct mkv_index_cursor *c, const void **key,
			    size_t *key_len, const void **value,
			    size_t *value_len)
{
	(void)c, (void)key, (void)key_len, (void)value, (void)value_len;
	return MKV_E_UNSUPPORTED;
}

static void stub_cursor_close(struct mkv_index_cursor *c)
{
	(void)c;
}

static const struct mkv_index_ops wrong_kind_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_INDEX,
		.name = "wrong_kind",
		.handle_size = 1,
	},
	.open = stub_open,
	.close = stub_close,
	.get = stub_get,
	.put = stub_put,
	.del = stub_del,
	.batch = stub_batch,
	.cursor_open = stub_cursor_open,
	.cursor_next = stub_cursor_next,
	.cursor_close = stub_cursor_close,
};

const struct mkv_plugin_head *mkv_plugin_entry(void);

const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &wrong_kind_ops.head;
}
