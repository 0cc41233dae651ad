/*
 * linux_sys.c - clocks, entropy, files, signals and privileges on Linux.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linux_internal.h"

/* A wall clock before this (2020-01-01) has not been set: a router that
 * booted without RTC and has no NTP answer yet thinks it is 1970. */
#define WALL_CLOCK_VALID_AFTER 1577836800

/* ---- clocks and entropy ---------------------------------------------------------- */
uint64_t nr_plat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int nr_plat_wall_time(int64_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return NR_ECLOCK;
	*out = (int64_t)ts.tv_sec;
	return ts.tv_sec < WALL_CLOCK_VALID_AFTER ? NR_ECLOCK : 0;
}

/*
 * getrandom() without flags waits only until the kernel pool is seeded
 * (once, early at boot) and then never blocks.
 */
int nr_plat_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t done = 0;
	int tries = 0;

	while (done < len && tries++ < 64) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno != EINTR)
			return NR_EIO;
	}
	return done == len ? 0 : NR_EIO;
}

/* ---- files ---------------------------------------------------------------------- */
static int file_errno(int e)
{
	if (e == ENOENT || e == ENOTDIR)
		return NR_ENOTFOUND;
	if (e == EROFS)
		return NR_EROFS;
	if (e == EACCES || e == EPERM)
		return NR_EPERM;
	return NR_EIO;
}

int nr_plat_file_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, ret;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return file_errno(errno);
	ret = NR_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	ret = NR_ETOOBIG;
	if ((uint64_t)st.st_size > max)
		goto out;
	ret = NR_ENOMEM;
	data = malloc(max + 1);
	if (!data)
		goto out;
	/* Read to EOF (the file may change size); one byte past max is
	 * enough to know it is too big. */
	for (;;) {
		ssize_t n = read(fd, data + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = file_errno(errno);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			ret = NR_ETOOBIG;
			goto out;
		}
	}
	data[got] = '\0';
	*out = data;
	*len = got;
	data = NULL;
	ret = 0;
out:
	free(data);
	close(fd);
	return ret;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errno == ENOSPC ? NR_ENOSPC : NR_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding path, so a rename into it is durable. */
static int sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, ret = 0;

	if (!slash) {
		strcpy(dir, ".");
	} else {
		size_t n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return NR_EINVAL;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return file_errno(errno);
	if (fsync(fd) != 0)
		ret = NR_EIO;
	close(fd);
	return ret;
}

/* A fresh temporary name next to path: PATH.tmp.<24 random hex digits>.
 * Random, so that nobody can guess it and plant a file or a symlink there
 * in advance (a PID-based name could be pre-created for the next PIDs). */
static int temp_name(char *tmp, size_t size, const char *path)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[12];
	char tail[2 * sizeof(rnd) + 1];
	size_t i;
	int ret = nr_plat_entropy(rnd, sizeof(rnd));

	if (ret)
		return ret;
	for (i = 0; i < sizeof(rnd); i++) {
		tail[2 * i] = hex[rnd[i] >> 4];
		tail[2 * i + 1] = hex[rnd[i] & 15];
	}
	tail[2 * sizeof(rnd)] = '\0';
	if ((size_t)snprintf(tmp, size, "%s.tmp.%s", path, tail) >= size)
		return NR_EINVAL;
	return 0;
}

/* Write a temporary file next to path, sync it, rename it over path. A
 * crash leaves either the old or the new content, never a mix. The
 * temporary file is created with O_EXCL (and O_NOFOLLOW): a name that
 * already exists, a file or a symlink someone else put there, is refused
 * rather than opened, so our bytes never land in a file we did not
 * create. rename() replaces a symlink at path itself, never its target. */
int nr_plat_file_write(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[4096];
	int fd, ret;

	ret = temp_name(tmp, sizeof(tmp), path);
	if (ret)
		return ret;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
	if (fd < 0 && errno == EEXIST)
		return NR_EPERM; /* 96 random bits taken: not by chance; never ours */
	if (fd < 0)
		return file_errno(errno);
	ret = write_all(fd, data, len);
	/* The umask may have narrowed mode; set exactly what was asked. */
	if (!ret && fchmod(fd, (mode_t)mode) != 0)
		ret = file_errno(errno);
	if (!ret && fsync(fd) != 0)
		ret = NR_EIO;
	if (close(fd) != 0 && !ret)
		ret = NR_EIO;
	if (!ret && rename(tmp, path) != 0)
		ret = file_errno(errno);
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return sync_parent(path);
}

