/*
 * wrong_abi.c - a volume backend built for a future ABI, for the loader's
 * tests. Its vtable is complete and otherwise valid, but its head claims ABI
 * 99.0, so mkv_plugin_load() must refuse it with MKV_E_ABI and a message that
 * names the file and both versions ("99.0" and this mkv's "1.1"). The slots
 * are stubs that are never called.
 */
#include <mkv/mkv.h>

static int stub_open(void *h, unsigned timeout_ms, const struct mkv_host *host,
		     const struct mkv_options *opts)
{
	(void)h, (void)timeout_ms, (void)host, (void)opts;
	return MKV_E_UNSUPPORTED;
}

static void stub_close(void *h)
{
	(void)h;
}

static int stub_put(void *h, const char *replica, const char *path,
		    uint64_t length, mkv_volume_source_fn src, void *ctx)
{
	(void)h, (void)replica, (void)path, (void)length, (void)src, (void)ctx;
	return MKV_E_UNSUPPORTED;
}

static int stub_del(void *h, const char *replica, const char *path)
{
	(void)h, (void)replica, (void)path;
	return MKV_E_UNSUPPORTED;
}

static int stub_stat(void *h, const char *replica, const char *path,
		     uint64_t *size)
{
	(void)h, (void)replica, (void)path, (void)size;
	return MKV_E_UNSUPPORTED;
}

static int stub_read(void *h, const char *replica, const char *path,
		     mkv_volume_sink_fn sink, void *ctx)
{
	(void)h, (void)replica, (void)path, (void)sink, (void)ctx;
	return MKV_E_UNSUPPORTED;
}

static int stub_list(void *h, const char *replica, const char *dir,
		     mkv_volume_list_fn fn, void *ctx)
{
	(void)h, (void)replica, (void)dir, (void)fn, (void)ctx;
	return MKV_E_UNSUPPORTED;
}

static int stub_locate(void *h, const char *replica, const char *path,
		       struct mkv_location *loc)
{
	(void)h, (void)replica, (void)path, (void)loc;
	return MKV_E_UNSUPPORTED;
}

static const struct mkv_volume_ops wrong_abi_ops = {
	.head = {
		.abi_version = (uint32_t)(99u << 16 | 0u),
		.kind = MKV_PLUGIN_VOLUME,
		.name = "wrong_abi",
		.handle_size = 1,
	},
	.open = stub_open,
	.close = stub_close,
	.put = stub_put,
	.del = stub_del,
	.stat = stub_stat,
	.read = stub_read,
	.list = stub_list,
	.locate = stub_locate,
};

const struct mkv_plugin_head *mkv_plugin_entry(void);

const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &wrong_abi_ops.head;
}
