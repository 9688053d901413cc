/*
 * local.c - volumes that are directories on the master's own machine: the
 * master reads and writes the value files itself, no nginx involved.
 *
 * A replica is a directory ("/srv/d1", or "/srv/d1/sv0A" with subvolumes)
 * and a value lives at replica + path ("/srv/d1/5d/41/aGVsbG8="): exactly
 * nginx's root + URI, so a volume directory moves between the two backends
 * without conversion. locate() hands the core an open descriptor, which the
 * core serves itself with sendfile and Range.
 *
 * Atomicity: put() writes into a hidden temporary file (".mkv-tmp.*") in the
 * destination directory, fsyncs it, renames it over the final name and fsyncs
 * the directory, so a reader sees either the previous file or the whole new
 * one, and a failed write leaves the previous state. A crash may leave a
 * temporary file behind; listings skip hidden names (as nginx's autoindex
 * does), and they may be removed whenever mkv is stopped. del() fsyncs the
 * directory too, so a deleted value cannot come back after a crash (and be
 * revived by a rebuild). The option "fsync = false" in [local] turns all
 * fsyncs off, trading durability for speed.
 *
 * Confinement: no path reaches outside its replica. A path must be '/'
 * followed by names separated by single slashes, none of them "." or "..",
 * and it is resolved one name at a time with openat(O_NOFOLLOW) from a
 * descriptor of the replica, so a symlink planted inside a volume is refused,
 * never followed. (openat2's RESOLVE_NO_SYMLINKS would resolve in one call,
 * but put() must create missing directories one by one anyway, and one walk
 * for every slot is simpler than two.) The replica comes from the operator's
 * configuration and may itself be or pass through a symlink (a disk mounted
 * elsewhere). A missing replica directory is created by the first put (a
 * subvolume appears when first used, as with nginx's create_full_put_path),
 * but never its parents: when the parent is missing too, the volume itself
 * is gone (an unmounted disk) and every slot fails with MKV_E_UNAVAILABLE.
 *
 * Every slot works on its own descriptors and a buffer of its own, so any
 * number of threads share one handle. stat_async answers before it
 * returns: the master checks a replica on the thread serving the GET.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strchrnul */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mkv/mkv.h>

/* The buffer one put() or read() moves bytes through. */
#define LOCAL_BUF_SIZE (256 * 1024)
/*
 * With fsync on, a value's pages are handed to the disk every this many
 * bytes as they are written, so that the disk works while the rest arrives
 * and the fsync at the end waits only for the tail.
 */
#define LOCAL_WRITEBACK (8u << 20)

#define LOCAL_DIR_MODE 0755
#define LOCAL_FILE_MODE 0644

/* Temporary files start with '.', so listings never show them. */
#define LOCAL_TMP_PREFIX ".mkv-tmp."
#define LOCAL_TMP_NAME_MAX 64
#define LOCAL_TMP_TRIES 100

/* How every directory of a path is opened: readable (to list and fsync), never a symlink. */
#define LOCAL_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* The handle the core allocates (zeroed) for each open(). */
struct local_volume {
	const struct mkv_host *host;
	bool fsync; /* make puts and deletes durable before they return */
};

/* One slot's work on one path of one replica. */
struct request {
	struct local_volume *lv;
	const char *op;      /* "put", "stat", ...: for messages */
	const char *replica; /* as the core passed them: for messages */
	const char *path;
	bool writing;        /* put: missing directories are made, not "not found" */
	int dirfd;           /* the directory holding name (list: the listed one), or -1 */
	char *dirs;          /* the path's directories, '/'-separated, in buf */
	const char *name;    /* the path's last name, in buf; NULL for list */
	char buf[PATH_MAX];  /* the path without its leading '/', cut in two */
};

/* Record "local: OP REPLICA PATH: reason" as the failure message; returns code. */
__attribute__((format(printf, 3, 4)))
static int request_fail(struct request *r, int code, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return r->lv->host->fail(code, "local: %s %s%s: %s", r->op, r->replica, r->path, reason);
}

/* The code for a failed system call: what a missing file means depends on the slot. */
static int errno_code(int err, bool writing)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return writing ? MKV_E_IO : MKV_E_NOTFOUND;
	case ENOSPC:
	case EDQUOT:
		return MKV_E_FULL;
	case ENAMETOOLONG:
		return MKV_E_TOOLONG;
	case ENOMEM:
		return MKV_E_NOMEM;
	default:
		return MKV_E_IO;
	}
}