static int lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	/* Not found is NULL with errno 0, or one of these (getpwnam(3)). */
	if (!pw)
		return errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF ||
			       errno == EPERM
			   ? NR_ENOTFOUND
			   : NR_EIO;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int nr_plat_file_is_exposed(const char *path, const char *user)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (stat(path, &st) != 0)
		return file_errno(errno);
	if (st.st_mode & S_IROTH)
		return 1;
	if (!(st.st_mode & S_IRGRP))
		return 0;
	/* 0640 root:nanorelay lets the daemon read a secret it cannot change */
	return user && lookup_user(user, &uid, &gid) == 0 && st.st_gid == gid ? 0 : 1;
}

int nr_plat_file_owner(const char *path, long *uid)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return file_errno(errno);
	*uid = (long)st.st_uid;
	return 0;
}

int nr_plat_file_remove(const char *path)
{
	return unlink(path) == 0 ? 0 : file_errno(errno);
}

int nr_plat_file_share_with(const char *path, const char *user)
{
	uid_t uid;
	gid_t gid;
	int ret = lookup_user(user, &uid, &gid);

	if (ret)
		return ret;
	if (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0640) != 0)
		return file_errno(errno);
	return 0;
}

/* A child takes the user's identity and tries: the kernel answers, with
 * every directory above, supplementary groups and ACLs taken into account. */
int nr_plat_file_readable_as(const char *path, const char *user)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int status, ret;

	if (stat(path, &st) != 0)
		return file_errno(errno);
	ret = lookup_user(user, &uid, &gid);
	if (ret)
		return ret;
	if (geteuid() == uid)
		return access(path, R_OK) == 0 ? 0 : file_errno(errno);
	if (geteuid() != 0)
		return NR_ENOTSUP;
	pid = fork();
	if (pid < 0)
		return NR_EIO;
	if (pid == 0) {
		int fd;

		if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			_exit(2);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		_exit(fd >= 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return NR_EIO;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
		return NR_EIO;
	return WEXITSTATUS(status) == 0 ? 0 : NR_EPERM;
}

int nr_plat_path_writable(const char *path)
{
	char dir[4096];
	struct statvfs vfs;
	size_t n = strlen(path), i;
	char *slash;

	if (n == 0 || n >= sizeof(dir))
		return NR_EINVAL;
	memcpy(dir, path, n + 1);
	/* The file, or the nearest directory above it that exists; each turn
	 * shortens dir, and "/" or "." ends it. */
	for (i = 0; i < sizeof(dir); i++) {
		if (statvfs(dir, &vfs) == 0)
			return (vfs.f_flag & ST_RDONLY) ? NR_EROFS : 0;
		if (errno != ENOENT && errno != ENOTDIR)
			return file_errno(errno);
		slash = strrchr(dir, '/');
		if (!slash && strcmp(dir, ".") != 0)
			strcpy(dir, ".");
		else if (slash && slash != dir)
			*slash = '\0';
		else if (slash && dir[1] != '\0')
			dir[1] = '\0';
		else
			break;
	}
	return NR_ENOTFOUND;
}

/* ---- wake-up and signals: flags plus a self-pipe that wakes nr_plat_poll ------------------- */
static volatile sig_atomic_t sig_bits;
/* Set by nr_plat_wake before it writes the pipe: a wake-up that comes
 * before the pipe exists (or before the poll) is not lost. */
static volatile sig_atomic_t wake_pending;
static volatile int sig_pipe[2] = {-1, -1};

void nr_plat_wake(void)
{
	int saved = errno;
	int fd = sig_pipe[1];
	char c = 1;

	wake_pending = 1;
	if (fd >= 0 && write(fd, &c, 1) < 0) {
		/* pipe full: a wake-up is already pending */
	}
	errno = saved;
}

static void on_signal(int signo)
{
	unsigned bit = signo == SIGHUP ? NR_SIG_HUP : signo == SIGUSR1 ? NR_SIG_USR1 : NR_SIG_TERM;

	sig_bits |= (sig_atomic_t)bit;
	nr_plat_wake();
}

static int make_pipe(void)
{
	int p[2];

	if (sig_pipe[0] >= 0)
		return 0;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		return nr_linux_errno(errno);
	sig_pipe[0] = p[0];
	sig_pipe[1] = p[1];
	return 0;
}

int nr_plat_signals_install(void)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct sigaction sa;
	size_t i;

	int rc = make_pipe();

	if (rc != 0)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = 0; /* no SA_RESTART: poll returns with EINTR */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return nr_linux_errno(errno);
	}
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return nr_linux_errno(errno);
	return 0;
}

