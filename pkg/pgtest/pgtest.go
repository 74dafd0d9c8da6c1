// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb and
// pg_ctl from the machine's PostgreSQL server binaries, in t.TempDir, on a
// free 127.0.0.1 port, stopped and removed when the test ends.
//
// Where the binaries are looked for: $SAMNAV_PG_BIN if set, else the newest
// /usr/lib/postgresql/*/bin, else the directory of initdb on $PATH.
//
// When they are absent the test is skipped with a message saying so, unless
// the environment variable CI is set (to anything but "" or "false"): in CI
// a missing PostgreSQL is a failure, so a suite can never silently stop
// running there.
//
// PostgreSQL refuses to run as root. When the test runs as root (as CI
// containers do), the server runs as the "postgres" system user (created by
// the Debian/Ubuntu postgresql packages), or "nobody" when that user is
// absent; the cluster directory is handed to that user and the test's
// temporary directories are made traversable (mode 0711, no listing) for it.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Cluster is a running throwaway PostgreSQL cluster. Its superuser is
// "postgres", authenticated by trust on 127.0.0.1 only.
type Cluster struct {
	// DSN connects to the cluster's "postgres" database.
	DSN string

	bin    string
	host   string
	port   int
	socket string
	run    runner
	dbs    atomic.Int64
}

// Start starts a cluster for t and registers its stop with t.Cleanup. It
// takes one to three seconds; share one cluster between the subtests of a
// test and give each its own database with NewDatabase.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		if inCI() {
			t.Fatalf("pgtest: %v (CI is set, so this fails instead of skipping)", err)
		}
		t.Skipf("pgtest: skipping: %v; install the postgresql server package or set SAMNAV_PG_BIN (with CI=true this is a failure)", err)
	}
	run, err := newRunner()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	dir := t.TempDir()
	if err := run.prepare(dir); err != nil {
		t.Fatalf("pgtest: prepare %s: %v", dir, err)
	}
	data := filepath.Join(dir, "data")
	socket := filepath.Join(dir, "sock")
	for _, d := range []string{data, socket} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("pgtest: create %s: %v", d, err)
		}
		if err := run.own(d); err != nil {
			t.Fatalf("pgtest: hand %s to the server user: %v", d, err)
		}
	}
	if out, err := run.command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}

	c := &Cluster{bin: bin, host: "127.0.0.1", socket: socket, run: run}
	logFile := filepath.Join(socket, "server.log")
	var lastErr error
	// A port probed free can be taken before the server binds it; retry.
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("pgtest: find a free port: %v", err)
		}
		opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50", port, socket)
		out, err := run.command(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", logFile, "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			c.port = port
			lastErr = nil
			break
		}
		log, _ := os.ReadFile(logFile) //nolint:gosec // G304: the server log in this cluster's own temporary directory
		lastErr = fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	if lastErr != nil {
		t.Fatalf("pgtest: %v", lastErr)
	}
	t.Cleanup(func() {
		if out, err := run.command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			t.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
		}
	})
	c.DSN = c.dsn("postgres")
	return c
}

// NewDatabase creates a fresh, empty database in the cluster and returns a
// DSN (URL form, accepted by pgx and lib/pq) for it. Safe for concurrent
// use.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.dbs.Add(1))
	out, err := c.run.command(filepath.Join(c.bin, "createdb"), "-h", c.socket, "-p", strconv.Itoa(c.port), "-U", "postgres", name).CombinedOutput()
	if err != nil {
		t.Fatalf("pgtest: createdb %s: %v\n%s", name, err, out)
	}
	return c.dsn(name)
}

func (c *Cluster) dsn(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort(c.host, strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func inCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return v != "" && !strings.EqualFold(v, "false") && v != "0"
}

func findBin() (string, error) {
	if dir := os.Getenv("SAMNAV_PG_BIN"); dir != "" {
		if !isFile(filepath.Join(dir, "initdb")) {
			return "", fmt.Errorf("SAMNAV_PG_BIN=%s has no initdb", dir)
		}
		return dir, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return pgMajor(matches[i]) > pgMajor(matches[j]) })
	for _, m := range matches {
		dir := filepath.Dir(m)
		if isFile(filepath.Join(dir, "pg_ctl")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) in /usr/lib/postgresql/*/bin or on PATH")
}

// pgMajor extracts the major version from /usr/lib/postgresql/<major>/bin/initdb.
func pgMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p) //nolint:gosec // G703: test helper probing for PostgreSQL binaries in the developer's SAMNAV_PG_BIN, the standard install dirs or PATH
	return err == nil && !st.IsDir()
}

func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("close probe listener on port %d: %w", port, err)
	}
	return port, nil
}

// runner runs the server binaries as the current user or, when that is
// root, as an unprivileged one.
type runner struct {
	uid, gid uint32
	asOther  bool
}

func newRunner() (runner, error) {
	if os.Geteuid() != 0 {
		return runner{}, nil
	}
	var errs []string
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Sprintf("user %s has a uid/gid %s/%s that is not a 32-bit number", name, u.Uid, u.Gid))
			continue
		}
		return runner{uid: uint32(uid), gid: uint32(gid), asOther: true}, nil
	}
	return runner{}, fmt.Errorf("running as root and no unprivileged user to run PostgreSQL as: %s", strings.Join(errs, "; "))
}

// prepare makes dir and its parent traversable by the server user.
func (r runner) prepare(dir string) error {
	if !r.asOther {
		return nil
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil { //nolint:gosec // G302: directories, which the unprivileged server user must traverse (execute only, no listing)
			return err
		}
	}
	return nil
}

func (r runner) own(path string) error {
	if !r.asOther {
		return nil
	}
	return os.Chown(path, int(r.uid), int(r.gid))
}

func (r runner) command(name string, args ...string) *exec.Cmd {
	// Not cancelled with a test's context: the cluster outlives single tests
	// and is stopped in a cleanup; pg_ctl bounds its own waits (-t).
	cmd := exec.CommandContext(context.Background(), name, args...) //nolint:gosec // G204: PostgreSQL's own binaries found by findBin, with arguments built by this package; no shell
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Stdin = bytes.NewReader(nil)
	if r.asOther {
		setCredential(cmd, r.uid, r.gid)
		cmd.Dir = "/"
	}
	return cmd
}