/* Fail with the code and message for errno value err after what; returns the code. */
static int request_errno(struct request *r, const char *what, int err)
{
	return request_fail(r, errno_code(err, r->writing), "%s: %s", what, strerror(err));
}

/*
 * True when path stays beneath its replica: '/' followed by names separated
 * by single slashes, none of them "." or "..". A directory (dir_ok) may also
 * end in '/', or be "/" alone. A C string cannot hide a NUL inside it.
 */
static bool path_is_confined(const char *path, bool dir_ok)
{
	const char *p = path + 1, *end;

	if (path[0] != '/')
		return false;
	if (*p == '\0')
		return dir_ok;
	for (;;) {
		size_t n;

		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (*end == '\0')
			return true;
		p = end + 1;
		if (*p == '\0')
			return dir_ok;
	}
}

/* True when replica is an absolute path without a ".." name. */
static bool replica_is_valid(const char *replica)
{
	const char *p = replica;

	if (replica[0] != '/')
		return false;
	while ((p = strstr(p, "..")) != NULL) {
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return false;
		p += 2;
	}
	return true;
}

/*
 * Start r: check replica and path (a directory to list when is_dir) and cut
 * the path into r->dirs and r->name. Returns 0, MKV_E_INVAL for a path that
 * could leave the replica, or MKV_E_TOOLONG. request_end() must follow.
 */
static int request_begin(struct request *r, struct local_volume *lv, const char *op,
			 const char *replica, const char *path, bool is_dir)
{
	size_t len = strlen(path);
	char *slash;

	r->lv = lv;
	r->op = op;
	r->replica = replica;
	r->path = path;
	r->writing = false;
	r->dirfd = -1;
	r->name = NULL;
	if (!replica_is_valid(replica))
		return request_fail(r, MKV_E_INVAL, "a replica is an absolute path without \"..\"");
	if (!path_is_confined(path, is_dir))
		return request_fail(r, MKV_E_INVAL,
				    "refused: a path is '/' and names, none empty, "
				    "\".\" or \"..\"");
	if (len >= sizeof r->buf)
		return request_fail(r, MKV_E_TOOLONG, "the path exceeds %d bytes", PATH_MAX - 1);
	memcpy(r->buf, path + 1, len);
	r->dirs = r->buf;
	if (is_dir)
		return 0;
	slash = strrchr(r->buf, '/');
	if (slash) {
		*slash = '\0';
		r->name = slash + 1;
	} else {
		r->name = r->buf;
		r->dirs = r->buf + len - 1; /* the empty string: no directories */
	}
	return 0;
}