unsigned nr_plat_signals_take(void)
{
	sigset_t all, old;
	unsigned bits;

	/* Nothing pending (the common case, once per loop turn): no system
	 * call. A signal landing after this test wakes the loop through the
	 * pipe and is taken on the next turn. */
	if (!sig_bits)
		return 0;
	/* Read and clear without losing a signal in between. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	bits = (unsigned)sig_bits;
	sig_bits = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return bits;
}

int nr_linux_wake_fd(void)
{
	return make_pipe() == 0 ? sig_pipe[0] : -1;
}

int nr_linux_wake_take(void)
{
	char buf[64];
	int i;

	if (!wake_pending)
		return 0;
	/* Clear before reading: a wake-up landing in between leaves the flag
	 * set (and a byte) for the next poll, never nothing. */
	wake_pending = 0;
	for (i = 0; sig_pipe[0] >= 0 && i < 16 && read(sig_pipe[0], buf, sizeof(buf)) > 0; i++)
		;
	return 1;
}

/* ---- privileges and directories ---------------------------------------------------------- */
int nr_plat_user_exists(const char *user)
{
	uid_t uid;
	gid_t gid;

	return lookup_user(user, &uid, &gid);
}

int nr_plat_drop_privileges(const char *user)
{
	uid_t uid;
	gid_t gid;
	int ret = lookup_user(user, &uid, &gid);

	if (ret)
		return ret;
	if (getuid() == uid && geteuid() == uid)
		return 0; /* already that user */
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		return errno == EPERM ? NR_EPERM : NR_EIO;
	/* Verify it stuck: real and effective ids, and no way back to root. */
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
		return NR_EPERM;
	if (uid != 0 && setuid(0) == 0)
		return NR_EPERM;
	return 0;
}

static int mkdir_one(const char *path, unsigned mode)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : NR_EINVAL;
	return file_errno(errno);
}

int nr_plat_mkdir_parents(const char *file, unsigned mode)
{
	char buf[4096];
	size_t i, n = strlen(file);
	int ret;

	if (n == 0 || n >= sizeof(buf))
		return NR_EINVAL;
	memcpy(buf, file, n + 1);
	for (i = 1; i < n; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		ret = mkdir_one(buf, mode);
		buf[i] = '/';
		if (ret)
			return ret;
	}
	return 0;
}

int nr_plat_mkdir_p(const char *path, unsigned mode, const char *owner)
{
	uid_t uid;
	gid_t gid;
	int ret;

	ret = nr_plat_mkdir_parents(path, mode);
	if (ret)
		return ret;
	ret = mkdir_one(path, mode);
	if (ret)
		return ret;
	/* The leaf gets exactly the mode and owner asked for. */
	if (chmod(path, (mode_t)mode) != 0)
		return file_errno(errno);
	/* NULL: ours. An existing directory is taken back too (an older
	 * version made state_dir the daemon user's). */
	uid = geteuid();
	gid = getegid();
	if (owner && (ret = lookup_user(owner, &uid, &gid)) != 0)
		return ret;
	return chown(path, uid, gid) == 0 ? 0 : file_errno(errno);
}

int nr_plat_local_check_owner(const char *path, const char *daemon_user, long *owner)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	*owner = -1;
	/* lstat: a symlink is not a socket, whatever it points at. */
	if (lstat(path, &st) != 0)
		return file_errno(errno);
	*owner = (long)st.st_uid;
	if (!S_ISSOCK(st.st_mode))
		return NR_EINVAL;
	if (st.st_uid == 0 || st.st_uid == geteuid())
		return 0;
	if (daemon_user && lookup_user(daemon_user, &uid, &gid) == 0 && st.st_uid == uid)
		return 0;
	return NR_EPERM;
}

long nr_plat_pid(void)
{
	return (long)getpid();
}

int nr_plat_local_own_uid(long *uid)
{
	*uid = (long)geteuid();
	return 0;
}

int nr_plat_user_name(long *uid, char *name, size_t size)
{
	uid_t me = getuid();
	struct passwd *pw = getpwuid(me);

	*uid = (long)me;
	if (!pw || !pw->pw_name || strlen(pw->pw_name) >= size) {
		snprintf(name, size, "%ld", (long)me);
		return NR_ENOTFOUND;
	}
	snprintf(name, size, "%s", pw->pw_name);
	return 0;
}
