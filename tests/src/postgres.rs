//! A real PostgreSQL (Debian's, version 15) for a test: a fresh cluster in a
//! temporary directory, listening on a free loopback port only, trust
//! authentication, no fsync, stopped and removed when the value drops.
//! PostgreSQL refuses to run as root, so under root it runs as the
//! `postgres` user the Debian package creates. `make test` installs the
//! package (infra/setup.sh); a machine without it FAILS with that command.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    server: Child,
    pub port: u16,
    /// Removed (cluster and all) when the value drops.
    _dir: tempfile::TempDir,
}

fn as_owner(program: &Path, root: bool) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let initdb = PathBuf::from(BIN).join("initdb");
        assert!(
            initdb.is_file(),
            "this test needs Debian's PostgreSQL 15: run `OMNI_SETUP_TESTS=1 source infra/setup.sh` (apt-get install postgresql)"
        );
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = tempfile::Builder::new()
            .prefix("omni-pg")
            .tempdir()
            .expect("a directory for PostgreSQL");
        if root {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status();
            assert!(
                owned.is_ok_and(|s| s.success()),
                "chown the cluster directory to postgres"
            );
        }
        let data = dir.path().join("data");
        let init = as_owner(&initdb, root)
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = as_owner(&PathBuf::from(BIN).join("postgres"), root)
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .arg("-k")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let until = Instant::now() + Duration::from_secs(30);
        let postgres = Postgres {
            server,
            port,
            _dir: dir,
        };
        while TcpStream::connect(("127.0.0.1", port)).is_err() || !postgres.ready() {
            assert!(Instant::now() < until, "PostgreSQL did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        postgres
    }

    fn ready(&self) -> bool {
        Command::new(PathBuf::from(BIN).join("pg_isready"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-q",
            ])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A fresh database on this server, as a URL.
    pub fn create_database(&self) -> String {
        create_database(&self.address()).expect("a fresh database")
    }

    /// The address a guest opens, as a URL (nothing in it needs escaping
    /// in a query string).
    pub fn address(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// psql on this server as `postgres`, unaligned and tuples only.
    fn psql_command(&self) -> Command {
        self.psql_command_in("postgres")
    }

    fn psql_command_in(&self, database: &str) -> Command {
        let mut command = Command::new(PathBuf::from(BIN).join("psql"));
        command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-X", "-A", "-t"]);
        command
    }

    /// `sql`'s output or its error, whichever psql gives.
    pub fn psql_status(&self, sql: &str) -> String {
        let out = self
            .psql_command()
            .args(["-c", sql])
            .output()
            .expect("run psql");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    }

    /// Runs `sql` with psql and answers its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// [`Self::psql`] in `database`.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        let out = self
            .psql_command_in(database)
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The server runs as another user under root: signal it by pid
        // through kill(1), which root may.
        let _ = Command::new("kill")
            .args(["-INT", &self.server.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while self.server.try_wait().ok().flatten().is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Creates a fresh database on the server `admin_url` names (a URL ending
/// in `/<database>`) and answers its URL.
pub fn create_database(admin_url: &str) -> Result<String, String> {
    database_for(admin_url, None)
}

/// The database standing for `state_dir` on the server `admin_url` names
/// (created on first use), or a fresh one when no directory is named.
pub fn database_for(admin_url: &str, state_dir: Option<&Path>) -> Result<String, String> {
    use omni_shared::storage::Sql;
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = match state_dir {
        Some(dir) => {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            dir.hash(&mut hasher);
            format!("state_{:016x}", hasher.finish())
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            format!(
                "app_{}_{}_{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )
        }
    };
    let admin = omni_shared::storage::native_pg::NativePg::connect(admin_url, None)
        .map_err(|e| format!("connect to {admin_url}: {e}"))?;
    let exists = admin
        .execute(
            "SELECT 1 AS found FROM pg_database WHERE datname = ?1",
            &[name.as_str().into()],
        )
        .map_err(|e| format!("look for database {name}: {e}"))?;
    if exists.is_empty() {
        admin
            .execute(&format!("CREATE DATABASE {name}"), &[])
            .map_err(|e| format!("create database {name}: {e}"))?;
    }
    let server = admin_url
        .rsplit_once('/')
        .map(|(server, _)| server)
        .ok_or_else(|| format!("{admin_url} names no database"))?;
    Ok(format!("{server}/{name}"))
}

/// The Spin variables that point an app at the database `url`: the URL
/// itself and its `host:port` for `allowed_outbound_hosts`.
pub fn app_variables(url: &str) -> Vec<(String, String)> {
    let host = url
        .split_once('@')
        .map_or(url, |(_, rest)| rest)
        .trim_start_matches("postgres://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    vec![
        ("SPIN_VARIABLE_DATABASE_URL".to_owned(), url.to_owned()),
        ("SPIN_VARIABLE_DATABASE_HOST".to_owned(), host),
    ]
}
