/*
 * no_entry.c - a shared object that is not an mkv plugin, for the loader's
 * tests. It loads fine with dlopen() but exports no mkv_plugin_entry symbol
 * (only an unrelated function), so mkv_plugin_load() must refuse it with a
 * message naming the file and the missing symbol, and dlclose it again.
 */
int mkv_not_a_plugin(void);

int mkv_not_a_plugin(void)
{
	return 42;
}