/* Release what the request opened. */
static void request_end(struct request *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

/* Store in parent the directory holding the replica's last name. Returns 0 or MKV_E_TOOLONG. */
static int replica_parent(struct request *r, char parent[PATH_MAX])
{
	size_t n = strlen(r->replica);
	char *slash;

	if (n >= PATH_MAX)
		return request_fail(r, MKV_E_TOOLONG, "the replica exceeds %d bytes", PATH_MAX - 1);
	memcpy(parent, r->replica, n + 1);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	slash = strrchr(parent, '/'); /* never NULL: the replica is absolute */
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/* fsync directory dir, so a name just made in it survives a crash. Returns 0 or a code. */
static int sync_dir_path(struct request *r, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = request_errno(r, "sync the replica's parent", errno);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Decide about a replica directory that does not exist. A subvolume nothing
 * was written to yet is MKV_E_NOTFOUND, and a put makes it (returning 0);
 * but when its parent is missing too, the volume itself is gone (an
 * unmounted disk, a typo in the configuration): MKV_E_UNAVAILABLE.
 */
static int missing_replica(struct request *r)
{
	char parent[PATH_MAX];
	struct stat st;
	int rc = replica_parent(r, parent);

	if (rc < 0)
		return rc;
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
		return request_fail(r, MKV_E_UNAVAILABLE, "the volume's directory does not exist");
	if (!r->writing)
		return request_fail(r, MKV_E_NOTFOUND, "the replica's directory does not exist");
	if (mkdir(r->replica, LOCAL_DIR_MODE) < 0)
		return errno == EEXIST ? 0 : request_errno(r, "create the replica", errno);
	return r->lv->fsync ? sync_dir_path(r, parent) : 0;
}

/* Open the replica's directory into *fd; a put makes it when missing. Returns 0 or a code. */
static int open_replica(struct request *r, int *fd)
{
	int rc;

	*fd = open(r->replica, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	if (errno != ENOENT)
		return request_errno(r, "open the replica", errno);
	if ((rc = missing_replica(r)) < 0)
		return rc;
	*fd = open(r->replica, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return request_errno(r, "open the replica", errno);
	return 0;
}

/* True when name inside dirfd is a symlink. */
static bool is_symlink(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/*
 * Open directory name inside dirfd, never through a symlink; a put makes it
 * first when missing. Returns the new descriptor, MKV_E_INVAL for a symlink,
 * or another negative code.
 */
static int step_into(struct request *r, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, LOCAL_DIR_FLAGS);

	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && is_symlink(dirfd, name))
		return request_fail(r, MKV_E_INVAL, "refusing to follow the symlink '%s'", name);
	if (fd < 0 && errno == ENOENT && r->writing) {
		if (mkdirat(dirfd, name, LOCAL_DIR_MODE) < 0 && errno != EEXIST)
			return request_errno(r, "create a directory", errno);
		if (r->lv->fsync && fsync(dirfd) < 0)
			return request_errno(r, "sync a directory", errno);
		fd = openat(dirfd, name, LOCAL_DIR_FLAGS);
	}
	if (fd < 0)
		return request_errno(r, "open a directory", errno);
	return fd;
}

/*
 * Open the replica, then each directory of r->dirs in turn, leaving the last
 * in r->dirfd. Returns 0 or a code (MKV_E_NOTFOUND for a missing directory,
 * unless writing).
 */
static int open_dirs(struct request *r)
{
	char *name, *save = NULL;
	int fd, rc = open_replica(r, &fd);

	if (rc < 0)
		return rc;
	r->dirfd = fd;
	for (name = strtok_r(r->dirs, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		fd = step_into(r, r->dirfd, name);
		if (fd < 0)
			return fd;
		close(r->dirfd);
		r->dirfd = fd;
	}
	return 0;
}

/*
 * Open the value file r->name for reading and store its size. Returns the
 * descriptor, or MKV_E_NOTFOUND when there is no regular file by that name
 * (a symlink, a directory or a FIFO is no value), or another code.
 */
static int open_value(struct request *r, uint64_t *size)
{
	struct stat st;
	int fd = openat(r->dirfd, r->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ELOOP)
		return request_fail(r, MKV_E_NOTFOUND, "not a regular file (a symlink)");
	if (fd < 0)
		return request_errno(r, "open", errno);
	if (fstat(fd, &st) < 0) {
		int rc = request_errno(r, "fstat", errno);

		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return request_fail(r, MKV_E_NOTFOUND, "not a regular file");
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Create a fresh temporary file in r->dirfd, naming it in tmp. Returns its descriptor or a code. */
static int create_temp(struct request *r, char tmp[LOCAL_TMP_NAME_MAX])
{
	static unsigned long counter;

	for (int i = 0; i < LOCAL_TMP_TRIES; i++) {
		unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		int fd;

		snprintf(tmp, LOCAL_TMP_NAME_MAX, LOCAL_TMP_PREFIX "%ld.%lu", (long)getpid(), n);
		fd = openat(r->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    LOCAL_FILE_MODE);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return request_errno(r, "create a temporary file", errno);
	}
	return request_fail(r, MKV_E_IO, "no free temporary file name");
}

/* Write all len bytes of buf to fd. Returns 0, MKV_E_FULL or MKV_E_IO. */
static int write_all(struct request *r, int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return request_errno(r, "write", errno);
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Start writing bytes [from, to) of fd to the disk, without waiting. Only a
 * hint: a write that fails is reported by the fsync that follows.
 */
static void start_writeback(int fd, uint64_t from, uint64_t to)
{
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(fd, (off_t)from, (off_t)(to - from), SYNC_FILE_RANGE_WRITE);
#else
	(void)fd, (void)from, (void)to;
#endif
}

/*
 * Pull exactly length bytes from src into fd. Returns 0, the code src
 * returned, MKV_E_IO when src ends early, or the write's failure.
 */
static int copy_source(struct request *r, int fd, uint64_t length,
		       mkv_volume_source_fn src, void *ctx)
{
	unsigned char *buf = malloc(LOCAL_BUF_SIZE);
	uint64_t done = 0, handed = 0; /* bytes written, and handed to the disk */
	int rc = 0;

	if (!buf)
		return request_fail(r, MKV_E_NOMEM, "out of memory for the buffer");
	while (rc == 0 && done < length) {
		uint64_t left = length - done;
		size_t want = left < LOCAL_BUF_SIZE ? (size_t)left : LOCAL_BUF_SIZE;
		ssize_t n = src(ctx, buf, want);

		if (n < 0) {
			rc = (int)n; /* the source's own code; its message is recorded */
		} else if (n == 0 || (size_t)n > want) {
			rc = request_fail(r, MKV_E_IO,
					  "the value source %s after %llu of %llu bytes",
					  n == 0 ? "ended" : "overran its buffer",
					  (unsigned long long)done, (unsigned long long)length);
		} else {
			rc = write_all(r, fd, buf, (size_t)n);
			done += (uint64_t)n;
			if (r->lv->fsync && done - handed >= LOCAL_WRITEBACK) {
				start_writeback(fd, handed, done);
				handed = done;
			}
		}
	}
	free(buf);
	return rc;
}

/* fsync (when configured) and close the written temporary file. Returns 0 or a code. */
static int finish_temp(struct request *r, int fd)
{
	int rc = 0;

	if (r->lv->fsync && fsync(fd) < 0)
		rc = request_errno(r, "fsync", errno);
	if (close(fd) < 0 && rc == 0)
		rc = request_errno(r, "close", errno);
	return rc;
}

/*
 * Write the value into a temporary file beside r->name and rename it into
 * place. On failure the temporary file is removed and r->name untouched.
 */
static int write_value(struct request *r, uint64_t length, mkv_volume_source_fn src, void *ctx)
{
	char tmp[LOCAL_TMP_NAME_MAX];
	int fd = create_temp(r, tmp);
	int rc;

	if (fd < 0)
		return fd;
	rc = copy_source(r, fd, length, src, ctx);
	if (rc < 0)
		close(fd);
	else
		rc = finish_temp(r, fd);
	if (rc == 0 && renameat(r->dirfd, tmp, r->dirfd, r->name) < 0)
		rc = request_errno(r, "rename the temporary file into place", errno);
	if (rc < 0)
		unlinkat(r->dirfd, tmp, 0);
	else if (r->lv->fsync && fsync(r->dirfd) < 0)
		rc = request_errno(r, "sync the directory", errno);
	return rc;
}

static int local_open(void *h, unsigned timeout_ms, const struct mkv_host *host,
		      const struct mkv_options *opts)
{
	struct local_volume *lv = h;

	(void)timeout_ms; /* a local disk has no one to wait for */
	for (size_t i = 0; opts && i < opts->count; i++)
		if (strcmp(opts->items[i].key, "fsync") != 0)
			return host->fail(MKV_E_INVAL, "local: unknown option '%s'",
					  opts->items[i].key);
	lv->host = host;
	return host->option_bool(opts, "fsync", true, &lv->fsync);
}

static void local_close(void *h)
{
	(void)h; /* open() acquired nothing */
}

static int local_put(void *h, const char *replica, const char *path,
		     uint64_t length, mkv_volume_source_fn src, void *ctx)
{
	struct request r;
	int rc = request_begin(&r, h, "put", replica, path, false);

	r.writing = true;
	if (rc == 0)
		rc = open_dirs(&r);
	if (rc == 0)
		rc = write_value(&r, length, src, ctx);
	request_end(&r);
	return rc;
}

/* Open the directories of r's path and stat the value: a regular file, or MKV_E_NOTFOUND. */
static int stat_value(struct request *r, struct stat *st)
{
	int rc = open_dirs(r);

	if (rc < 0)
		return rc;
	if (fstatat(r->dirfd, r->name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return request_errno(r, "stat", errno);
	if (!S_ISREG(st->st_mode))
		return request_fail(r, MKV_E_NOTFOUND, "not a regular file");
	return 0;
}

static int local_del(void *h, const char *replica, const char *path)
{
	struct request r;
	struct stat st;
	int rc = request_begin(&r, h, "delete", replica, path, false);

	/* Remove only what stat() would report: a regular file. */
	if (rc == 0)
		rc = stat_value(&r, &st);
	if (rc == 0 && unlinkat(r.dirfd, r.name, 0) < 0)
		rc = request_errno(&r, "unlink", errno);
	else if (rc == 0 && r.lv->fsync && fsync(r.dirfd) < 0)
		rc = request_errno(&r, "sync the directory", errno);
	request_end(&r);
	return rc;
}

static int local_stat(void *h, const char *replica, const char *path, uint64_t *size)
{
	struct request r;
	struct stat st;
	int rc = request_begin(&r, h, "stat", replica, path, false);

	if (rc == 0)
		rc = stat_value(&r, &st);
	if (rc == 0 && size)
		*size = (uint64_t)st.st_size;
	request_end(&r);
	return rc;
}

/* Hand everything fd holds to sink, LOCAL_BUF_SIZE at a time. Returns 0 or a code. */
static int stream_file(struct request *r, int fd, mkv_volume_sink_fn sink, void *ctx)
{
	unsigned char *buf = malloc(LOCAL_BUF_SIZE);
	int rc = 0;

	if (!buf)
		return request_fail(r, MKV_E_NOMEM, "out of memory for the buffer");
	while (rc == 0) {
		ssize_t n = read(fd, buf, LOCAL_BUF_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = request_errno(r, "read", errno);
		else if (n == 0)
			break;
		else
			rc = sink(ctx, buf, (size_t)n);
	}
	free(buf);
	return rc;
}

static int local_read(void *h, const char *replica, const char *path,
		      mkv_volume_sink_fn sink, void *ctx)
{
	struct request r;
	uint64_t size;
	int fd, rc = request_begin(&r, h, "read", replica, path, false);

	if (rc == 0)
		rc = open_dirs(&r);
	if (rc == 0) {
		fd = open_value(&r, &size);
		rc = fd < 0 ? fd : stream_file(&r, fd, sink, ctx);
		if (fd >= 0)
			close(fd);
	}
	request_end(&r);
	return rc;
}

/*
 * Call fn for entry name of directory dirfd, unless it is hidden (".", "..",
 * temporary files: nginx's autoindex hides them too) or neither a regular
 * file nor a directory (symlinks are not followed). Returns 0 or a code.
 */
static int list_entry(struct request *r, int dirfd, const char *name,
		      mkv_volume_list_fn fn, void *ctx)
{
	struct mkv_volume_entry e = { .name = name };
	struct stat st;

	if (name[0] == '.')
		return 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : request_errno(r, "stat an entry", errno);
	if (S_ISDIR(st.st_mode))
		e.is_dir = 1;
	else if (S_ISREG(st.st_mode))
		e.size = (uint64_t)st.st_size;
	else
		return 0;
	return fn(ctx, &e);
}

/* Call fn for each entry of the directory r->dirfd (which this takes over). */
static int list_entries(struct request *r, mkv_volume_list_fn fn, void *ctx)
{
	DIR *d = fdopendir(r->dirfd);
	int rc = 0;

	if (!d)
		return request_errno(r, "opendir", errno);
	r->dirfd = -1; /* closedir() closes it */
	while (rc == 0) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = request_errno(r, "readdir", errno);
			break;
		}
		rc = list_entry(r, dirfd(d), de->d_name, fn, ctx);
	}
	closedir(d);
	return rc;
}

static int local_list(void *h, const char *replica, const char *dir,
		      mkv_volume_list_fn fn, void *ctx)
{
	struct request r;
	int rc = request_begin(&r, h, "list", replica, dir, true);

	if (rc == 0)
		rc = open_dirs(&r);
	if (rc == 0)
		rc = list_entries(&r, fn, ctx);
	request_end(&r);
	return rc;
}

static int local_locate(void *h, const char *replica, const char *path,
			struct mkv_location *loc)
{
	struct request r;
	int rc = request_begin(&r, h, "locate", replica, path, false);

	loc->kind = MKV_LOCATION_FILE;
	loc->url[0] = '\0';
	loc->fd = -1;
	loc->size = 0;
	if (rc == 0)
		rc = open_dirs(&r);
	if (rc == 0) {
		int fd = open_value(&r, &loc->size);

		if (fd < 0)
			rc = fd;
		else
			loc->fd = fd;
	}
	request_end(&r);
	return rc;
}

/*
 * A local stat() is a few system calls on the master's own disk, cheaper
 * than handing it to another thread: answer at once, before returning.
 */
static int local_stat_async(void *h, const char *replica, const char *path,
			    mkv_volume_stat_fn done, void *ctx)
{
	uint64_t size = 0;
	int rc = local_stat(h, replica, path, &size);

	done(ctx, rc, size);
	return 0;
}

static const struct mkv_volume_ops local_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_VOLUME,
		.name = "local",
		.handle_size = sizeof(struct local_volume),
	},
	.open = local_open,
	.close = local_close,
	.put = local_put,
	.del = local_del,
	.stat = local_stat,
	.read = local_read,
	.list = local_list,
	.locate = local_locate,
	.stat_async = local_stat_async,
};

const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &local_ops.head;
}
